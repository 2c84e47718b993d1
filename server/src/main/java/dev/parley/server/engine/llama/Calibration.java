package dev.parley.server.engine.llama;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Seeds {@link DecodeCosts}: times decodes of the group sizes the scheduler can choose between (1 to the
 * number of slots, spread out past 16), three times each after a warm-up, and records the median. Takes well
 * under a second on a 135M-parameter model.
 *
 * <p>It runs in pieces, one size per {@link #step}, on the thread that owns the context, and only while that
 * context holds no sequence: each piece clears the whole KV cache after it. So the scheduler serves at once
 * with a default cost model and calibrates in its idle moments. It must be the scheduler's own thread,
 * because llama.cpp keeps a pool of worker threads per calling thread, and two pools on a small machine make
 * every decode's barrier wait for a core.
 *
 * <p>Not thread-safe: owned by the scheduler thread.
 */
final class Calibration {
    private static final int REPEATS = 3;

    private final LlamaContext context;
    private final DecodeCosts costs;
    private final LongSupplier nanoTime;
    private final int token;
    private final List<Integer> sizes;
    private int next = -1; // the index in sizes of the next size to measure; -1 before the warm-up

    Calibration(LlamaModel model, LlamaContext context, DecodeCosts costs, LongSupplier nanoTime) {
        this.context = context;
        this.costs = costs;
        this.nanoTime = nanoTime;
        this.token = model.bosToken().orElse(0);
        this.sizes = sizes(Math.min(context.maxSequences(), context.batchCapacity()));
    }

    /** Measures every size at once. */
    static void run(LlamaModel model, LlamaContext context, DecodeCosts costs, LongSupplier nanoTime) {
        Calibration calibration = new Calibration(model, context, costs, nanoTime);
        while (calibration.step()) {
            // one size at a time
        }
    }

    /**
     * Warms up (the first decode allocates) or measures the next size, then clears the cache. Only while the
     * context holds no sequence; it may still hold the cells a finished one left for the next prompt that shares
     * its start, which are cleared first (the scheduler forgets them before each piece).
     *
     * @return whether there is more to measure
     */
    boolean step() {
        context.clear();
        if (next < 0) {
            context.decode(tokens(1));
            context.clear();
            next = 0;
            return true;
        }
        if (next >= sizes.size()) return false;
        int size = sizes.get(next++);
        long[] elapsed = new long[REPEATS];
        for (int i = 0; i < REPEATS; i++) {
            List<BatchToken> batch = tokens(size);
            long start = nanoTime.getAsLong();
            context.decode(batch);
            elapsed[i] = nanoTime.getAsLong() - start;
            context.clear();
        }
        Arrays.sort(elapsed);
        costs.record(size, elapsed[REPEATS / 2], size); // on an empty cache: one cell per token
        return next < sizes.size();
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
    private List<BatchToken> tokens(int count) {
        int sequences = context.maxSequences();
        List<BatchToken> batch = new ArrayList<>(count);
        for (int i = 0; i < count; i++) batch.add(new BatchToken(token, i / sequences, i % sequences, true));
        return batch;
    }
}
