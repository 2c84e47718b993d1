package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The grouping policy, fed measured costs by hand: no decode runs, no clock is read. */
class DecodeCostsTest {
    private static final long MS = 1_000_000;

    /** The curve measured on the 2-core CPU build: 1 token 9.3 ms, 2–4 tokens 13–15 ms each, 8 tokens 4.9 ms each. */
    private static DecodeCosts measuredCurve() {
        var costs = new DecodeCosts(512);
        costs.record(1, (long) (9.3 * MS));
        costs.record(2, 2 * 13 * MS);
        costs.record(3, 3 * 14 * MS);
        costs.record(4, 4 * 15 * MS);
        costs.record(8, (long) (8 * 4.9 * MS));
        return costs;
    }

    @Test
    void interleavesOneAtATimeWhereSmallBatchesCostMorePerToken() {
        var costs = measuredCurve();
        assertThat(costs.bestGroup(2)).isEqualTo(1);
        assertThat(costs.bestGroup(3)).isEqualTo(1);
        assertThat(costs.bestGroup(4)).isEqualTo(1);
    }

    @Test
    void batchesWhereABatchCostsLessPerTokenThanOneAlone() {
        var costs = measuredCurve();
        assertThat(costs.bestGroup(8)).isEqualTo(8);
        assertThat(costs.bestGroup(12)).isEqualTo(12); // beyond the last measured size: its per-token cost
    }

    @Test
    void neverChoosesAGroupSlowerPerTokenThanOneAlone() {
        var costs = measuredCurve();
        for (int ready = 1; ready <= 16; ready++) {
            int k = costs.bestGroup(ready);
            assertThat(k).isBetween(1, ready);
            assertThat(k / costs.estimate(k)).isGreaterThanOrEqualTo(1 / costs.estimate(1));
        }
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
        assertThat(costs.bestGroup(4)).isEqualTo(1);
        for (int i = 0; i < 30; i++) costs.record(4, 4 * 3 * MS); // batching of four became cheap
        assertThat(costs.bestGroup(4)).isEqualTo(4);
    }

    @Test
    void retriesAStaleSizeOnceSoThatOneNoisyMeasurementIsNotFinal() {
        var costs = new DecodeCosts(16);
        costs.record(1, 10 * MS);
        costs.record(4, 4 * 50 * MS); // measured while the machine was busy
        assertThat(costs.bestGroup(4)).isEqualTo(1);
        for (long i = 0; i <= DecodeCosts.STALE_STEPS; i++) costs.record(1, 10 * MS);
        assertThat(costs.bestGroup(4)).isEqualTo(4);
        costs.record(4, 4 * 50 * MS);
        assertThat(costs.bestGroup(4)).isEqualTo(1);
    }

    @Test
    void aStaleSizeTakesItsFreshMeasurementWholeSoASkewedCalibrationIsOverturnedAtOnce() {
        var costs = new DecodeCosts(16);
        costs.record(1, 10 * MS);
        costs.record(8, 8 * 30 * MS); // calibrated while another process started: batching looks bad
        assertThat(costs.bestGroup(8)).isEqualTo(1);
        for (long i = 0; i <= DecodeCosts.STALE_STEPS; i++) costs.record(1, 10 * MS);
        assertThat(costs.bestGroup(8)).isEqualTo(8); // stale: tried again
        costs.record(8, 8 * 5 * MS); // and on a quiet machine, eight together are twice as fast per token
        assertThat(costs.bestGroup(8)).isEqualTo(8);
        // A size in steady use is still nudged, not overturned, by one noisy measurement.
        costs.record(8, 8 * 30 * MS);
        assertThat(costs.bestGroup(8)).isEqualTo(8);
    }

    @Test
    void withoutMeasurementsEverySizeCostsTheSamePerTokenAndTheLargestGroupWins() {
        assertThat(new DecodeCosts(64).bestGroup(5)).isEqualTo(5);
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
