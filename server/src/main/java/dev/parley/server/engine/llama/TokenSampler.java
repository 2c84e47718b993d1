package dev.parley.server.engine.llama;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Picks one choice's next token from the logits of its last decode, in Java. In order: the logit bias, the
 * presence and frequency penalties as OpenAI defines them ({@code logit -= presence × (count > 0) +
 * frequency × count}, over the tokens this sampler picked so far), then either the most likely token
 * (temperature 0, or {@code top_p} 0 as OpenAI accepts it; ties go to the lowest id) or a draw from the
 * softmax at the temperature, restricted to the {@code top_p} nucleus when {@code top_p} is below 1. The
 * draw uses a generator seeded from the options, so the same seed over the same logits picks the same
 * tokens.
 *
 * <p>Cost per token: without a nucleus, one pass for the largest logit, one for the weights (vectorised, see
 * {@link SoftmaxWeights}) and one for their sums by block, then the draw walks the block sums and one block;
 * nothing is sorted. With a nucleus, a histogram of the weights bounds the nucleus and only the tokens that can
 * be in it are sorted.
 *
 * <p>Not thread-safe: one sampler follows one choice.
 */
final class TokenSampler {
    /** Positive float weights by their top 12 bits: 4,096 buckets, sixteen per power of two. */
    private static final int BUCKET_SHIFT = 19;

    private final double temperature;
    private final boolean greedy;
    private final double topP;
    private final double presence;
    private final double frequency;
    private final int[] biasIds;
    private final float[] biasValues;
    private final SplittableRandom random;
    private final int vocabSize;
    // Kept only when a penalty reads them: a vocabulary's ints (0.6 MB for 152k tokens) per choice otherwise.
    private final int[] counts; // how often each token was picked; null without penalties
    private int[] picked = new int[16]; // the distinct tokens picked, in order of first pick
    private int distinct;
    private float[] weights = new float[0]; // scratch: unnormalised probabilities
    private double[] blockSums = new double[0]; // scratch: the weights' sums by block
    private int[] bucketCounts = new int[0]; // scratch: the nucleus's histogram, made at its first draw
    private double[] bucketMass = new double[0];
    private long[] candidates = new long[0]; // scratch: the tokens that may be in the nucleus, by weight and id

    /**
     * @throws IllegalArgumentException when the options are out of range or bias a token outside the
     *     vocabulary
     */
    TokenSampler(SamplingOptions options, int vocabSize) {
        Checks.notNull(options, "sampling options");
        options.check(vocabSize);
        this.temperature = options.temperature();
        this.greedy = options.picksMostLikely();
        this.topP = options.topP();
        this.presence = options.presencePenalty();
        this.frequency = options.frequencyPenalty();
        this.biasIds = new int[options.logitBias().size()];
        this.biasValues = new float[biasIds.length];
        int i = 0;
        for (Map.Entry<Integer, Double> bias : options.logitBias().entrySet()) {
            biasIds[i] = bias.getKey();
            biasValues[i++] = bias.getValue().floatValue();
        }
        this.random = new SplittableRandom(options.seed());
        this.vocabSize = vocabSize;
        this.counts = presence != 0 || frequency != 0 ? new int[vocabSize] : null;
    }

    /** What may come next: a grammar. */
    interface Constraint {
        /** Whether {@code token} may come next. */
        boolean allows(int token);

        /** Sets the logit of every token that may not come next to negative infinity; false when none may. */
        boolean mask(float[] logits);
    }

    /** Returned by {@link #sample(float[], Constraint)} when the constraint allows no token at all. */
    static final int NONE = -1;

    /** Picks the next token from {@code logits} (one per vocabulary id), which it adjusts in place, and remembers it. */
    int sample(float[] logits) {
        return sample(logits, null);
    }

    /**
     * As {@link #sample(float[])}, among the tokens {@code constraint} allows (null: all). The token picked without
     * the constraint is kept when the constraint allows it, so the whole vocabulary is checked only when the model
     * strays; the draw is then made again over what is allowed. {@link #NONE} when nothing is.
     */
    int sample(float[] logits, Constraint constraint) {
        Checks.require(logits.length == vocabSize, "logits for %d tokens, sampler for %d", logits.length, vocabSize);
        for (int i = 0; i < biasIds.length; i++) logits[biasIds[i]] += biasValues[i];
        if (counts != null) {
            for (int i = 0; i < distinct; i++) {
                int id = picked[i];
                logits[id] -= (float) (presence + frequency * counts[id]);
            }
        }
        int token = pick(logits);
        if (constraint != null && !constraint.allows(token)) {
            if (!constraint.mask(logits)) return NONE;
            token = pick(logits);
        }
        if (counts != null) remember(token);
        return token;
    }

    /**
     * Whether this sampler picks the most likely token of the logits as they are (no bias, no penalty): then {@link
     * LlamaContext#argmax} picks the same token without a copy of the logits, and nothing need be remembered.
     */
    boolean takesLargest() {
        return greedy && biasIds.length == 0 && counts == null;
    }

    private int pick(float[] logits) {
        return greedy ? argmax(logits) : draw(logits);
    }

    /** The id of the largest logit; the lowest such id on a tie. */
    static int argmax(float[] logits) {
        int best = 0;
        for (int id = 1; id < logits.length; id++) if (logits[id] > logits[best]) best = id;
        return best;
    }

    private int draw(float[] logits) {
        int n = logits.length;
        if (weights.length != n) {
            weights = new float[n];
            blockSums = new double[SoftmaxWeights.blocks(n)];
        }
        float max = SoftmaxWeights.max(logits);
        if (!Float.isFinite(max)) return argmax(logits); // a NaN from a broken model: no distribution to draw from
        double sum = SoftmaxWeights.fill(logits, max, (float) (1 / temperature), weights, blockSums);
        double target = random.nextDouble();
        return topP < 1 ? drawFromNucleus(sum, target) : SoftmaxWeights.pick(weights, blockSums, target * sum);
    }

    /**
     * A draw among the most likely tokens whose probabilities first add up to {@code top_p}, most likely first
     * (ties: lower id first). Only the tokens that can be in the nucleus are sorted: a histogram of the weights
     * by their float bits (sixteen buckets per power of two) finds the lowest bucket the nucleus reaches, and the
     * tokens from that bucket up are sorted. A nucleus of thousands of tokens over a 152k vocabulary costs two
     * passes and a sort of those thousands, not a heap pop per token.
     */
    private int drawFromNucleus(double sum, double target) {
        double nucleus = topP * sum;
        fillHistogram();
        // The buckets' masses are summed in another order than the nucleus is, so they only say where to start.
        int lowest = -1;
        double above = 0;
        for (int bucket = bucketMass.length - 1; bucket >= 0; bucket--) {
            if (bucketCounts[bucket] == 0) continue;
            above += bucketMass[bucket];
            lowest = bucket;
            if (above >= nucleus) break;
        }
        while (true) {
            int size = sortFrom(lowest);
            double mass = 0;
            int taken = 0;
            while (taken < size && mass < nucleus) mass += weights[(int) candidates[taken++]];
            int lower = lowest - 1;
            while (lower >= 0 && bucketCounts[lower] == 0) lower--;
            if (mass < nucleus && lower >= 0) { // rounding left the nucleus short of the bucket estimate
                lowest = lower;
                continue;
            }
            double left = target * mass;
            for (int i = 0; i < taken - 1; i++) {
                left -= weights[(int) candidates[i]];
                if (left < 0) return (int) candidates[i];
            }
            return (int) candidates[taken - 1];
        }
    }

    /** Counts the positive weights and adds them up by bucket (a token of weight 0 is never drawn). */
    private void fillHistogram() {
        if (bucketCounts.length == 0) {
            bucketCounts = new int[1 << (31 - BUCKET_SHIFT)];
            bucketMass = new double[bucketCounts.length];
        }
        Arrays.fill(bucketCounts, 0);
        Arrays.fill(bucketMass, 0);
        for (float weight : weights) {
            if (weight > 0) {
                int bucket = Float.floatToRawIntBits(weight) >>> BUCKET_SHIFT;
                bucketCounts[bucket]++;
                bucketMass[bucket] += weight;
            }
        }
    }

    /** Puts the tokens of bucket {@code lowest} and above into {@link #candidates}, sorted; returns how many. */
    private int sortFrom(int lowest) {
        int count = 0;
        for (int bucket = lowest; bucket < bucketCounts.length; bucket++) count += bucketCounts[bucket];
        if (candidates.length < count) candidates = new long[Math.max(count, 2 * candidates.length)];
        int size = 0;
        for (int id = 0; id < weights.length; id++) {
            int bits = Float.floatToRawIntBits(weights[id]);
            // Positive floats order as their bits: heaviest first, then the lower id, in one long.
            if (weights[id] > 0 && bits >>> BUCKET_SHIFT >= lowest)
                candidates[size++] = (long) (Integer.MAX_VALUE - bits) << 32 | id;
        }
        Arrays.sort(candidates, 0, size);
        return size;
    }

    private void remember(int token) {
        if (counts[token]++ == 0) {
            if (distinct == picked.length) picked = Arrays.copyOf(picked, 2 * distinct);
            picked[distinct++] = token;
        }
    }
}
