package dev.parley.server.limits;

import dev.parley.api.ApiError;
import dev.parley.api.RateLimitException;
import dev.parley.api.ServerException;
import dev.parley.limits.RateLimitDuration;
import dev.parley.limits.RateLimitSnapshot;
import dev.parley.limits.RetryAfter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The limits stage of the request path: admits a request against its key's budgets or refuses it with
 * OpenAI's 429, and settles what it used afterwards. Refusals carry {@code x-ratelimit-*} and (unless no
 * wait can help) {@code retry-after} / {@code retry-after-ms} in their headers.
 *
 * <p>When the limiter is unavailable (Redis down): by default requests fail closed with 503, since
 * admitting them unchecked could exceed an upstream budget the keys exist to protect; with
 * {@code failOpen} they are admitted without limits (their replies carry only the two limit headers);
 * either way the outage is logged once when it starts and once when it ends. Settlements lost during an
 * outage are dropped (the tokens come back by refill).
 *
 * <p>Thread-safe. Closing closes the limiter.
 */
public final class RateLimits implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RateLimits.class);
    private static final String MORE = " Visit https://platform.openai.com/account/rate-limits to learn more.";

    private final Limiter limiter;
    private final boolean failOpen;
    private final AtomicBoolean down = new AtomicBoolean();
    private final AtomicLong errors = new AtomicLong();

    public RateLimits(Limiter limiter, boolean failOpen) {
        this.limiter = limiter;
        this.failOpen = failOpen;
    }

    /**
     * Admits a request of {@code estimate} tokens for {@code model} from key {@code key}; {@code limits}
     * null means the key has none.
     *
     * @throws RateLimitException 429 when a budget is spent or the estimate can never fit
     * @throws ServerException 503 when the limiter is unavailable and fails closed
     */
    public Reservation admit(String key, Limits limits, String model, long estimate) {
        if (limits == null) return Reservation.none(RateLimitSnapshot.EMPTY);
        Decision decision;
        try {
            decision = limiter.admit(key, limits, estimate);
            recovered();
        } catch (LimiterUnavailableException e) {
            errors.incrementAndGet();
            if (!failOpen) throw unavailable(e);
            if (down.compareAndSet(false, true)) log.warn("Admitting requests without rate limits: {}", e.getMessage());
            return Reservation.none(limitsOnly(limits));
        }
        RateLimitSnapshot snapshot = decision.levels().snapshot(limits);
        return switch (decision) {
            case Decision.Admitted admitted -> new Reservation(this, key, limits, estimate, snapshot);
            case Decision.Limited limited -> {
                long millis = Math.max(1, (limited.retryAfter().toNanos() + 999_999) / 1_000_000);
                Duration shown = Duration.ofMillis(millis);
                throw refusal(
                        limited.budget(),
                        "Rate limit reached for %s in organization %s on %s: Limit %d, Used %d, Requested %d. Please try again in %s."
                                .formatted(
                                        model,
                                        key,
                                        limited.budget().wording(),
                                        limits.of(limited.budget()),
                                        limited.used(),
                                        limited.requested(),
                                        RateLimitDuration.format(shown)),
                        snapshot,
                        shown);
            }
            case Decision.TooLarge tooLarge ->
                throw refusal(
                        tooLarge.budget(),
                        "Request too large for %s in organization %s on %s: Limit %d, Requested %d. The input or output tokens must be reduced in order to run successfully."
                                .formatted(
                                        model,
                                        key,
                                        tooLarge.budget().wording(),
                                        limits.of(tooLarge.budget()),
                                        tooLarge.requested()),
                        snapshot,
                        null);
        };
    }

    /** The budgets as they stand, for replies that admitted nothing (e.g. a 400); empty when unknown. */
    public RateLimitSnapshot peek(String key, Limits limits) {
        if (limits == null) return RateLimitSnapshot.EMPTY;
        try {
            var snapshot = limiter.peek(key, limits).snapshot(limits);
            recovered();
            return snapshot;
        } catch (LimiterUnavailableException e) {
            errors.incrementAndGet();
            return limitsOnly(limits);
        }
    }

    void settle(String key, Limits limits, long unused) {
        if (unused == 0) return;
        try {
            limiter.settle(key, limits, unused);
        } catch (LimiterUnavailableException e) {
            errors.incrementAndGet();
            log.warn("Could not settle a reservation of key {}: {}", key, e.getMessage());
        }
    }

    /** Whether the last call found the limiter unavailable (Redis down): an outage is under way. */
    public boolean limiterDown() {
        return down.get();
    }

    /** Whether budgets are shared with other replicas through Redis. */
    public boolean shared() {
        return limiter.shared();
    }

    /**
     * Asks the limiter whether it can be reached now (Redis answers a PING), and notes an outage starting
     * or ending as a request would; an in-process limiter always can.
     */
    public boolean check() {
        if (limiter.reachable()) {
            recovered();
            return true;
        }
        if (down.compareAndSet(false, true)) log.warn("The rate limiter is unavailable (health check)");
        return false;
    }

    /** Whether requests are admitted without limits while the limiter is unavailable. */
    public boolean failsOpen() {
        return failOpen;
    }

    /** Calls that found the limiter unavailable, since start. */
    public long limiterErrors() {
        return errors.get();
    }

    private void recovered() {
        if (down.compareAndSet(true, false)) log.info("Rate limiter available again");
    }

    private static RateLimitException refusal(
            Limits.Budget budget, String message, RateLimitSnapshot snapshot, Duration wait) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        snapshot.toHeaders().forEach((name, value) -> headers.put(name, List.of(value)));
        // A request that can never fit gets no invitation to retry.
        if (wait != null) RetryAfter.toHeaders(wait).forEach((name, value) -> headers.put(name, List.of(value)));
        return new RateLimitException(
                new ApiError(message + MORE, budget.type(), null, "rate_limit_exceeded"), headers);
    }

    private ServerException unavailable(LimiterUnavailableException e) {
        if (down.compareAndSet(false, true))
            log.warn("Refusing requests (503) while the rate limiter is unavailable: {}", e.getMessage());
        return new ServerException(
                503,
                new ApiError(
                        "The rate limiter is unavailable; please retry shortly.",
                        ApiError.SERVER_ERROR,
                        null,
                        "rate_limiter_unavailable"));
    }

    private static RateLimitSnapshot limitsOnly(Limits limits) {
        return new RateLimitSnapshot(limits.requestsPerMinute(), limits.tokensPerMinute(), null, null, null, null);
    }

    @Override
    public void close() {
        limiter.close();
    }
}
