package dev.parley.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
    static final TokenBucket PER_MINUTE = new TokenBucket(60, Duration.ofMinutes(1));

    @Test
    void refillsContinuouslyAtLimitPerWindow() {
        assertThat(PER_MINUTE.refill(0, 0, 1_000_000)).isEqualTo(1.0);
        assertThat(PER_MINUTE.refill(0, 0, 500_000)).isEqualTo(0.5);
    }

    @Test
    void neverRefillsAboveTheLimit() {
        assertThat(PER_MINUTE.refill(59, 0, 3_600_000_000L)).isEqualTo(60.0);
    }

    @Test
    void timeThatRunsBackwardsRefillsNothing() {
        assertThat(PER_MINUTE.refill(10, 5_000_000, 1_000_000)).isEqualTo(10.0);
    }

    @Test
    void aDebtRefillsLikeAnyLevel() {
        assertThat(PER_MINUTE.refill(-5, 0, 6_000_000)).isEqualTo(1.0);
    }

    @Test
    void waitsAreRoundedUpToTheMicrosecond() {
        var tpm = new TokenBucket(7, Duration.ofMinutes(1));
        assertThat(tpm.microsUntil(0, 1)).isEqualTo(8_571_429);
        assertThat(tpm.microsUntil(3, 2)).isZero();
        assertThat(PER_MINUTE.microsUntilFull(0)).isEqualTo(60_000_000);
        assertThat(PER_MINUTE.microsUntilFull(60)).isZero();
    }

    @Test
    void remainingCountsWholeTokensAndNeverGoesNegative() {
        assertThat(PER_MINUTE.remaining(3.99)).isEqualTo(3);
        assertThat(PER_MINUTE.remaining(-2)).isZero();
    }
}
