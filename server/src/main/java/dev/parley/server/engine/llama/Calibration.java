package dev.parley.server.engine.llama;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Seeds {@link DecodeCosts} before the first request: times decodes of the group sizes the scheduler can
 * choose between (1 to the number of slots, spread out past 16), three times each after a warm-up, and
 * records the median. Takes well under a second on a 135M-parameter model; the cache is cleared after.
 */
final class Calibration {
    private static final int REPEATS = 3;

    private Calibration() {}

    static void run(LlamaModel model, LlamaContext context, DecodeCosts costs, LongSupplier nanoTime) {
        int token = model.bosToken().orElse(0);
        context.decode(tokens(token, 1, context.maxSequences())); // warm-up: the first decode allocates
        context.clear();
        for (int size : sizes(Math.min(context.maxSequences(), context.batchCapacity()))) {
            long[] elapsed = new long[REPEATS];
            for (int i = 0; i < REPEATS; i++) {
                List<BatchToken> batch = tokens(token, size, context.maxSequences());
                long start = nanoTime.getAsLong();
                context.decode(batch);
                elapsed[i] = nanoTime.getAsLong() - start;
                context.clear();
            }
            Arrays.sort(elapsed);
            costs.record(size, elapsed[REPEATS / 2]);
        }
    }

    /** 1..16 each, then every power of two and the midpoints between, up to {@code max}; always {@code max}. */
    static List<Integer> sizes(int max) {
        List<Integer> sizes = new ArrayList<>();
        for (int n = 1; n <= Math.min(max, 16); n++) sizes.add(n);
        for (int n = 16; n < max; n *= 2) {
            if (n + n / 2 < max) sizes.add(n + n / 2);
            if (2 * n < max) sizes.add(2 * n);
        }
        if (!sizes.contains(max)) sizes.add(max);
        return sizes;
    }

    /** One token per sequence, as a generation step has them. */
    private static List<BatchToken> tokens(int token, int count, int sequences) {
        List<BatchToken> batch = new ArrayList<>(count);
        for (int i = 0; i < count; i++) batch.add(new BatchToken(token, i / sequences, i % sequences, true));
        return batch;
    }
}
