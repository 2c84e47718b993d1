package dev.parley.client;

import dev.parley.api.ChatCompletionChunk;

/**
 * The chunks of one streaming chat answer, read as they arrive. Iterate it once, in try-with-resources;
 * the iterator ends at {@code data: [DONE]} and throws an {@link dev.parley.api.ApiException} for an
 * error event and an {@link IncompleteStreamException} when the stream breaks before {@code [DONE]}.
 *
 * <p>Not thread-safe, except {@link #close}, which may be called from another thread to stop a reader.
 */
public interface ChatStream extends Iterable<ChatCompletionChunk>, AutoCloseable {

    /** The status and headers of the response, known before the first chunk. */
    ResponseInfo info();

    /**
     * Reads the rest of the stream and merges every chunk into the whole answer (see
     * {@link ChatAccumulator}), then closes the stream. Counts usage with the client's
     * {@link UsageCounter} when the server sent none.
     */
    AccumulatedChat accumulate();

    /** Stops reading and cancels the request. Safe to call more than once; never throws. */
    @Override
    void close();
}
