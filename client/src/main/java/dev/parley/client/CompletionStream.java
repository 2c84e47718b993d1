package dev.parley.client;

import dev.parley.api.TextCompletion;

/**
 * The events of one streaming legacy completion, each a {@link TextCompletion} holding a piece of text.
 * Ends, fails and closes like {@link ChatStream}.
 *
 * <p>Not thread-safe, except {@link #close}.
 */
public interface CompletionStream extends Iterable<TextCompletion>, AutoCloseable {

    ResponseInfo info();

    /** Stops reading and cancels the request. Safe to call more than once; never throws. */
    @Override
    void close();
}
