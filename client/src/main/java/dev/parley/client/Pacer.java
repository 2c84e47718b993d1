package dev.parley.client;

import dev.parley.limits.RateLimitSnapshot;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Holds requests back while the server's budget is spent, instead of sending them to collect 429s.
 * Every response teaches it: a snapshot with no requests or no tokens left holds all requests until that
 * budget's reset, and a 429's wait holds them until it is over. Give one pacer to every client that spends
 * the same key's budget ({@link ClientOptions.Builder#pacer}); each request then waits {@link #delay()}
 * before it is sent, capped by the client's {@code maxRetryWait}.
 *
 * <p>No hold is longer than {@link #LONGEST_HOLD}: OpenAI's budgets are per minute and per day, so a reset or a
 * wait said to be further away is a broken server's, and must not stop a long-running client (or a gateway's
 * upstream) for years.
 *
 * <p>Thread-safe: shared by every thread and client that uses it. It knows only what responses told it,
 * so the first requests of a burst may still meet a 429, which the retry rules handle.
 */
public final class Pacer {
    /** The longest a server's word holds requests back: a day, the longest window of any budget. */
    public static final Duration LONGEST_HOLD = Duration.ofDays(1);

    private final Clock clock;
    private Instant heldUntil = Instant.MIN;

    private Pacer(Clock clock) {
        this.clock = clock;
    }

    /** A pacer that reads the time from {@code clock}; use the clients' clock. */
    public static Pacer create(Clock clock) {
        return new Pacer(clock);
    }

    /** How long a request should wait before it is sent now; zero when the budget allows it. */
    public synchronized Duration delay() {
        Instant now = clock.instant();
        return heldUntil.isAfter(now) ? Duration.between(now, heldUntil) : Duration.ZERO;
    }

    /** Learns from the {@code x-ratelimit-*} of a response received now. */
    public void observe(RateLimitSnapshot snapshot) {
        boolean requestsOut = snapshot.remainingRequests() != null && snapshot.remainingRequests() <= 0;
        boolean tokensOut = snapshot.remainingTokens() != null && snapshot.remainingTokens() <= 0;
        if (requestsOut && snapshot.resetRequests() != null) holdFor(snapshot.resetRequests());
        if (tokensOut && snapshot.resetTokens() != null) holdFor(snapshot.resetTokens());
    }

    /**
     * Holds every request for {@code wait} from now (at most {@link #LONGEST_HOLD}), e.g. the retry-after of a 429;
     * never shortens a hold.
     */
    public synchronized void holdFor(Duration wait) {
        Instant until = clock.instant().plus(wait.compareTo(LONGEST_HOLD) > 0 ? LONGEST_HOLD : wait);
        if (until.isAfter(heldUntil)) heldUntil = until;
    }
}
