package dev.parley.client;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;

/**
 * The events of one streamed Responses API answer ({@code response.created}, {@code response.output_text.delta}, …),
 * each a JSON object, read as they arrive. Iterate it once, in try-with-resources; the iterator ends after {@code
 * response.completed} or {@code response.incomplete}, and throws an {@link dev.parley.api.ApiException} for an
 * {@code error} or {@code response.failed} event and an {@link IncompleteStreamException} when the stream breaks
 * before its end.
 *
 * <p>Not thread-safe, except {@link #close}, which may be called from another thread to stop a reader.
 */
public final class ResponsesStream implements Iterable<ObjectNode>, AutoCloseable {
    private final EventReader<ObjectNode> events;
    private final ResponseInfo info;
    private boolean iterated;

    ResponsesStream(EventReader<ObjectNode> events, ResponseInfo info) {
        this.events = events;
        this.info = info;
    }

    /** The status and headers of the response, known before the first event. */
    public ResponseInfo info() {
        return info;
    }

    @Override
    public Iterator<ObjectNode> iterator() {
        if (iterated) throw new IllegalStateException("a stream can be read only once");
        iterated = true;
        return events;
    }

    /**
     * Instead of iterating: reads the stream to its end and answers the finished {@code response} object (as {@code
     * response.completed} or {@code response.incomplete} carries it), then closes the stream. Throws what the iterator
     * throws.
     */
    public ObjectNode response() {
        try (this) {
            ObjectNode last = null;
            for (ObjectNode event : this) last = event;
            if (last == null || !(last.get("response") instanceof ObjectNode response))
                throw new IncompleteStreamException("the stream ended without a response", null);
            return response;
        }
    }

    /** Stops reading and cancels the request. Safe to call more than once; never throws. */
    @Override
    public void close() {
        events.close();
    }
}
