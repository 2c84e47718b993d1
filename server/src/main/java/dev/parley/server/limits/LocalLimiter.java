package dev.parley.server.limits;

import dev.parley.limits.TokenBucket;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** Budgets in this process: one lock per key, the {@link Rules} applied under it. */
final class LocalLimiter implements Limiter {
    private final InstantSource clock;
    private final ConcurrentHashMap<String, Buckets> keys = new ConcurrentHashMap<>();

    LocalLimiter(InstantSource clock) {
        this.clock = clock;
    }

    @Override
    public Decision admit(String key, Limits limits, long tokens) {
        return apply(key, limits, level -> Rules.admit(limits, level, tokens));
    }

    @Override
    public Decision.Levels settle(String key, Limits limits, long unused) {
        return apply(key, limits, level -> Rules.settle(limits, level, unused));
    }

    @Override
    public Decision.Levels peek(String key, Limits limits) {
        return apply(key, limits, level -> Rules.levels(limits, level));
    }

    private <T> T apply(String key, Limits limits, Function<double[], T> rule) {
        Buckets buckets = keys.computeIfAbsent(key, k -> new Buckets());
        long now = ChronoUnit.MICROS.between(java.time.Instant.EPOCH, clock.instant());
        synchronized (buckets) {
            buckets.refill(limits, now);
            return rule.apply(buckets.level);
        }
    }

    @Override
    public void close() {}

    /** One key's levels and when each was last brought up to date; a bucket not seen yet is full. */
    private static final class Buckets {
        final double[] level = new double[Rules.BUDGETS.length];
        final long[] at = new long[Rules.BUDGETS.length];
        final boolean[] seen = new boolean[Rules.BUDGETS.length];

        void refill(Limits limits, long now) {
            for (var budget : Rules.BUDGETS) {
                int i = budget.ordinal();
                TokenBucket bucket = limits.bucket(budget);
                if (bucket == null) continue;
                if (!seen[i]) {
                    seen[i] = true;
                    level[i] = bucket.limit();
                    at[i] = now;
                }
                level[i] = bucket.refill(level[i], at[i], now);
                at[i] = Math.max(at[i], now);
            }
        }
    }
}
