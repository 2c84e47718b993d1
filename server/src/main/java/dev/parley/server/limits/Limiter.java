package dev.parley.server.limits;

import java.net.URI;
import java.time.InstantSource;

/**
 * Keeps each key's budgets (see {@link Rules}): in this process, or in Redis so that every replica shares
 * them. Each call is atomic for its key: two replicas admitting at once never both take the last token.
 *
 * <p>Thread-safe. Calls on a Redis limiter throw {@link LimiterUnavailableException} while Redis cannot
 * be reached; {@link RateLimits} decides what that means for the request.
 */
public sealed interface Limiter extends AutoCloseable permits LocalLimiter, RedisLimiter {

    /** Budgets in this process's memory, refilled by {@code clock}. */
    static Limiter inMemory(InstantSource clock) {
        return new LocalLimiter(clock);
    }

    /**
     * Budgets in the Redis at {@code uri} ({@code redis://host:port}), refilled by {@code clock}: replicas
     * sharing a Redis must have clocks that agree (NTP); a replica whose clock is behind refills nothing
     * rather than taking time back. Connects now, and reconnects by itself when Redis comes back.
     *
     * @throws LimiterUnavailableException when Redis cannot be reached now
     */
    static Limiter redis(URI uri, InstantSource clock) {
        return RedisLimiter.connect(uri, clock, false);
    }

    /**
     * As {@link #redis(URI, InstantSource)}, but a Redis that cannot be reached now is not an error: the
     * limiter starts anyway, its calls throw {@link LimiterUnavailableException} until Redis answers, and
     * it connects then by itself (for a server that fails open).
     */
    static Limiter redisWhenReachable(URI uri, InstantSource clock) {
        return RedisLimiter.connect(uri, clock, true);
    }

    /** Takes a request token and {@code tokens} tokens from {@code key}'s budgets, or says why not. */
    Decision admit(String key, Limits limits, long tokens);

    /** Settles a reservation: {@code unused} (reserved minus used) goes back; negative takes more. */
    Decision.Levels settle(String key, Limits limits, long unused);

    /** The budgets as they stand, taking nothing. */
    Decision.Levels peek(String key, Limits limits);

    /** Whether budgets are shared with other replicas (kept in Redis), not in this process alone. */
    default boolean shared() {
        return false;
    }

    /** Whether the limiter can be reached now: Redis answers a PING. Never throws. */
    default boolean reachable() {
        return true;
    }

    @Override
    void close();
}
