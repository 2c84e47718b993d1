package dev.parley.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.Json;
import dev.parley.sse.Deadlines;
import dev.parley.sse.SseEvent;
import dev.parley.sse.SseParser;
import dev.parley.sse.SseWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Reads one OpenAI event stream: each {@code data:} event a JSON value of type {@code T}, until
 * {@code data: [DONE]}. An {@code {"error":{…}}} event throws its {@link ApiException}; a stream that ends
 * or breaks before {@code [DONE]} throws {@link IncompleteStreamException}. A stream of the Responses API's events
 * ({@link #responses}) ends instead after {@code response.completed} or {@code response.incomplete}, and its {@code
 * error} and {@code response.failed} events throw. Either way the stream is then
 * closed. {@link #close} may come from another thread: the reader then ends quietly. A stream that receives
 * nothing (not even a comment) for its idle time is closed by {@link #IDLE}'s thread and throws
 * {@link IncompleteStreamException}, rather than wait for ever on a server that has stopped.
 */
final class EventReader<T> implements Iterator<T>, AutoCloseable, Deadlines.Watched {
    /** Ends the process's streams that have received nothing for their idle time. */
    private static final Deadlines IDLE = new Deadlines("parley-stream-idle");

    private final InputStream body;
    private final Reader text;
    private final char[] buffer = new char[8192];
    private final ArrayDeque<SseEvent> arrived = new ArrayDeque<>(); // parsed, not yet read
    private final SseParser parser = new SseParser(); // bounded: a line without an end is refused, not held
    private final Class<T> type;
    private final ResponseInfo info;
    private volatile boolean closed;
    final long idleNanos; // 0: no limit
    volatile long lastRead = System.nanoTime();
    private volatile boolean idle; // closed by IDLE's thread after idleNanos without a byte
    private boolean done;
    private T next;
    private int received;
    private final boolean responses; // the Responses API's events: no [DONE], a last event instead

    EventReader(InputStream body, Class<T> type, ResponseInfo info, Duration idleTimeout) {
        this(body, type, info, idleTimeout, false);
    }

    /** A reader of the Responses API's events, each a JSON object. */
    static EventReader<ObjectNode> responses(InputStream body, ResponseInfo info, Duration idleTimeout) {
        return new EventReader<>(body, ObjectNode.class, info, idleTimeout, true);
    }

    private EventReader(InputStream body, Class<T> type, ResponseInfo info, Duration idleTimeout, boolean responses) {
        this.responses = responses;
        this.body = body;
        // The parser ends a line at CR, LF or CRLF; a read returns what has arrived without waiting for more.
        this.text = new InputStreamReader(body, StandardCharsets.UTF_8);
        this.type = type;
        this.info = info;
        this.idleNanos = idleTimeout.toNanos();
        if (idleNanos > 0) IDLE.watch(this);
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
        if (idleNanos > 0) IDLE.forget(this);
        try {
            body.close();
        } catch (IOException | RuntimeException e) {
            // Closing is best effort: the connection is dropped either way, and close must not throw.
        }
    }

    /** The next value, or null at [DONE] or after a close. */
    private T read() {
        while (true) {
            SseEvent event = arrived.poll();
            if (event == null) {
                int read;
                try {
                    read = text.read(buffer);
                    lastRead = System.nanoTime();
                    if (read > 0) arrived.addAll(parser.feed(CharBuffer.wrap(buffer, 0, read)));
                } catch (IOException | SseParser.TooLongException e) {
                    if (idle) throw idle(e);
                    if (closed) return null;
                    String why = e instanceof IOException io ? TransportException.describe(io) : e.getMessage();
                    throw new IncompleteStreamException(
                            "the stream broke after %d events, before %s: %s%s"
                                    .formatted(received, end(), why, request()),
                            e);
                }
                if (read < 0) {
                    if (idle) throw idle(null);
                    if (closed) return null;
                    throw new IncompleteStreamException(
                            "the stream ended after %d events without %s: the answer is incomplete%s"
                                    .formatted(received, end(), request()),
                            null);
                }
                continue;
            }
            String data = event.data();
            if (data.equals(SseWriter.DONE)) {
                done = true;
                close();
                return null;
            }
            received++;
            T value = decode(data);
            if (responses && last((ObjectNode) value)) {
                done = true; // what follows, if anything, is not read
                close();
            }
            return value;
        }
    }

    /** What ends a stream whole. */
    private String end() {
        return responses ? "response.completed" : "[DONE]";
    }

    /**
     * Whether a Responses API event is the stream's last: completed or incomplete. An error ({@code error}, or {@code
     * response.failed} after it) throws, as an error event of a chat stream does.
     */
    private boolean last(ObjectNode event) {
        String type = event.path("type").asText();
        JsonNode failure = switch (type) {
            case "error" -> event;
            case "response.failed" -> event.path("response").path("error");
            default -> null;
        };
        if (failure != null) {
            var error = new ApiError(
                    failure.path("message").asText("the response failed"),
                    ApiError.SERVER_ERROR,
                    failure.path("param").isTextual() ? failure.path("param").asText() : null,
                    failure.path("code").isTextual() ? failure.path("code").asText() : null);
            throw ApiException.of(ErrorBodies.statusOf(error), error, info.headers());
        }
        return type.equals("response.completed") || type.equals("response.incomplete");
    }

    /** When the stream is idle for good, unless a byte comes first. */
    @Override
    public long due() {
        return lastRead + idleNanos;
    }

    /** On {@link #IDLE}'s thread, once nothing came for the idle time: ends the stream (its read fails). */
    @Override
    public long fire(long now) {
        idle = true;
        try {
            body.close();
        } catch (IOException | RuntimeException e) {
            // the connection is dropped either way
        }
        return Deadlines.FORGET;
    }

    private IncompleteStreamException idle(Exception cause) {
        return new IncompleteStreamException(
                "the stream received nothing for %s s after %d events, before %s: the server stopped sending%s"
                        .formatted(
                                java.math.BigDecimal.valueOf(idleNanos / 1_000_000)
                                        .movePointLeft(3)
                                        .stripTrailingZeros()
                                        .toPlainString(),
                                received,
                                end(),
                                request()),
                cause);
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
