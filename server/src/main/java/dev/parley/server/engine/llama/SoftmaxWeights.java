package dev.parley.server.engine.llama;

/**
 * The unnormalised softmax weights a draw picks from, {@code exp((logit - max) / temperature)}, written so
 * that the JIT compiles the pass over the vocabulary to vector instructions, and sums kept per block of
 * {@value #BLOCK} tokens, so that a draw finds its token without walking the whole vocabulary.
 *
 * <p>Why not {@link Math#exp}: it is a call per token that the compiler does not vectorise, about 6 ns each,
 * 0.3 ms for a 49,152-token vocabulary; at 16 sampled streams that is 5 ms of every decode step. Here
 * {@code exp(x)} is {@code p(x/256)^256}, a degree-6 Taylor polynomial raised by eight squarings: only
 * multiplications and additions, so it vectorises, and 0.07 ms covers the maximum, the weights and the block
 * sums together. Its relative error is below 1e-4 over the range kept (a draw's probabilities move by as
 * much, far below what anyone could observe in its samples). Float arithmetic is exact to IEEE in Java,
 * whether interpreted, compiled or vectorised, so a seed draws the same tokens on every run.
 *
 * <p>A token more than {@value #FLOOR} below the maximum (after the temperature) weighs {@code exp(-80)}
 * instead of less: next to the maximum's weight of 1 that is nothing a draw can see, and it keeps every
 * result a normal float (the squarings never pass through the slow subnormal range). A token whose logit is
 * negative infinity (masked by a grammar), or below -1e30, weighs exactly 0 and is never drawn.
 */
final class SoftmaxWeights {
    /** Tokens per block sum. */
    static final int BLOCK = 64;

    /** Where {@code (logit - max) / temperature} is cut off. */
    static final float FLOOR = -80;

    private static final float C2 = 1f / 2;
    private static final float C3 = 1f / 6;
    private static final float C4 = 1f / 24;
    private static final float C5 = 1f / 120;
    private static final float C6 = 1f / 720;

    private SoftmaxWeights() {}

    /** The largest logit; NaN when any is NaN. */
    static float max(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float logit : logits) max = Math.max(max, logit);
        return max;
    }

    /** How many block sums a vocabulary of {@code tokens} needs. */
    static int blocks(int tokens) {
        return (tokens + BLOCK - 1) / BLOCK;
    }

    /**
     * Fills {@code weights} with each logit's weight at {@code 1 / temperature} = {@code scale} and
     * {@code blockSums} with their sums by block; returns the sum of all. {@code max} must be the largest
     * logit and finite.
     */
    static double fill(float[] logits, float max, float scale, float[] weights, double[] blockSums) {
        for (int id = 0; id < logits.length; id++) {
            float logit = logits[id];
            float y = Math.max((logit - max) * scale, FLOOR) * (1f / 256);
            float p = 1 + y * (1 + y * (C2 + y * (C3 + y * (C4 + y * (C5 + y * C6)))));
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            // 0 for a logit of negative infinity (or below -1e30), else 1: a select the compiler vectorises
            weights[id] = p * Math.min(1f, Math.max(0f, logit + 1e30f));
        }
        double total = 0;
        for (int block = 0; block < blockSums.length; block++) {
            int from = block * BLOCK;
            int to = Math.min(weights.length, from + BLOCK);
            double sum = 0;
            if (to - from == BLOCK) { // four independent sums: a single chain waits on each addition
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int id = from; id < to; id += 4) {
                    s0 += weights[id];
                    s1 += weights[id + 1];
                    s2 += weights[id + 2];
                    s3 += weights[id + 3];
                }
                sum = (s0 + s1) + (s2 + s3);
            } else {
                for (int id = from; id < to; id++) sum += weights[id];
            }
            blockSums[block] = sum;
            total += sum;
        }
        return total;
    }

    /**
     * The token at which the running sum of the weights first exceeds {@code target} (in {@code [0, total)}):
     * the block first, by its sum, then the token inside it. Always a token with a weight above 0: when
     * rounding leaves a sliver past the last such token, that token.
     */
    static int pick(float[] weights, double[] blockSums, double target) {
        int lastBlock = -1;
        for (int block = 0; block < blockSums.length; block++) {
            double sum = blockSums[block];
            if (sum == 0) continue;
            if (target < sum) {
                int last = -1;
                int to = Math.min(weights.length, (block + 1) * BLOCK);
                for (int id = block * BLOCK; id < to; id++) {
                    float weight = weights[id];
                    if (weight == 0) continue;
                    target -= weight;
                    if (target < 0) return id;
                    last = id;
                }
                return last;
            }
            target -= sum;
            lastBlock = block;
        }
        for (int id = Math.min(weights.length, (lastBlock + 1) * BLOCK) - 1; id >= 0; id--)
            if (weights[id] > 0) return id;
        throw new IllegalStateException("no token has any weight");
    }
}
