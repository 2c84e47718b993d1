package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The grouping policy, fed measured costs by hand: no decode runs, no clock is read. */
class DecodeCostsTest {
    private static final long MS = 1_000_000;
    /** Cells in use for the tests where the cache's fill does not change. */
    private static final long CELLS = 300;

    /** The curve measured on the 2-core CPU build: 1 token 9.3 ms, 2–4 tokens 13–15 ms each, 8 tokens 4.9 ms each. */
    private static DecodeCosts measuredCurve() {
        var costs = new DecodeCosts(512);
        costs.record(1, (long) (9.3 * MS), CELLS);
        costs.record(2, 2 * 13 * MS, CELLS);
        costs.record(3, 3 * 14 * MS, CELLS);
        costs.record(4, 4 * 15 * MS, CELLS);
        costs.record(8, (long) (8 * 4.9 * MS), CELLS);
        return costs;
    }

    @Test
    void interleavesOneAtATimeWhereSmallBatchesCostMorePerToken() {
        var costs = measuredCurve();
        assertThat(costs.bestGroup(2, CELLS)).isEqualTo(1);
        assertThat(costs.bestGroup(3, CELLS)).isEqualTo(1);
        assertThat(costs.bestGroup(4, CELLS)).isEqualTo(1);
    }

    @Test
    void batchesWhereABatchCostsLessPerTokenThanOneAlone() {
        var costs = measuredCurve();
        assertThat(costs.bestGroup(8, CELLS)).isEqualTo(8);
        assertThat(costs.bestGroup(12, CELLS)).isEqualTo(12); // beyond the last measured size: its per-token cost
    }

    @Test
    void neverChoosesAGroupSlowerPerTokenThanOneAloneByMoreThanTheMargin() {
        var costs = measuredCurve();
        for (int ready = 1; ready <= 16; ready++) {
            int k = costs.bestGroup(ready, CELLS);
            assertThat(k).isBetween(1, ready);
            assertThat(k / costs.estimate(k) * DecodeCosts.MARGIN).isGreaterThanOrEqualTo(1 / costs.estimate(1));
        }
    }

    @Test
    void keepsEveryReadySequenceInTheStepWhenASmallerGroupPromisesLessThanTheMargin() {
        var costs = new DecodeCosts(16);
        costs.record(16, 16 * 6 * MS, 4000);
        costs.record(14, (long) (14 * 5.2 * MS), 4000); // 15% cheaper per token: within the noise
        costs.record(7, (long) (7 * 5.1 * MS), 4000);
        assertThat(costs.bestGroup(16, 4000)).isEqualTo(16);
        for (int i = 0; i < 20; i++) costs.record(7, 7 * 4 * MS, 4000); // 50% more tokens per second: a real dip
        assertThat(costs.bestGroup(16, 4000)).isEqualTo(7);
    }

    @Test
    void interpolatesBetweenMeasuredSizes() {
        var costs = measuredCurve();
        assertThat(costs.estimate(6))
                .isEqualTo((4 * 15 * MS + 8 * 4.9 * MS) / 2, org.assertj.core.data.Offset.offset(1.0));
    }

    @Test
    void followsTheMachineAsItsCostsChange() {
        var costs = measuredCurve();
        assertThat(costs.bestGroup(4, CELLS)).isEqualTo(1);
        for (int i = 0; i < 30; i++) costs.record(4, 4 * 3 * MS, CELLS); // batching of four became cheap
        assertThat(costs.bestGroup(4, CELLS)).isEqualTo(4);
    }

    @Test
    void retriesAStaleSizeOnceSoThatOneNoisyMeasurementIsNotFinal() {
        var costs = new DecodeCosts(16);
        costs.record(1, 10 * MS, CELLS);
        costs.record(4, 4 * 50 * MS, CELLS); // measured while the machine was busy
        assertThat(costs.bestGroup(4, CELLS)).isEqualTo(1);
        for (long i = 0; i <= DecodeCosts.STALE_STEPS; i++) costs.record(1, 10 * MS, CELLS);
        assertThat(costs.bestGroup(4, CELLS)).isEqualTo(4);
        costs.record(4, 4 * 50 * MS, CELLS);
        assertThat(costs.bestGroup(4, CELLS)).isEqualTo(1);
    }

    @Test
    void aStaleSizeTakesItsFreshMeasurementWholeSoASkewedCalibrationIsOverturnedAtOnce() {
        var costs = new DecodeCosts(16);
        costs.record(1, 10 * MS, CELLS);
        costs.record(8, 8 * 30 * MS, CELLS); // calibrated while another process started: batching looks bad
        assertThat(costs.bestGroup(8, CELLS)).isEqualTo(1);
        for (long i = 0; i <= DecodeCosts.STALE_STEPS; i++) costs.record(1, 10 * MS, CELLS);
        assertThat(costs.bestGroup(8, CELLS)).isEqualTo(8); // stale: tried again
        costs.record(8, 8 * 5 * MS, CELLS); // and on a quiet machine, eight together are twice as fast per token
        assertThat(costs.bestGroup(8, CELLS)).isEqualTo(8);
        // A size in steady use is not moved by one noisy measurement.
        costs.record(8, 8 * 30 * MS, CELLS);
        assertThat(costs.bestGroup(8, CELLS)).isEqualTo(8);
    }

    @Test
    void leavesNoSequenceOutOnTheEstimateOfASmallerGroupMeasuredOnAnEmptierCache() {
        var costs = new DecodeCosts(16);
        costs.record(16, 16 * 8 * MS, 4000); // sixteen long answers in the cache
        costs.record(14, 14 * 5 * MS, 500); // measured as the round ramped up: looks cheaper than it is now
        assertThat(costs.bestGroup(16, 4000)).isEqualTo(14); // so it is measured again, once
        costs.record(14, (long) (14 * 8.5 * MS), 4000); // taken whole: the old estimate was of another cache
        assertThat(costs.estimate(14)).isEqualTo(14 * 8.5 * MS);
        assertThat(costs.bestGroup(16, 4000)).isEqualTo(16);
    }

    @Test
    void measuresAgainAtMostOnceEveryProbePeriod() {
        var costs = new DecodeCosts(16);
        costs.record(16, 16 * 8 * MS, 4000);
        costs.record(12, 12 * 5 * MS, 500);
        costs.record(14, 14 * 5 * MS, 500);
        assertThat(costs.bestGroup(16, 4000)).isEqualTo(14);
        costs.record(14, (long) (14 * 8.5 * MS), 4000);
        for (int i = 1; i < DecodeCosts.PROBE_STEPS; i++) {
            assertThat(costs.bestGroup(16, 4000)).isEqualTo(16);
            costs.record(16, 16 * 8 * MS, 4000);
        }
        assertThat(costs.bestGroup(16, 4000)).isEqualTo(12);
    }

    @Test
    void findsARealDipOnAFullCacheToo() {
        var costs = measuredCurve(); // one alone is cheaper per token than two to four together
        assertThat(costs.bestGroup(4, 3000)).isEqualTo(1); // measured on an emptier cache: tried again
        costs.record(1, (long) (9.3 * 1.2 * MS), 3000); // dearer on the fuller cache, but still the best
        assertThat(costs.bestGroup(4, 3000)).isEqualTo(1);
        costs.record(1, (long) (9.3 * 1.2 * MS), 3000);
        assertThat(costs.bestGroup(3, 3000)).isEqualTo(1);
    }

    @Test
    void cachesThatDifferByLessThanAPaddingOrAQuarterCostAlike() {
        assertThat(DecodeCosts.comparable(10, 250)).isTrue(); // llama.cpp attends over 256 cells either way
        assertThat(DecodeCosts.comparable(3000, 4000)).isTrue();
        assertThat(DecodeCosts.comparable(2900, 4000)).isFalse();
        assertThat(DecodeCosts.comparable(9000, 4000)).isTrue(); // a fuller cache only overstates the cost
    }

    @Test
    void measuresAllReadyTogetherAgainEveryProbePeriodWhileASmallerGroupWins() {
        var costs = measuredCurve();
        costs.record(4, 4 * 15 * MS, CELLS);
        assertThat(costs.bestGroup(4, CELLS)).isEqualTo(1);
        for (int i = 1; i < DecodeCosts.PROBE_STEPS; i++) costs.record(1, (long) (9.3 * MS), CELLS);
        assertThat(costs.bestGroup(4, CELLS)).isEqualTo(1);
        costs.record(1, (long) (9.3 * MS), CELLS);
        assertThat(costs.bestGroup(4, CELLS)).isEqualTo(4); // sixty-four steps since four were measured
        costs.record(4, 4 * 15 * MS, CELLS);
        assertThat(costs.bestGroup(4, CELLS)).isEqualTo(1);
    }

    @Test
    void oneSlowDecodeAmongSteadyOnesLeavesTheEstimateWhereItWas() {
        var costs = new DecodeCosts(8);
        for (int i = 0; i < 4; i++) costs.record(8, 8 * 5 * MS, CELLS);
        costs.record(8, 8 * 40 * MS, CELLS); // another process took the core
        assertThat(costs.estimate(8)).isEqualTo(8 * 5 * MS);
        for (int i = 0; i < 3; i++) costs.record(8, 8 * 7 * MS, CELLS); // the machine did get slower
        assertThat(costs.estimate(8)).isEqualTo(8 * 7 * MS);
    }

    @Test
    void withoutMeasurementsEverySizeCostsTheSamePerTokenAndTheLargestGroupWins() {
        assertThat(new DecodeCosts(64).bestGroup(5, CELLS)).isEqualTo(5);
    }

    @Test
    void calibratesEverySmallGroupAndSpreadsOutBeyond() {
        assertThat(Calibration.sizes(1)).containsExactly(1);
        assertThat(Calibration.sizes(4)).containsExactly(1, 2, 3, 4);
        assertThat(Calibration.sizes(64))
                .startsWith(1, 2, 3)
                .contains(16, 24, 32, 48, 64)
                .doesNotHaveDuplicates();
    }
}
