package dev.parley.server.limits;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.server.limits.Limits.Budget;
import dev.parley.testkit.RedisServer;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The admission rules, the same in memory and in Redis: time is stepped by hand, never waited for. */
@Timeout(60)
class LimiterTest {
    static RedisServer redis;
    final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
    final InstantSource clock = now::get;
    final String key = "key-" + UUID.randomUUID();

    @AfterAll
    static void stopRedis() {
        if (redis != null) redis.close();
    }

    Limiter limiter(String kind) {
        return switch (kind) {
            case "memory" -> Limiter.inMemory(clock);
            case "redis" -> {
                if (redis == null) redis = RedisServer.start();
                yield Limiter.redis(redis.uri(), clock);
            }
            default -> throw new IllegalArgumentException(kind);
        };
    }

    void advance(Duration duration) {
        now.updateAndGet(t -> t.plus(duration));
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "redis"})
    void admitsExactlyTheRequestsPerMinuteThenSaysWhenTheNextFits(String kind) {
        try (Limiter limiter = limiter(kind)) {
            var limits = Limits.perMinute(3, 1_000);
            for (int i = 0; i < 3; i++)
                assertThat(limiter.admit(key, limits, 1)).isInstanceOf(Decision.Admitted.class);
            var refused = (Decision.Limited) limiter.admit(key, limits, 1);
            assertThat(refused.budget()).isEqualTo(Budget.RPM);
            assertThat(refused.used()).isEqualTo(3);
            assertThat(refused.requested()).isEqualTo(1);
            assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(20));
            advance(Duration.ofSeconds(20));
            assertThat(limiter.admit(key, limits, 1)).isInstanceOf(Decision.Admitted.class);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "redis"})
    void admitsTokensToTheLastOneAndARefusalStillCostsItsRequest(String kind) {
        try (Limiter limiter = limiter(kind)) {
            var limits = Limits.perMinute(10, 100);
            assertThat(limiter.admit(key, limits, 60)).isInstanceOf(Decision.Admitted.class);
            assertThat(limiter.admit(key, limits, 40).levels().remainingTokens())
                    .isZero();
            var refused = (Decision.Limited) limiter.admit(key, limits, 1);
            assertThat(refused.budget()).isEqualTo(Budget.TPM);
            assertThat(refused.used()).isEqualTo(100);
            assertThat(refused.retryAfter()).isEqualTo(Duration.ofMillis(600));
            assertThat(refused.levels().remainingRequests()).isEqualTo(7);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "redis"})
    void anEstimateAboveTheWholeLimitIsTooLargeRatherThanLimited(String kind) {
        try (Limiter limiter = limiter(kind)) {
            var limits = Limits.perMinute(10, 100);
            var refused = (Decision.TooLarge) limiter.admit(key, limits, 101);
            assertThat(refused.budget()).isEqualTo(Budget.TPM);
            assertThat(refused.levels().remainingTokens()).isEqualTo(100);
            assertThat(refused.levels().remainingRequests()).isEqualTo(9);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "redis"})
    void settlingGivesBackWhatWasReservedButNotUsed(String kind) {
        try (Limiter limiter = limiter(kind)) {
            var limits = Limits.perMinute(10, 100);
            assertThat(limiter.admit(key, limits, 80).levels().remainingTokens())
                    .isEqualTo(20);
            assertThat(limiter.settle(key, limits, 80 - 30).remainingTokens()).isEqualTo(70);
            assertThat(limiter.peek(key, limits).remainingTokens()).isEqualTo(70);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "redis"})
    void resetsSayWhenEachBudgetIsFullAgain(String kind) {
        try (Limiter limiter = limiter(kind)) {
            var limits = Limits.perMinute(60, 600);
            limiter.admit(key, limits, 300);
            var levels = limiter.admit(key, limits, 150).levels();
            assertThat(levels.resetRequests()).isEqualTo(Duration.ofSeconds(2));
            assertThat(levels.resetTokens()).isEqualTo(Duration.ofSeconds(45));
            advance(levels.resetTokens());
            var full = limiter.peek(key, limits);
            assertThat(full.remainingTokens()).isEqualTo(600);
            assertThat(full.remainingRequests()).isEqualTo(60);
            assertThat(full.resetTokens()).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "redis"})
    void aDailyBudgetStopsRequestsTheMinuteBudgetWouldAdmit(String kind) {
        try (Limiter limiter = limiter(kind)) {
            var limits = new Limits(60, 1_000, 2L, null);
            limiter.admit(key, limits, 1);
            limiter.admit(key, limits, 1);
            var refused = (Decision.Limited) limiter.admit(key, limits, 1);
            assertThat(refused.budget()).isEqualTo(Budget.RPD);
            assertThat(refused.retryAfter()).isEqualTo(Duration.ofHours(12));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "redis"})
    void aClockBehindTheLastUpdateRefillsNothing(String kind) {
        try (Limiter limiter = limiter(kind)) {
            var limits = Limits.perMinute(2, 100);
            limiter.admit(key, limits, 1);
            limiter.admit(key, limits, 1);
            advance(Duration.ofSeconds(-30));
            assertThat(limiter.admit(key, limits, 1)).isInstanceOf(Decision.Limited.class);
        }
    }
}
