package dev.parley.sse;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns the lines of a {@code text/event-stream} into {@link SseEvent}s, following the WHATWG
 * "interpreting an event stream" rules: comment lines ({@code :…}, used as keep-alive pings) and unknown
 * fields are ignored; {@code data} lines are joined with {@code \n}; a field without a colon has an empty
 * value; one space after the colon is dropped; an event is dispatched on a blank line, and not at all
 * when no {@code data} line came; the last event id persists across events; a {@code retry} that is not
 * all digits is ignored.
 *
 * <p>Feed it either whole lines ({@link #line}, as {@link java.io.BufferedReader#readLine} gives them) or
 * arbitrary pieces of text ({@link #feed}), which may end with CR, LF or CRLF anywhere, even split across
 * pieces. An event still open when the stream ends is dropped, as the standard says: call nothing at the
 * end. Not thread-safe: one parser per stream.
 */
public final class SseParser {

    /** The longest event (or line) a parser holds by default: 16 Mi characters, far beyond any API's chunk. */
    public static final int MAX_EVENT_CHARS = 16 << 20;

    /** A line or an event longer than the parser holds: a broken or hostile peer, not an answer. */
    public static final class TooLongException extends IllegalStateException {
        TooLongException(int max) {
            super("an event of the stream is longer than %d characters".formatted(max));
        }
    }

    private final int maxChars;
    private final StringBuilder data = new StringBuilder();
    private final StringBuilder pending = new StringBuilder(); // text of a line not yet terminated
    private boolean dataSeen;
    private String event;
    private String lastId;
    private Long retry;
    private boolean afterCr; // the last piece ended with CR: an LF that starts the next one is its pair
    private boolean started; // a byte-order mark is dropped only at the very start

    /** A parser that holds events of up to {@link #MAX_EVENT_CHARS}. */
    public SseParser() {
        this(MAX_EVENT_CHARS);
    }

    /** A parser that refuses, with {@link TooLongException}, a line or an event longer than {@code maxChars}. */
    public SseParser(int maxChars) {
        if (maxChars < 1) throw new IllegalArgumentException("maxChars must be at least 1");
        this.maxChars = maxChars;
    }

    /** Every event of a complete stream text; an unterminated last event is dropped. */
    public static List<SseEvent> parseAll(String text) {
        return new SseParser().feed(text);
    }

    /** Feeds a piece of the stream; answers the events it completed, in order. */
    public List<SseEvent> feed(CharSequence piece) {
        List<SseEvent> events = new ArrayList<>();
        int i = 0;
        int length = piece.length();
        if (!started && length > 0) {
            started = true;
            if (piece.charAt(0) == '\uFEFF') i = 1;
        }
        while (i < length) {
            char c = piece.charAt(i);
            if (afterCr && c == '\n') {
                afterCr = false;
                i++;
                continue;
            }
            afterCr = false;
            int end = i; // the line's text runs to the next CR or LF, appended whole rather than char by char
            while (end < length && piece.charAt(end) != '\r' && piece.charAt(end) != '\n') end++;
            if (end == length) {
                if ((long) pending.length() + (end - i) > maxChars) throw new TooLongException(maxChars);
                pending.append(piece, i, end);
                break;
            }
            String text;
            if (pending.isEmpty()) {
                text = piece.subSequence(i, end).toString();
            } else {
                text = pending.append(piece, i, end).toString();
                pending.setLength(0);
            }
            afterCr = piece.charAt(end) == '\r';
            line(text).ifPresent(events::add);
            i = end + 1;
        }
        return events;
    }

    /** Feeds one line, without its terminator; answers the event a blank line dispatches. */
    public Optional<SseEvent> line(String line) {
        if (!started && line.startsWith("\uFEFF")) line = line.substring(1);
        started = true;
        if (line.isEmpty()) return dispatch();
        if (line.startsWith(":")) return Optional.empty();
        int colon = line.indexOf(':');
        String field = colon < 0 ? line : line.substring(0, colon);
        String value = colon < 0 ? "" : line.substring(colon + 1);
        if (value.startsWith(" ")) value = value.substring(1);
        switch (field) {
            case "data" -> {
                if ((long) data.length() + value.length() + 1 > maxChars) throw new TooLongException(maxChars);
                if (dataSeen) data.append('\n');
                data.append(value);
                dataSeen = true;
            }
            case "event" -> event = value;
            case "id" -> {
                if (value.indexOf('\0') < 0) lastId = value;
            }
            case "retry" -> {
                if (!value.isEmpty() && value.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                    try {
                        retry = Long.parseLong(value);
                    } catch (NumberFormatException tooLong) {
                        // More digits than a long holds: no sensible delay, so ignored like any bad value.
                    }
                }
            }
            default -> {} // unknown fields are ignored, as the standard says
        }
        return Optional.empty();
    }

    private Optional<SseEvent> dispatch() {
        Optional<SseEvent> dispatched = dataSeen
                ? Optional.of(
                        new SseEvent(event == null || event.isEmpty() ? null : event, lastId, data.toString(), retry))
                : Optional.empty();
        data.setLength(0);
        dataSeen = false;
        event = null;
        retry = null;
        return dispatched;
    }
}
