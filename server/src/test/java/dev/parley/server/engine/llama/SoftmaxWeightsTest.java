package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;
import static org.assertj.core.api.Assertions.withinPercentage;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SoftmaxWeightsTest {

    @Test
    void weightsFollowExpWithinOnePartInTenThousand() {
        int n = 200_000;
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) logits[i] = SoftmaxWeights.FLOOR * i / n; // 0 down to the floor
        for (float temperature : new float[] {1, 0.5f, 2}) {
            float[] weights = new float[n];
            double[] sums = new double[SoftmaxWeights.blocks(n)];
            SoftmaxWeights.fill(logits, 0, 1 / temperature, weights, sums);
            double worst = 0;
            for (int i = 0; i < n; i++) {
                double x = Math.max(logits[i] / temperature, SoftmaxWeights.FLOOR);
                worst = Math.max(worst, Math.abs(weights[i] / Math.exp(x) - 1));
            }
            assertThat(worst).as("temperature %s", temperature).isLessThan(1e-4);
        }
    }

    @Test
    void theLargestLogitWeighsOneAMaskedTokenNothingAndTheFarTailTheFloor() {
        float[] logits = {3, Float.NEGATIVE_INFINITY, 3 - 500, 2, -Float.MAX_VALUE};
        float[] weights = new float[logits.length];
        double[] sums = new double[1];

        double total = SoftmaxWeights.fill(logits, 3, 1, weights, sums);

        assertThat(weights[0]).isEqualTo(1f);
        assertThat(weights[1]).isZero();
        assertThat((double) weights[2]).isCloseTo(Math.exp(SoftmaxWeights.FLOOR), withinPercentage(0.01));
        assertThat(weights[2]).isGreaterThanOrEqualTo(Float.MIN_NORMAL); // never subnormal
        assertThat((double) weights[3]).isCloseTo(Math.exp(-1), withinPercentage(0.01));
        assertThat(weights[4]).isZero(); // below -1e30 counts as masked
        assertThat(total).isEqualTo(sums[0]).isCloseTo(1 + Math.exp(-1), offset(1e-4));
    }

    @Test
    void blockSumsAddUpEveryBlockIncludingAShortLastOne() {
        for (int n : new int[] {1, 63, 64, 65, 130, 49_152, 32_001}) {
            float[] logits = randomLogits(n, n);
            float[] weights = new float[n];
            double[] sums = new double[SoftmaxWeights.blocks(n)];

            double total = SoftmaxWeights.fill(logits, SoftmaxWeights.max(logits), 1, weights, sums);

            double all = 0;
            for (int block = 0; block < sums.length; block++) {
                double sum = 0;
                for (int id = block * SoftmaxWeights.BLOCK; id < Math.min(n, (block + 1) * SoftmaxWeights.BLOCK); id++)
                    sum += weights[id];
                assertThat(sums[block]).as("block %d of %d tokens", block, n).isCloseTo(sum, offset(1e-9));
                all += sum;
            }
            assertThat(total).isCloseTo(all, offset(1e-9));
        }
    }

    @Test
    void pickWalksTheRunningSum() {
        float[] logits = new float[200]; // weights 0.5, 1 and 0.5 at tokens 3, 70 and 199, in three blocks
        Arrays.fill(logits, Float.NEGATIVE_INFINITY);
        logits[3] = (float) -Math.log(2);
        logits[70] = 0;
        logits[199] = (float) -Math.log(2);
        float[] weights = new float[logits.length];
        double[] sums = new double[SoftmaxWeights.blocks(logits.length)];

        double total = SoftmaxWeights.fill(logits, 0, 1, weights, sums);

        assertThat(total).isCloseTo(2, offset(1e-3));
        assertThat(SoftmaxWeights.pick(weights, sums, 0)).isEqualTo(3);
        assertThat(SoftmaxWeights.pick(weights, sums, 0.499)).isEqualTo(3);
        assertThat(SoftmaxWeights.pick(weights, sums, 0.501)).isEqualTo(70);
        assertThat(SoftmaxWeights.pick(weights, sums, 1.499)).isEqualTo(70);
        assertThat(SoftmaxWeights.pick(weights, sums, 1.501)).isEqualTo(199);
        // Rounding past the end gives the last token with any weight, never a masked one.
        assertThat(SoftmaxWeights.pick(weights, sums, 2.5)).isEqualTo(199);
    }

    @Test
    void aMaskedTokenIsNeverPickedWhereverTheTargetFalls() {
        float[] logits = new float[130];
        Arrays.fill(logits, Float.NEGATIVE_INFINITY);
        logits[64] = 0.5f; // the only allowed token, alone in the middle block
        float[] weights = new float[logits.length];
        double[] sums = new double[SoftmaxWeights.blocks(logits.length)];
        double total = SoftmaxWeights.fill(logits, 0.5f, 1, weights, sums);

        for (double target : new double[] {0, total / 2, Math.nextDown(total), total, total * 2})
            assertThat(SoftmaxWeights.pick(weights, sums, target)).isEqualTo(64);
    }

    @Test
    void nothingToPickIsAnError() {
        assertThatThrownBy(() -> SoftmaxWeights.pick(new float[3], new double[1], 0))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theMaximumSeesNaN() {
        assertThat(SoftmaxWeights.max(new float[] {1, 5, -2})).isEqualTo(5f);
        assertThat(SoftmaxWeights.max(new float[] {1, Float.NaN, 7})).isNaN();
    }

    @Test
    void drawsOverALargeVocabularyFollowTheSoftmax() {
        // 1,000 tokens; ten of them carry most of the mass. Each of those is drawn as often as its probability
        // says, within four standard deviations of 40,000 draws.
        int n = 1_000;
        float[] logits = randomLogits(n, 7);
        for (int i = 0; i < 10; i++) logits[i * 97] = 6 + i * 0.1f;
        double[] p = new double[n];
        double z = 0;
        for (int i = 0; i < n; i++) z += p[i] = Math.exp(logits[i]);
        float[] weights = new float[n];
        double[] sums = new double[SoftmaxWeights.blocks(n)];
        double total = SoftmaxWeights.fill(logits, SoftmaxWeights.max(logits), 1, weights, sums);
        SplittableRandom random = new SplittableRandom(11);
        int draws = 40_000;
        int[] counts = new int[n];
        for (int i = 0; i < draws; i++) counts[SoftmaxWeights.pick(weights, sums, random.nextDouble() * total)]++;

        for (int i = 0; i < 10; i++) {
            double q = p[i * 97] / z;
            double sd = Math.sqrt(draws * q * (1 - q));
            assertThat((double) counts[i * 97]).as("token %d", i * 97).isCloseTo(draws * q, offset(4 * sd));
        }
    }

    private static float[] randomLogits(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) logits[i] = (float) (random.nextDouble() * 6 - 3);
        return logits;
    }
}
