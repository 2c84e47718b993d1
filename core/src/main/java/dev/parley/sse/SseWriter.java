package dev.parley.sse;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes server-sent events to an {@link Appendable} (a servlet writer, a {@link StringBuilder}). Data
 * with line breaks (CR, LF or CRLF) becomes one {@code data:} line per line, which {@link SseParser}
 * joins back with {@code \n}. Does not flush: the caller flushes after each event it wants sent now.
 *
 * <p>Not thread-safe. I/O errors of the target are thrown as {@link UncheckedIOException}.
 */
public final class SseWriter {

    /** The {@code data} of the event that ends an OpenAI stream. */
    public static final String DONE = "[DONE]";

    private final Appendable out;

    public SseWriter(Appendable out) {
        this.out = out;
    }

    /** The bytes of one event, as {@link #write} sends them. */
    public static String format(SseEvent event) {
        StringBuilder text = new StringBuilder();
        if (event.event() != null) text.append("event: ").append(event.event()).append('\n');
        if (event.id() != null) text.append("id: ").append(event.id()).append('\n');
        if (event.retry() != null) text.append("retry: ").append(event.retry()).append('\n');
        for (String line : event.data().split("\r\n|\r|\n", -1)) {
            text.append("data: ").append(line).append('\n');
        }
        return text.append('\n').toString();
    }

    /** Writes {@code data: …\n\n}. */
    public SseWriter data(String data) {
        return write(SseEvent.data(data));
    }

    public SseWriter write(SseEvent event) {
        return append(format(event));
    }

    /** Writes {@code data: [DONE]\n\n}, the last event of an OpenAI stream. */
    public SseWriter done() {
        return data(DONE);
    }

    /** Writes a comment line, e.g. a keep-alive ping; parsers ignore it. Line breaks become spaces. */
    public SseWriter comment(String text) {
        return append(":" + (text.isEmpty() ? "" : " " + text.replaceAll("[\r\n]+", " ")) + "\n\n");
    }

    private SseWriter append(String text) {
        try {
            out.append(text);
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
