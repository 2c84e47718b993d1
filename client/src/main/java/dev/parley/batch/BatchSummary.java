package dev.parley.batch;

/**
 * How a run ended.
 *
 * @param progress the counts at the end
 * @param usage what the run spent of its budget and what the limits offered over the run
 * @param stoppedBy why the run stopped before the end (an invalid API key, a used-up quota); null when it
 *     went through the input
 */
public record BatchSummary(BatchProgress progress, Budget.Usage usage, String stoppedBy) {

    /** The limit that bound the run: the one of which the larger share was used. */
    public boolean tokensBound() {
        return usage.tokenShare() > usage.requestShare();
    }

    /** The share of the binding limit used over the run, 0 to 1 (a little over 1 is the first burst's rounding). */
    public double utilisation() {
        return Math.max(usage.requestShare(), usage.tokenShare());
    }

    /** The share of attempts answered 429, 0 to 1. */
    public double rateLimitedShare() {
        return progress.attempts() == 0 ? 0 : (double) progress.rateLimited() / progress.attempts();
    }

    /** One line for a log or a terminal. */
    public String describe() {
        var p = progress;
        String limit = tokensBound()
                ? "%.1f%% of %,.0f TPM".formatted(100 * usage.tokenShare(), usage.tokensPerMinute())
                : Double.isInfinite(usage.requestsPerMinute())
                        ? "no limit"
                        : "%.1f%% of %,.0f RPM".formatted(100 * usage.requestShare(), usage.requestsPerMinute());
        return "%d succeeded, %d failed, %d invalid, %d already done%s; %d requests in %.1f s (%,.0f req/min, %,.0f tok/min); binding limit: %s; answered 429: %.1f%% (%d of %d)%s"
                .formatted(
                        p.succeeded(),
                        p.failed(),
                        p.invalid(),
                        p.alreadyDone(),
                        p.alreadyFailed() == 0 ? "" : " (%d of them failed)".formatted(p.alreadyFailed()),
                        p.attempts(),
                        p.elapsed().toMillis() / 1000.0,
                        p.requestsPerMinute(),
                        p.tokensPerMinute(),
                        limit,
                        100 * rateLimitedShare(),
                        p.rateLimited(),
                        p.attempts(),
                        stoppedBy == null ? "" : "; stopped: " + stoppedBy);
    }
}
