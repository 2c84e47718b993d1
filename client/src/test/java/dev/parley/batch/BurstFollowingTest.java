package dev.parley.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.limits.RateLimitSnapshot;
import dev.parley.testkit.RedisServer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The budget, local and shared in a real Redis, against two simulated server limiters, in simulated time,
 * one request at a time with a fixed latency: what {@link BatchRunner} does with each answer
 * ({@code observe}, then a 429's pause and a retry), without threads or wall-clock time. The case:
 * 300 requests on a 120-RPM key. The Redis budget runs on the same stepped clock instead of Redis's.
 */
@Timeout(60)
class BurstFollowingTest {
    static final int RPM = 120;
    static final int LINES = 300;
    static final long TOKENS = 50; // per request, estimated and used
    static final Duration LATENCY = Duration.ofMillis(20);

    final SteppingTime time = new SteppingTime();
    final List<Budget> opened = new ArrayList<>();
    static RedisServer redis;

    @AfterEach
    void close() {
        opened.forEach(Budget::close);
    }

    @AfterAll
    static void stopRedis() {
        if (redis != null) redis.close();
    }

    /** A server-side limiter: admits or turns away a request at {@code now}, and says what is left. */
    interface Limiter {
        boolean admit(long now);

        long remaining(long now);
    }

    /** A bucket of {@code RPM} holding {@code capacity}, starting full, refilling continuously. */
    static class RefillingBucket implements Limiter {
        final double capacity;
        double level;
        long updated;

        RefillingBucket(double capacity, long now) {
            this.capacity = capacity;
            this.level = capacity;
            this.updated = now;
        }

        void refill(long now) {
            level = Math.min(capacity, level + RPM * (now - updated) / 60e9);
            updated = now;
        }

        @Override
        public boolean admit(long now) {
            refill(now);
            if (level < 1) return false;
            level -= 1;
            return true;
        }

        @Override
        public long remaining(long now) {
            refill(now);
            return (long) level;
        }
    }

    /**
     * A limiter that allows no burst: it enforces one second's worth, as OpenAI spreads a minute's limit
     * over shorter windows, but reports what is left of the minute (the limit less what it admitted in the
     * last 60 s).
     */
    static final class NoBurst implements Limiter {
        final RefillingBucket second;
        final ArrayDeque<Long> admitted = new ArrayDeque<>();

        NoBurst(long now) {
            second = new RefillingBucket(RPM / 60.0, now);
        }

        @Override
        public boolean admit(long now) {
            if (!second.admit(now)) return false;
            admitted.add(now);
            return true;
        }

        @Override
        public long remaining(long now) {
            while (!admitted.isEmpty() && admitted.peekFirst() <= now - 60_000_000_000L) admitted.removeFirst();
            return RPM - admitted.size();
        }
    }

    record Run(Duration took, int rateLimited, int attempts) {}

    Run run(Limiter server, Budget budget) throws InterruptedException {
        long start = time.getAsLong();
        int rateLimited = 0;
        int attempts = 0;
        for (int line = 0; line < LINES; line++) {
            while (true) {
                Budget.Permit permit = budget.acquire(TOKENS);
                attempts++;
                long sent = time.getAsLong();
                boolean admitted = server.admit(sent);
                var snapshot = new RateLimitSnapshot(
                        (long) RPM, 1_000_000L, server.remaining(sent), 1_000_000L - TOKENS, null, null);
                time.step(LATENCY);
                budget.observe(snapshot, LATENCY);
                permit.settle(admitted ? TOKENS : 0);
                if (admitted) break;
                rateLimited++;
                budget.pauseFor(Duration.ofMillis(500)); // the server's retry-after: one request's refill
            }
        }
        return new Run(Duration.ofNanos(time.getAsLong() - start), rateLimited, attempts);
    }

    Budget budget(String kind) {
        // Configured above the key, as a user who leaves the defaults: the headers bring it down.
        var limits = new BudgetLimits(1500, 1_000_000, Duration.ofSeconds(1));
        Budget budget = switch (kind) {
            case "local" -> Budget.local(limits, time, time);
            case "redis" -> {
                if (redis == null) redis = RedisServer.start();
                yield new RedisBudget(
                        redis.uri(),
                        "follow-" + UUID.randomUUID(),
                        limits,
                        time,
                        time,
                        warning -> {},
                        () -> time.getAsLong() / 1000);
            }
            default -> throw new IllegalArgumentException(kind);
        };
        opened.add(budget);
        return budget;
    }

    /** Parley's limiter: a bucket holding a minute's worth. */
    @ParameterizedTest
    @ValueSource(strings = {"local", "redis"})
    void aServerWhoseBucketStartsFullLendsItsBurstAndTheRunTakesTheFloorNotTheSteadyRate(String kind) throws Exception {
        Run run = run(new RefillingBucket(RPM, time.getAsLong()), budget(kind));
        System.out.println("[burst following, a minute's bucket, " + kind + "] " + run);
        // The floor: 120 at once, the other 180 at 2 a second, 90 s. At the steady rate alone: 150 s.
        assertThat(run.took()).isLessThanOrEqualTo(Duration.ofSeconds(100));
        assertThat(run.rateLimited()).isLessThan(LINES / 100);
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "redis"})
    void aLimiterThatAllowsNoBurstButReportsAMinuteLeftCostsAFew429sThenTheSteadyRate(String kind) throws Exception {
        Run run = run(new NoBurst(time.getAsLong()), budget(kind));
        System.out.println("[burst following, no burst, " + kind + "] " + run);
        assertThat(run.rateLimited()).isLessThanOrEqualTo(4); // one step of following up, then never again
        assertThat(run.took()).isLessThanOrEqualTo(Duration.ofSeconds(152));
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "redis"})
    void withoutRemainingHeadersNothingIsLent(String kind) throws Exception {
        Budget budget = budget(kind);
        budget.observe(new RateLimitSnapshot((long) RPM, null, null, null, null, null), Duration.ZERO);
        for (int i = 0; i < 3; i++) budget.acquire(1);
        // At most one burst (2) at once, then the refill: 2 requests a second. (The local budget's bucket
        // starts half full of the configured limit's burst, cut to the server's; a fresh bucket in Redis, made
        // by this observe, half full of the server's: one fewer goes at once.)
        assertThat(time.sleeps())
                .isNotEmpty()
                .allSatisfy(wait -> assertThat(wait).isEqualTo(Duration.ofMillis(500)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "redis"})
    void aBudgetThatFollowedUpStopsAtThe429AndSpendsOneBurstAtATimeFromThenOn(String kind) throws Exception {
        Budget budget = budget(kind);
        var plenty = new RateLimitSnapshot((long) RPM, null, 1000L, null, null, null);
        budget.observe(plenty, Duration.ZERO); // lifted by one burst (2)
        budget.pauseFor(Duration.ofSeconds(1)); // a 429: the lift is dropped, following ends
        budget.observe(plenty, Duration.ZERO);
        for (int i = 0; i < 3; i++) budget.acquire(1);
        // The pause, then the bucket's one burst at most, then the refill.
        assertThat(time.sleeps()).first().isEqualTo(Duration.ofSeconds(1));
        assertThat(time.sleeps()).hasSizeBetween(2, 3).last().isEqualTo(Duration.ofMillis(500));
    }
}
