package dev.parley.server.engine.llama;

/**
 * What one decode of {@code n} tokens costs on this machine, learned while serving: an exponentially
 * weighted mean of measured durations per batch size, seeded by a short {@link Calibration} in the
 * scheduler's first idle moments. The scheduler asks it how many of the ready sequences to decode together.
 *
 * <p>Why it exists: llama.cpp's cost per token is not monotone in the batch size. On the 2-core CPU build
 * of b4916, a 135M-shape Q8_0 model decodes 1 token in 9.3 ms but 2–4 tokens at 13–15 ms each, and only
 * from about 8 tokens does batching win (4.9 ms each). Batching blindly would serve four streams slower
 * than serving them one after another.
 *
 * <p>Sizes never measured are estimated from their measured neighbours (linear between two, at the
 * neighbour's cost per token beyond the last one). A size that has not been measured for a while is
 * tried again when it is the natural choice (all ready sequences), so one noisy calibration on a busy
 * machine does not rule batching out forever.
 *
 * <p>Not thread-safe: owned by the scheduler thread.
 */
final class DecodeCosts {
    /** Weight of a new measurement: about the last ten decodes of a size shape its estimate. */
    static final double WEIGHT = 0.2;
    /** Steps after which an unused size is measured again. */
    static final long STALE_STEPS = 512;

    private final double[] nanos; // index n: estimated nanoseconds for a decode of n tokens; 0 when unknown
    private final long[] measuredAt; // step of the last measurement per size
    private long steps;

    DecodeCosts(int capacity) {
        this.nanos = new double[capacity + 1];
        this.measuredAt = new long[capacity + 1];
    }

    int capacity() {
        return nanos.length - 1;
    }

    /**
     * Folds in one measured decode of {@code tokens} tokens that took {@code elapsedNanos}. A size last measured
     * {@link #STALE_STEPS} ago or more takes the new measurement as it is: the old estimate says how the machine
     * was then (often a start-up calibration skewed by whatever else was starting), and nudging it by one
     * weighted step would keep a skewed size out of use for many more stale periods.
     */
    void record(int tokens, long elapsedNanos) {
        if (tokens < 1 || tokens > capacity() || elapsedNanos <= 0) return;
        steps++;
        boolean stale = steps - measuredAt[tokens] > STALE_STEPS;
        nanos[tokens] =
                nanos[tokens] == 0 || stale ? elapsedNanos : (1 - WEIGHT) * nanos[tokens] + WEIGHT * elapsedNanos;
        measuredAt[tokens] = steps;
    }

    /** Estimated nanoseconds for a decode of {@code tokens} tokens; with no measurement at all, one per token. */
    double estimate(int tokens) {
        if (nanos[tokens] > 0) return nanos[tokens];
        int below = tokens - 1;
        while (below >= 1 && nanos[below] == 0) below--;
        int above = tokens + 1;
        while (above <= capacity() && nanos[above] == 0) above++;
        boolean hasBelow = below >= 1;
        boolean hasAbove = above <= capacity();
        if (hasBelow && hasAbove) {
            return nanos[below] + (nanos[above] - nanos[below]) * (tokens - below) / (above - below);
        }
        if (hasBelow) return nanos[below] / below * tokens;
        if (hasAbove) return nanos[above] / above * tokens;
        return tokens;
    }

    /**
     * How many of {@code ready} waiting sequences to decode in the next step: the group size with the most
     * tokens per second, so never worse than one at a time. Ties go to the larger group (fewer steps, less
     * waiting). A stale estimate for all {@code ready} together is refreshed by choosing it once.
     */
    int bestGroup(int ready) {
        if (ready <= 1) return ready;
        int limit = Math.min(ready, capacity());
        if (steps - measuredAt[limit] > STALE_STEPS && nanos[limit] > 0) return limit;
        int best = 1;
        double bestRate = 1 / estimate(1);
        for (int k = 2; k <= limit; k++) {
            double rate = k / estimate(k);
            if (rate >= bestRate) {
                best = k;
                bestRate = rate;
            }
        }
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
