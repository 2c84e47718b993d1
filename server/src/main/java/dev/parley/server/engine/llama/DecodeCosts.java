package dev.parley.server.engine.llama;

import java.util.Arrays;

/**
 * What one decode of {@code n} tokens costs on this machine, learned while serving: the median of the last
 * {@link #KEPT} measured durations per batch size (one decode slowed by another process moves nothing),
 * seeded by a short {@link Calibration} in the scheduler's first idle moments. The scheduler asks it how many
 * of the ready sequences to decode together.
 *
 * <p>Why it exists: llama.cpp's cost per token is not monotone in the batch size. On the 2-core CPU build
 * of b4916, a 135M-shape Q8_0 model decodes 1 token in 9.3 ms but 2–4 tokens at 13–15 ms each, and only
 * from about 8 tokens does batching win (4.9 ms each). Batching blindly would serve four streams slower
 * than serving them one after another.
 *
 * <p>Sizes never measured are estimated from their measured neighbours (linear between two, at the
 * neighbour's cost per token beyond the last one). A size that has not been measured for a while is
 * tried again when it is the natural choice (all ready sequences), so one noisy calibration on a busy
 * machine does not rule batching out forever; while a smaller group wins, all ready sequences together are
 * measured again every {@link #PROBE_STEPS} steps.
 *
 * <p>A decode also costs more the fuller the KV cache: every token attends over its sequence's cells up to
 * the highest one in use among the sequences decoded with it (llama.cpp pads that to 256), so a decode of
 * long answers costs more than one of short ones. Each estimate therefore remembers how many cells
 * were in use when it was measured. A group smaller than all the ready sequences is chosen only on an
 * estimate taken with the cache about as full as now ({@link #comparable}): measured on an emptier cache,
 * it would look cheaper than it is, and the scheduler would leave sequences out of steps for nothing. Such
 * a size that would win is measured again now and then ({@link #PROBE_STEPS}), so a real dip in the curve
 * is still found at any fill.
 *
 * <p>Not thread-safe: owned by the scheduler thread.
 */
final class DecodeCosts {
    /** Measurements kept per size; the estimate is their median (the lower of the middle two when even). */
    static final int KEPT = 5;
    /** Steps after which an unused size is measured again. */
    static final long STALE_STEPS = 512;
    /** Steps between two measurements of a size whose estimate was taken on a cache of another fill. */
    static final long PROBE_STEPS = 64;
    /** Cells of the cache that cost alike whatever their use: llama.cpp pads the cells attended over to 256. */
    static final long PAD_CELLS = 256;
    /**
     * How many times the tokens per second of all ready sequences together a smaller group must promise to be
     * chosen instead. Estimates of neighbouring sizes wander apart by 10–20% on a busy machine while their real
     * costs are alike, and each step that leaves sequences out on such noise is lost; the dips worth taking
     * (one token alone against two to four on some builds) are 1.4 to 2.3 times.
     */
    static final double MARGIN = 1.25;

    private final double[] nanos; // index n: estimated nanoseconds for a decode of n tokens; 0 when unknown
    private final double[] cellsAt; // index n: the fewest cells in use among the measurements behind nanos[n]
    private final long[][] kept; // index n: the last KEPT measurements of size n, oldest overwritten first
    private final long[][] keptCells; // cells in use at each of them
    private final int[] count; // measurements of size n since its estimate was last replaced whole
    private final long[] measuredAt; // step of the last measurement per size
    private long steps;
    private long probedAt = -PROBE_STEPS;

    DecodeCosts(int capacity) {
        this.nanos = new double[capacity + 1];
        this.cellsAt = new double[capacity + 1];
        this.kept = new long[capacity + 1][KEPT];
        this.keptCells = new long[capacity + 1][KEPT];
        this.count = new int[capacity + 1];
        this.measuredAt = new long[capacity + 1];
    }

    int capacity() {
        return nanos.length - 1;
    }

    /**
     * Folds in one measured decode of {@code tokens} tokens that took {@code elapsedNanos} with {@code cells}
     * cells of the KV cache in use once it was done. A size last measured {@link #STALE_STEPS} ago or more, or
     * on a cache of another fill, takes the new measurement as it is: the old estimate says how the machine and
     * the cache were then (often a start-up calibration skewed by whatever else was starting), and outvoting it
     * measurement by measurement would keep a skewed size out of use for many more periods.
     */
    void record(int tokens, long elapsedNanos, long cells) {
        if (tokens < 1 || tokens > capacity() || elapsedNanos <= 0) return;
        steps++;
        boolean replace = nanos[tokens] == 0
                || steps - measuredAt[tokens] > STALE_STEPS
                || !comparable(cellsAt[tokens], cells)
                || !comparable(cells, cellsAt[tokens]);
        if (replace) count[tokens] = 0;
        kept[tokens][count[tokens] % KEPT] = elapsedNanos;
        keptCells[tokens][count[tokens] % KEPT] = cells;
        count[tokens]++;
        int n = Math.min(count[tokens], KEPT);
        long[] sorted = Arrays.copyOf(kept[tokens], n);
        Arrays.sort(sorted);
        nanos[tokens] = sorted[(n - 1) / 2];
        long fewest = Long.MAX_VALUE;
        for (int i = 0; i < n; i++) fewest = Math.min(fewest, keptCells[tokens][i]);
        cellsAt[tokens] = fewest;
        measuredAt[tokens] = steps;
    }

    /**
     * Whether an estimate measured with {@code measured} cells in use stands for a decode with {@code now} in use:
     * at most a quarter (and at least {@link #PAD_CELLS}) fewer. Measured on a fuller cache is always taken: it
     * only overstates the cost.
     */
    static boolean comparable(double measured, double now) {
        return measured >= now - Math.max(PAD_CELLS, now / 4);
    }

    /** Estimated nanoseconds for a decode of {@code tokens} tokens; with no measurement at all, one per token. */
    double estimate(int tokens) {
        if (nanos[tokens] > 0) return nanos[tokens];
        int below = measuredBelow(tokens);
        int above = measuredAbove(tokens);
        if (below > 0 && above > 0) {
            return nanos[below] + (nanos[above] - nanos[below]) * (tokens - below) / (above - below);
        }
        if (below > 0) return nanos[below] / below * tokens;
        if (above > 0) return nanos[above] / above * tokens;
        return tokens;
    }

    /** Cells in use when the measurements behind {@link #estimate} were taken: the emptier of two neighbours. */
    private double basis(int tokens) {
        if (nanos[tokens] > 0) return cellsAt[tokens];
        int below = measuredBelow(tokens);
        int above = measuredAbove(tokens);
        if (below > 0 && above > 0) return Math.min(cellsAt[below], cellsAt[above]);
        if (below > 0) return cellsAt[below];
        if (above > 0) return cellsAt[above];
        return Double.MAX_VALUE; // nothing measured: every size looks alike, which favours none
    }

    private int measuredBelow(int tokens) {
        int below = tokens - 1;
        while (below >= 1 && nanos[below] == 0) below--;
        return below;
    }

    private int measuredAbove(int tokens) {
        int above = tokens + 1;
        while (above <= capacity() && nanos[above] == 0) above++;
        return above <= capacity() ? above : 0;
    }

    /**
     * How many of {@code ready} waiting sequences to decode in the next step, with {@code cells} cells of the
     * cache in use: the group size with the most tokens per second, so never worse than one at a time by more
     * than the margin. Ties go to the larger group (fewer steps, less waiting). A smaller group than all
     * {@code ready} must promise {@link #MARGIN} times their rate, and counts only with an estimate taken on a
     * {@link #comparable} cache; one that would win on an older estimate is chosen once every
     * {@link #PROBE_STEPS} to measure it again. All {@code ready} together are chosen once when their estimate
     * is stale, or every {@link #PROBE_STEPS} while a smaller group wins.
     */
    int bestGroup(int ready, long cells) {
        if (ready <= 1) return ready;
        int limit = Math.min(ready, capacity());
        if (steps - measuredAt[limit] > STALE_STEPS && nanos[limit] > 0) return limit;
        int best = limit;
        double bestRate = limit / estimate(limit) * MARGIN;
        int probe = 0;
        double probeRate = bestRate;
        for (int k = limit - 1; k >= 1; k--) {
            double rate = k / estimate(k);
            if (comparable(basis(k), cells)) {
                if (rate > bestRate) {
                    best = k;
                    bestRate = rate;
                }
            } else if (rate > probeRate) {
                probe = k;
                probeRate = rate;
            }
        }
        if (probe > 0 && probeRate > bestRate && steps - probedAt >= PROBE_STEPS) {
            probedAt = steps;
            return probe;
        }
        if (best != limit && steps - measuredAt[limit] >= PROBE_STEPS) return limit;
        return best;
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("DecodeCosts[ms per token:");
        for (int n = 1; n <= capacity(); n++) {
            if (nanos[n] > 0) out.append(' ').append(n).append('=').append("%.2f".formatted(nanos[n] / n / 1e6));
        }
        return out.append(']').toString();
    }
}
