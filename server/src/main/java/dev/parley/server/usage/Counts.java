package dev.parley.server.usage;

/**
 * Requests and tokens added up. Sums saturate at {@link Long#MAX_VALUE} instead of wrapping: a ledger that
 * has run long enough to get there says "at least this much", never a negative count.
 */
public record Counts(long requests, long promptTokens, long completionTokens) {
    public static final Counts ZERO = new Counts(0, 0, 0);

    /** One request that read {@code promptTokens} and wrote {@code completionTokens}. */
    public static Counts ofRequest(long promptTokens, long completionTokens) {
        return new Counts(1, Math.max(0, promptTokens), Math.max(0, completionTokens));
    }

    public Counts plus(Counts other) {
        return new Counts(
                add(requests, other.requests),
                add(promptTokens, other.promptTokens),
                add(completionTokens, other.completionTokens));
    }

    static long add(long a, long b) {
        long sum = a + b;
        // Both non-negative: an overflow shows as a negative sum.
        return sum < 0 ? Long.MAX_VALUE : sum;
    }

    /** What these tokens cost at {@code price}, in USD; 0 without a price. */
    public double cost(Price price) {
        return price == null ? 0 : price.cost(promptTokens, completionTokens);
    }
}
