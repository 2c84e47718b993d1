package dev.parley.sse;

import java.util.Objects;

/**
 * One dispatched server-sent event. {@code event} is null when no {@code event:} field was sent (the
 * standard's default type {@code message}); {@code id} is the last event id seen on the stream so far,
 * null before any; {@code retry} is the reconnection time in milliseconds sent since the previous
 * event, null when none was.
 */
public record SseEvent(String event, String id, String data, Long retry) {

    public SseEvent {
        Objects.requireNonNull(data, "data");
    }

    /** A plain {@code data:} event, the only kind OpenAI streams send. */
    public static SseEvent data(String data) {
        return new SseEvent(null, null, data, null);
    }
}
