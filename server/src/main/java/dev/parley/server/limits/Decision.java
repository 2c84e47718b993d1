package dev.parley.server.limits;

import dev.parley.limits.RateLimitSnapshot;
import dev.parley.server.limits.Limits.Budget;
import java.time.Duration;

/** What a limiter decided about one request, with the minute budgets as they stand after the decision. */
public sealed interface Decision {

    Levels levels();

    /** The request took one request token and its estimated tokens. */
    record Admitted(Levels levels) implements Decision {}

    /**
     * {@code budget} has too little left: {@code used} of its limit is spent, {@code requested} were asked,
     * and {@code retryAfter} from now it will have enough. A token-budget refusal still took its request token.
     */
    record Limited(Budget budget, long used, long requested, Duration retryAfter, Levels levels) implements Decision {}

    /** {@code requested} tokens exceed {@code budget}'s whole limit: no wait will help. Took its request token. */
    record TooLarge(Budget budget, long requested, Levels levels) implements Decision {}

    /** The minute budgets after a decision: whole tokens left, and how long until each is full. */
    record Levels(long remainingRequests, long remainingTokens, Duration resetRequests, Duration resetTokens) {
        public RateLimitSnapshot snapshot(Limits limits) {
            return new RateLimitSnapshot(
                    limits.requestsPerMinute(),
                    limits.tokensPerMinute(),
                    remainingRequests,
                    remainingTokens,
                    resetRequests,
                    resetTokens);
        }
    }
}
