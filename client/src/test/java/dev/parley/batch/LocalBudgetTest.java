package dev.parley.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.limits.RateLimitSnapshot;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LocalBudgetTest {
    final SteppingTime time = new SteppingTime();

    Budget budget(double rpm, double tpm) {
        return Budget.local(new BudgetLimits(rpm, tpm, Duration.ofSeconds(1)), time, time);
    }

    @Test
    void halfABurstGoesAtOnceThenRequestsWaitForTheContinuousRefill() throws InterruptedException {
        Budget budget = budget(600, 1_000_000); // 10 per second, a burst of 10, starting with 5
        for (int i = 0; i < 5; i++) budget.acquire(1);
        assertThat(time.sleeps()).isEmpty();
        budget.acquire(1);
        assertThat(time.sleeps()).containsExactly(Duration.ofMillis(100)); // one request's worth, not a whole window
    }

    @Test
    void anIdleBudgetFillsUpToOneBurst() throws InterruptedException {
        Budget budget = budget(600, 1_000_000);
        budget.acquire(1);
        time.step(Duration.ofMinutes(1));
        for (int i = 0; i < 10; i++) budget.acquire(1);
        assertThat(time.sleeps()).isEmpty();
        budget.acquire(1);
        assertThat(time.sleeps()).hasSize(1);
    }

    @Test
    void tokensBindWhenRequestsCostMoreThanTheTokenRateRefills() throws InterruptedException {
        Budget budget = budget(1_000_000, 6000); // 100 tokens per second, a burst of 100, starting with 50
        budget.acquire(50);
        budget.acquire(50);
        assertThat(time.sleeps()).containsExactly(Duration.ofMillis(500));
    }

    @Test
    void aRequestBiggerThanTheBurstWaitsForAFullBucketAndRunsIntoDebt() throws InterruptedException {
        Budget budget = budget(1_000_000, 6000);
        budget.acquire(300); // three seconds' worth: let through once full
        budget.acquire(100);
        assertThat(time.sleeps())
                .containsExactly(Duration.ofMillis(500), Duration.ofSeconds(3)); // to full; the debt of 200 plus 100
    }

    @Test
    void settlingGivesBackWhatTheEstimateOverstated() throws InterruptedException {
        Budget budget = budget(1_000_000, 6000);
        budget.acquire(50).settle(10); // 40 come back
        budget.acquire(40);
        assertThat(time.sleeps()).isEmpty();
        assertThat(budget.usage().tokensSpent()).isEqualTo(50);
    }

    @Test
    void aPauseHoldsEveryRequestUntilItEnds() throws InterruptedException {
        Budget budget = budget(600, 1_000_000);
        budget.pauseFor(Duration.ofSeconds(15));
        budget.pauseFor(Duration.ofSeconds(2)); // never shortens the pause under way
        budget.acquire(1);
        assertThat(time.sleeps()).containsExactly(Duration.ofSeconds(15));
    }

    @Test
    void followsTheServersLimitDownButNeverUp() throws InterruptedException {
        Budget budget = budget(600, 1_000_000);
        budget.observe(new RateLimitSnapshot(60L, 10_000_000L, null, null, null, null), Duration.ZERO);
        assertThat(budget.usage().requestsPerMinute()).isEqualTo(60);
        assertThat(budget.usage().tokensPerMinute()).isEqualTo(1_000_000);
        budget.acquire(1);
        budget.acquire(1);
        assertThat(time.sleeps()).containsExactly(Duration.ofSeconds(1));
    }

    @Test
    void trustsWhatTheServerSaysIsLeftPlusTheRefillDuringTheRequest() throws InterruptedException {
        Budget budget = budget(600, 1_000_000); // burst of 10
        budget.observe(new RateLimitSnapshot(null, null, 0L, null, null, null), Duration.ofMillis(100));
        budget.acquire(1); // the 100 ms of latency refilled one
        budget.acquire(1);
        assertThat(time.sleeps()).containsExactly(Duration.ofMillis(100));
    }

    @Test
    void whatTheServerSaysIsLeftBeyondOneBurstLiftsTheLevelOneDoublingStepPerConfirmedAnswer()
            throws InterruptedException {
        Budget budget = budget(600, 1_000_000); // burst of 10, starting with 5
        budget.observe(new RateLimitSnapshot(null, null, 1000L, null, null, null), Duration.ZERO);
        for (int i = 0; i < 15; i++) budget.acquire(1); // 5 + a step of 10 (1000 is far more than needed)
        assertThat(time.sleeps()).isEmpty();
        // An answer to a request sent before that lift does not confirm it: no second step.
        budget.observe(new RateLimitSnapshot(null, null, 1000L, null, null, null), Duration.ofSeconds(1));
        budget.acquire(1);
        assertThat(time.sleeps()).hasSize(1);
        // One sent after it does: the next step is twice as large (20), up to what is left less the 16 still
        // in flight and one burst (10) that stays with the server.
        budget.observe(new RateLimitSnapshot(null, null, 46L, null, null, null), Duration.ZERO);
        for (int i = 0; i < 20; i++) budget.acquire(1);
        assertThat(time.sleeps()).hasSize(1);
        budget.acquire(1);
        assertThat(time.sleeps()).hasSize(2);
    }

    @Test
    void a429EndsTheLiftingAndDropsWhatWasLifted() throws InterruptedException {
        Budget budget = budget(600, 1_000_000);
        budget.observe(new RateLimitSnapshot(null, null, 1000L, null, null, null), Duration.ZERO);
        budget.pauseFor(Duration.ofMillis(100));
        budget.observe(new RateLimitSnapshot(null, null, 1000L, null, null, null), Duration.ZERO);
        for (int i = 0; i < 11; i++) budget.acquire(1);
        assertThat(time.sleeps()).hasSize(2); // the pause, then a full burst of 10, then the refill
    }

    @Test
    void utilisationIsTheShareSpentOfTheBurstPlusTheRefillOverTheRun() throws InterruptedException {
        Budget budget = budget(600, 1_000_000);
        for (int i = 0; i < 25; i++) budget.acquire(1); // 5 at once, then 20 over 2 s
        time.step(Duration.ofSeconds(1)); // idle: offered but not used
        Budget.Usage usage = budget.usage();
        assertThat(usage.requestsOffered()).isEqualTo(40); // the whole first burst, and 3 s of refill
        assertThat(usage.requestShare()).isEqualTo(25 / 40.0);
    }
}
