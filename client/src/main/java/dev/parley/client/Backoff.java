package dev.parley.client;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Random exponential backoff: before retry {@code n} (from 1), a delay drawn uniformly from
 * {@code [min, clamp(initial × 2^(n−1), min, max)]}. With {@code min} zero this is "full jitter"; with
 * {@code min} = {@code initial} it is tenacity's {@code wait_random_exponential}.
 */
record Backoff(Duration initial, Duration min, Duration max, RandomGenerator random) {

    static Backoff from(ClientOptions options) {
        return new Backoff(
                options.initialRetryDelay(), options.minRetryDelay(), options.maxRetryDelay(), options.random());
    }

    Duration delay(int retry) {
        long minNanos = min.toNanos();
        long maxNanos = max.toNanos();
        // Past 2^40 the ceiling is max anyway; capping the shift keeps the product from overflowing.
        double ceiling = initial.toNanos() * Math.pow(2, Math.min(retry - 1, 40));
        long high = (long) Math.max(minNanos, Math.min(maxNanos, ceiling));
        return Duration.ofNanos(minNanos + (long) (random.nextDouble() * (high - minNanos)));
    }
}
