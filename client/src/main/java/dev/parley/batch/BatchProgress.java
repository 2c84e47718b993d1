package dev.parley.batch;

import java.time.Duration;

/**
 * Where a run stands.
 *
 * @param lines the input's lines, blank ones included
 * @param alreadyDone lines skipped because an earlier run wrote their results
 * @param alreadyFailed of those, the ones written as failed (on errors that the same request meets again;
 *     {@code retryFailed} sends them again)
 * @param succeeded results written with a response
 * @param failed results written with a final error
 * @param retryable of the failed, those that failed on errors that may pass on another try (a lost
 *     connection, 408, 409, 429, 5xx) until their attempts ran out: a rerun sends them again
 * @param invalid lines that are not valid requests, written as errors without being sent
 * @param inFlight requests sent or waiting to be (re)sent
 * @param attempts HTTP requests sent, retries included
 * @param rateLimited attempts answered 429
 * @param tokens tokens used, by the responses' {@code usage} (the estimate where none came)
 * @param elapsed since the run started
 */
public record BatchProgress(
        long lines,
        long alreadyDone,
        long alreadyFailed,
        long succeeded,
        long failed,
        long retryable,
        long invalid,
        long inFlight,
        long attempts,
        long rateLimited,
        long tokens,
        Duration elapsed) {

    /** Results of requests written by this run (invalid lines not counted). */
    public long written() {
        return succeeded + failed;
    }

    public double requestsPerMinute() {
        return perMinute(attempts);
    }

    public double tokensPerMinute() {
        return perMinute(tokens);
    }

    /**
     * The time left at this run's pace so far, for the lines not yet accounted for; null until the first
     * result.
     */
    public Duration eta() {
        long left = lines - alreadyDone - invalid - written();
        if (written() == 0 || left < 0) return null;
        return Duration.ofNanos((long) ((double) elapsed.toNanos() / written() * left));
    }

    private double perMinute(long count) {
        double minutes = elapsed.toNanos() / 60e9;
        return minutes <= 0 ? 0 : count / minutes;
    }
}
