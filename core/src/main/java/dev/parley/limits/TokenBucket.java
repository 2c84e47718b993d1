package dev.parley.limits;

import java.time.Duration;

/**
 * The arithmetic of one token bucket that refills continuously: at most {@code limit} tokens, refilled at
 * {@code limit} per {@code window}, full when first seen. Pure: the caller keeps the level and the time
 * (in microseconds, from a clock it was given), so the same rules serve an in-memory limiter and a Redis
 * script that mirrors them line for line.
 *
 * <p>A level may be negative (a debt, when real usage exceeded what was reserved); it refills like any
 * other level.
 */
public record TokenBucket(long limit, Duration window) {

    public TokenBucket {
        if (limit < 1) throw new IllegalArgumentException("limit must be at least 1, got " + limit);
        if (window.isNegative() || window.isZero())
            throw new IllegalArgumentException("window must be positive, got " + window);
    }

    public long windowMicros() {
        return window.toNanos() / 1_000;
    }

    /** The level at {@code now}, from {@code level} at {@code since}: refilled, never above the limit; time never runs back. */
    public double refill(double level, long sinceMicros, long nowMicros) {
        double refilled = level + (double) Math.max(0, nowMicros - sinceMicros) * limit / windowMicros();
        return Math.min(limit, refilled);
    }

    /** Microseconds until {@code level} reaches {@code wanted} (rounded up); 0 when it already has. */
    public long microsUntil(double level, double wanted) {
        if (level >= wanted) return 0;
        return (long) Math.ceil((wanted - level) * windowMicros() / limit);
    }

    /** Microseconds until the bucket is full again: what {@code x-ratelimit-reset-*} reports. */
    public long microsUntilFull(double level) {
        return microsUntil(level, limit);
    }

    /** Whole tokens available, never negative: what {@code x-ratelimit-remaining-*} reports. */
    public long remaining(double level) {
        return (long) Math.floor(Math.max(0, level));
    }
}
