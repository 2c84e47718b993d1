package dev.parley.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.Json;
import dev.parley.sse.SseEvent;
import dev.parley.sse.SseParser;
import dev.parley.sse.SseWriter;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Optional;

/**
 * Reads one OpenAI event stream: each {@code data:} event a JSON value of type {@code T}, until
 * {@code data: [DONE]}. An {@code {"error":{…}}} event throws its {@link ApiException}; a stream that ends
 * or breaks before {@code [DONE]} throws {@link IncompleteStreamException}. Either way the stream is then
 * closed. {@link #close} may come from another thread: the reader then ends quietly.
 */
final class EventReader<T> implements Iterator<T>, AutoCloseable {
    private final InputStream body;
    private final BufferedReader lines;
    private final SseParser parser = new SseParser();
    private final Class<T> type;
    private final ResponseInfo info;
    private volatile boolean closed;
    private boolean done;
    private T next;
    private int received;

    EventReader(InputStream body, Class<T> type, ResponseInfo info) {
        this.body = body;
        // BufferedReader ends a line at CR, LF or CRLF, and returns at a lone CR without waiting for more.
        this.lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
        this.type = type;
        this.info = info;
    }

    @Override
    public boolean hasNext() {
        if (next != null) return true;
        if (done || closed) return false;
        try {
            next = read();
            return next != null;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public T next() {
        if (!hasNext()) throw new NoSuchElementException();
        T value = next;
        next = null;
        return value;
    }

    /** Cancels the request by closing its body; never throws. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            body.close();
        } catch (IOException | RuntimeException e) {
            // Closing is best effort: the connection is dropped either way, and close must not throw.
        }
    }

    /** The next value, or null at [DONE] or after a close. */
    private T read() {
        while (true) {
            String line;
            try {
                line = lines.readLine();
            } catch (IOException e) {
                if (closed) return null;
                throw new IncompleteStreamException(
                        "the stream broke after %d events, before [DONE]: %s%s"
                                .formatted(received, TransportException.describe(e), request()),
                        e);
            }
            if (line == null) {
                if (closed) return null;
                throw new IncompleteStreamException(
                        "the stream ended after %d events without [DONE]: the answer is incomplete%s"
                                .formatted(received, request()),
                        null);
            }
            Optional<SseEvent> event = parser.line(line);
            if (event.isEmpty()) continue;
            String data = event.get().data();
            if (data.equals(SseWriter.DONE)) {
                done = true;
                close();
                return null;
            }
            received++;
            return decode(data);
        }
    }

    /** Names the request in a message, when the server gave it an id. */
    private String request() {
        return info.requestId() == null ? "" : " (request " + info.requestId() + ")";
    }

    private T decode(String data) {
        try {
            JsonNode node = Json.mapper().readTree(data);
            JsonNode error = node.get("error");
            if (error != null && error.isObject()) {
                ApiError apiError = ErrorBodies.parse(data);
                if (apiError != null) throw ApiException.of(ErrorBodies.statusOf(apiError), apiError, info.headers());
            }
            return Json.mapper().treeToValue(node, type);
        } catch (JsonProcessingException e) {
            throw new TransportException(
                    "event %d of the stream is not a %s: %s".formatted(received, type.getSimpleName(), data), e);
        }
    }
}
