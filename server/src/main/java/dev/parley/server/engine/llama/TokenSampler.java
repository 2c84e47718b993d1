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
 * nothing is sorted. With a nucleus, a heap is built over the weights in linear time and only the tokens inside
 * the nucleus are taken from it.
 *
 * <p>Not thread-safe: one sampler follows one choice.
 */
final class TokenSampler {
    private final double temperature;
    private final boolean greedy;
    private final double topP;
    private final double presence;
    private final double frequency;
    private final int[] biasIds;
    private final float[] biasValues;
    private final SplittableRandom random;
    private final int[] counts; // how often each token was picked
    private int[] picked = new int[16]; // the distinct tokens picked, in order of first pick
    private int distinct;
    private float[] weights = new float[0]; // scratch: unnormalised probabilities
    private double[] blockSums = new double[0]; // scratch: the weights' sums by block
    private int[] heap = new int[0]; // scratch: token ids, a max-heap by weight

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
        this.counts = new int[vocabSize];
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
        Checks.require(
                logits.length == counts.length, "logits for %d tokens, sampler for %d", logits.length, counts.length);
        for (int i = 0; i < biasIds.length; i++) logits[biasIds[i]] += biasValues[i];
        if (presence != 0 || frequency != 0) {
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
        remember(token);
        return token;
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
     * A draw among the most likely tokens whose probabilities first add up to {@code top_p}: they are taken
     * from a max-heap one by one, so only the nucleus is ever ordered.
     */
    private int drawFromNucleus(double sum, double target) {
        int n = weights.length;
        if (heap.length != n) heap = new int[n];
        for (int id = 0; id < n; id++) heap[id] = id;
        for (int i = n / 2 - 1; i >= 0; i--) siftDown(i, n);
        double nucleus = topP * sum;
        double mass = 0;
        int size = n;
        int taken = 0; // the nucleus sits at heap[n - taken .. n), the most likely token at n - 1
        while (size > 0 && mass < nucleus && weights[heap[0]] > 0) { // a token of weight 0 is never drawn
            int top = heap[0];
            heap[0] = heap[--size];
            heap[size] = top;
            siftDown(0, size);
            mass += weights[top];
            taken++;
        }
        double left = target * mass;
        for (int i = n - 1; i >= n - taken; i--) {
            left -= weights[heap[i]];
            if (left < 0) return heap[i];
        }
        return heap[n - taken];
    }

    private void siftDown(int i, int size) {
        int id = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && before(heap[child + 1], heap[child])) child++;
            if (!before(heap[child], id)) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = id;
    }

    /** Heap order: larger weight first, then lower id, so that the nucleus is the same on every run. */
    private boolean before(int a, int b) {
        return weights[a] > weights[b] || weights[a] == weights[b] && a < b;
    }

    private void remember(int token) {
        if (counts[token]++ == 0) {
            if (distinct == picked.length) picked = Arrays.copyOf(picked, 2 * distinct);
            picked[distinct++] = token;
        }
    }
}
