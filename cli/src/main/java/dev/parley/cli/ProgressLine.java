package dev.parley.cli;

import dev.parley.batch.BatchProgress;
import java.time.Duration;

/**
 * How a batch's progress reads: a bar redrawn in place on a terminal, a plain line for a log.
 * Stateless.
 */
final class ProgressLine {
    private static final int WIDTH = 24;

    private ProgressLine() {}

    /** {@code [#########...............]  120/400  done 118  failed 2  in flight 50  3,000 req/min  330,000 tok/min  ETA 0:05}. */
    static String bar(BatchProgress p) {
        long accounted = p.alreadyDone() + p.invalid() + p.written();
        int filled = p.lines() == 0 ? WIDTH : (int) Math.min(WIDTH, WIDTH * accounted / p.lines());
        return "[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + counts(p);
    }

    /** The same without the bar, for a log line. */
    static String counts(BatchProgress p) {
        long accounted = p.alreadyDone() + p.invalid() + p.written();
        return "%d/%d  done %d  failed %d  in flight %d  %,.0f req/min  %,.0f tok/min  ETA %s"
                .formatted(
                        accounted,
                        p.lines(),
                        p.succeeded() + p.alreadyDone() - p.alreadyFailed(),
                        p.failed() + p.alreadyFailed(),
                        p.inFlight(),
                        p.requestsPerMinute(),
                        p.tokensPerMinute(),
                        clock(p.eta()));
    }

    static String clock(Duration d) {
        if (d == null) return "-";
        long s = d.toSeconds();
        return s >= 3600
                ? "%d:%02d:%02d".formatted(s / 3600, s / 60 % 60, s % 60)
                : "%d:%02d".formatted(s / 60, s % 60);
    }
}
