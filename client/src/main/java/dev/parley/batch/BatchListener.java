package dev.parley.batch;

import java.time.Duration;

/**
 * Hears what a {@link BatchRunner} does, as it happens; every method does nothing unless overridden.
 * Called from the runner's threads, so implementations must be thread-safe and quick.
 */
public interface BatchListener {
    BatchListener NONE = new BatchListener() {};

    /** An input line that is not a valid request; it is written as an error, and nothing is sent for it. */
    default void invalidLine(long line, String message) {}

    /** Something the user should know that does not stop the run, e.g. a cut-off results line. */
    default void warning(String message) {}

    /** A result was written. */
    default void written(BatchResult result) {}

    /** A 429 paused every request for {@code wait}. */
    default void paused(Duration wait, String message) {}
}
