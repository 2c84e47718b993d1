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
     * Instead of iterating: reads the whole stream and merges every chunk into the answer (see
     * {@link ChatAccumulator}), then closes the stream. Counts usage with the client's
     * {@link UsageCounter} when the server sent none. Throws what the iterator throws;
     * {@link IllegalStateException} when the stream was already iterated (feed a {@link ChatAccumulator}
     * while iterating instead).
     */
    AccumulatedChat accumulate();

    /** Stops reading and cancels the request. Safe to call more than once; never throws. */
    @Override
    void close();
}
