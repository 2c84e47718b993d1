package dev.parley.server.engine.proxy;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.Json;
import dev.parley.api.ServerException;
import dev.parley.client.ClientOptions;
import dev.parley.client.TransportException;
import dev.parley.server.engine.Relayed;
import dev.parley.sse.SseEvent;
import dev.parley.sse.SseParser;
import dev.parley.tokens.TokenCounter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * An upstream answer relayed unchanged: a whole response body, or a stream read event by event. Usage comes from
 * the upstream's own {@code usage} (asked for on every stream); until it arrives, from counting the answer's text.
 *
 * <p>Used by one thread; {@link #close} may come from another and aborts the upstream response.
 */
final class Relay implements Relayed {
    private final String model;
    private final String origin;
    private final TokenCounter counter;
    private final boolean usageAsked;
    private final Duration idleTimeout;
    private final InputStream upstream;
    private final Consumer<Relay> released; // told once, when the relay closes
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ArrayDeque<SseEvent> arrived = new ArrayDeque<>(); // events read from upstream, not yet taken
    // A stream's reading state, made by its first read: a whole answer needs none of it (32 KB of buffers).
    private Reader text;
    private char[] buffer;
    private SseParser parser;
    private volatile int promptTokens;
    private volatile int completionTokens;
    private volatile boolean reported; // the upstream reported its usage: its count stands, and the answer is whole
    private volatile String id; // the answer's id, as its object or the event reporting its usage gave it
    private volatile String whole; // a whole answer's body, once read
    private volatile ObjectNode finished; // a stream's last response object that reported usage
    private boolean ended;
    private boolean done; // the stream ended with [DONE]

    /**
     * @param usageAsked whether the caller asked for the usage event (it is asked for upstream either way)
     * @param idleTimeout how long the stream may pass no event before the reply ends it
     */
    Relay(
            String model,
            String origin,
            int promptTokens,
            TokenCounter counter,
            boolean usageAsked,
            Duration idleTimeout,
            InputStream upstream,
            Consumer<Relay> released) {
        this.released = released;
        this.model = model;
        this.origin = origin;
        this.promptTokens = promptTokens;
        this.counter = counter;
        this.usageAsked = usageAsked;
        this.idleTimeout = idleTimeout;
        this.upstream = upstream;
    }

    @Override
    public String body() {
        try {
            byte[] bytes = upstream.readNBytes(ClientOptions.MAX_ANSWER_BYTES + 1); // more is a broken peer
            if (bytes.length > ClientOptions.MAX_ANSWER_BYTES)
                throw new IOException("it is larger than %d MiB".formatted(ClientOptions.MAX_ANSWER_BYTES >> 20));
            String body = new String(bytes, StandardCharsets.UTF_8);
            Top top = top(body);
            id = top.id();
            whole = body;
            synchronized (this) {
                usage(top.usage());
            }
            if (!reported) {
                JsonNode tree = Json.tree(body);
                StringBuilder text = new StringBuilder();
                tree.path("output")
                        .forEach(item -> item.path("content")
                                .forEach(part -> text.append(part.path("text").asText(""))));
                for (JsonNode choice : tree.path("choices")) {
                    text.append(choice.path("message").path("content").asText(""));
                    text.append(choice.path("text").asText(""));
                }
                completionTokens = counter.count(text.toString());
            }
            return body;
        } catch (IOException | RuntimeException e) {
            throw failed("its answer could not be read: " + why(e), e);
        }
    }

    /** Reads the value a parser is at, whatever follows it. */
    private static final ObjectReader ONE_VALUE =
            Json.mapper().reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** What is read of a whole answer: its {@code usage} and {@code id}, each null when it has none. */
    private record Top(JsonNode usage, String id) {}

    /**
     * The {@code usage} and {@code id} of an answer that must be one JSON object, read without building the rest of
     * it (its choices are read only when the upstream reported no usage).
     */
    private static Top top(String body) throws IOException {
        try (JsonParser parser = Json.mapper().createParser(body)) {
            if (parser.nextToken() != JsonToken.START_OBJECT)
                throw new IOException("it is not a JSON object: " + ProxyEngine.quoted(body));
            JsonNode usage = null;
            String id = null;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if (name.equals("usage")) usage = ONE_VALUE.readTree(parser);
                else if (name.equals("id") && value == JsonToken.VALUE_STRING) id = parser.getText();
                else parser.skipChildren();
            }
            if (parser.nextToken() != null) throw new IOException("it is not JSON: " + ProxyEngine.quoted(body));
            return new Top(usage, id);
        } catch (JacksonException e) {
            throw new IOException("it is not JSON: " + ProxyEngine.quoted(body));
        }
    }

    @Override
    public SseEvent nextEvent() {
        if (ended) return null;
        try {
            for (SseEvent event; (event = arrived.poll()) != null || (event = read()) != null; ) {
                String data = event.data();
                if (data.equals("[DONE]")) {
                    ended = true;
                    done = true;
                    return null;
                }
                if (!mayReportUsage(data)) {
                    // Most chunks: passed on unread. Their text is counted only if the upstream never reports the
                    // usage it was asked for (it does at the end, and then they need not be parsed at all).
                    if (!reported) hold(data);
                    return event;
                }
                JsonNode chunk = Json.tree(data);
                boolean usageOnly;
                synchronized (this) {
                    // Chat and legacy chunks carry usage at the top; the Responses API in its final response.
                    JsonNode usage = chunk.get("usage");
                    usage(usage);
                    usageOnly = usage != null
                            && usage.isObject()
                            && chunk.path("choices").isEmpty();
                    usage(chunk.path("response").get("usage"));
                    if (chunk.path("response").path("id").isTextual()) {
                        id = chunk.path("response").path("id").asText();
                        finished = (ObjectNode) chunk.get("response");
                    }
                    if (!reported) completionTokens += counter.count(text(chunk));
                }
                if (usageOnly && !usageAsked) continue;
                return event;
            }
        } catch (IOException | RuntimeException e) {
            throw failed(why(e), e);
        }
        // The Responses API ends its stream without [DONE], after the event that reports its usage.
        if (reported) {
            ended = true;
            return null;
        }
        throw failed("the stream ended without [DONE]", null);
    }

    /** Chunks' data held unparsed, to be counted only if no usage comes; counted at once past this many chars. */
    private static final int HELD_CHARS = 256 * 1024;

    private final List<String> held = new ArrayList<>();
    private int heldChars;

    private synchronized void hold(String data) {
        held.add(data);
        heldChars += data.length();
        if (heldChars > HELD_CHARS) countHeld();
    }

    /**
     * Counts the text of the chunks held so far, each piece on its own (a stream's pieces are about a token each),
     * never the whole text again; nothing once the upstream has reported its own count, which stands.
     */
    private synchronized void countHeld() {
        if (!reported) {
            for (String data : held) {
                String text;
                try {
                    text = text(Json.tree(data));
                } catch (RuntimeException notJson) {
                    text = data; // relayed as it came; counted whole rather than not at all
                }
                if (!text.isEmpty()) completionTokens += counter.count(text);
            }
        }
        held.clear();
        heldChars = 0;
    }

    /** This chunk's piece of the answer: chat and legacy choices, or a Responses API delta. */
    private static String text(JsonNode chunk) {
        StringBuilder text = new StringBuilder();
        for (JsonNode choice : chunk.path("choices")) {
            text.append(choice.path("delta").path("content").asText(""));
            text.append(choice.path("text").asText(""));
        }
        if (chunk.path("type").asText().endsWith(".delta"))
            text.append(chunk.path("delta").asText(""));
        return text.toString();
    }

    /**
     * Whether {@code data} may hold a usage object: a {@code "usage"} key followed by {@code {}. Chunks whose usage is
     * null, or that have none, answer false without being parsed; a false alarm (the words in a string) costs a
     * parse.
     */
    static boolean mayReportUsage(String data) {
        for (int at = data.indexOf("\"usage\""); at >= 0; at = data.indexOf("\"usage\"", at + 7)) {
            int i = skipSpace(data, at + 7);
            if (i < data.length() && data.charAt(i) == ':') {
                i = skipSpace(data, i + 1);
                if (i < data.length() && data.charAt(i) == '{') return true;
            }
        }
        return false;
    }

    private static int skipSpace(String text, int i) {
        while (i < text.length() && " \t\r\n".indexOf(text.charAt(i)) >= 0) i++;
        return i;
    }

    /**
     * Reads from upstream until at least one event is complete (every event the read completed is kept, in
     * order); the first of them, or null when the stream ended first.
     */
    private SseEvent read() throws IOException {
        if (text == null) {
            text = new InputStreamReader(upstream, StandardCharsets.UTF_8);
            buffer = new char[8192];
            parser = new SseParser();
        }
        while (arrived.isEmpty()) {
            int read = text.read(buffer);
            if (read < 0) return null;
            arrived.addAll(parser.feed(CharBuffer.wrap(buffer, 0, read)));
        }
        return arrived.poll();
    }

    @Override
    public boolean eventWaiting() {
        return !ended && !arrived.isEmpty();
    }

    @Override
    public boolean endedWithDone() {
        return done;
    }

    @Override
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /**
     * The answer's id, once read: a whole answer's, or a Responses API stream's from the event that reports its
     * usage; null until then, or when it has none.
     */
    String id() {
        return id;
    }

    @Override
    public ObjectNode finished() {
        if (finished != null) return finished;
        String body = whole;
        if (body == null) return null;
        try {
            return Json.tree(body) instanceof ObjectNode object ? object : null;
        } catch (RuntimeException e) {
            return null; // an answer passed on as it came, which is not an object to keep
        }
    }

    @Override
    public String origin() {
        return origin;
    }

    /**
     * Takes the upstream's own count when {@code usage} holds one (chat's {@code prompt_tokens} and {@code
     * completion_tokens}, the Responses API's {@code input_tokens} and {@code output_tokens}, an embedding's
     * {@code prompt_tokens} alone). A count that is not a whole number from 0 to {@link
     * Integer#MAX_VALUE} (a negative one, {@code 1e30}, text) makes the whole object no count: the answer is then
     * counted here, as when the upstream reports none, rather than charged what a broken upstream says.
     */
    private void usage(JsonNode usage) {
        if (usage == null || !usage.isObject()) return;
        int prompt = count(usage, "prompt_tokens", "input_tokens");
        int completion = count(usage, "completion_tokens", "output_tokens");
        if (prompt == NOT_A_COUNT || completion == NOT_A_COUNT) return;
        if (prompt != ABSENT) promptTokens = prompt;
        completionTokens = completion == ABSENT ? 0 : completion;
        reported = true;
        held.clear(); // the upstream's count stands: what was held need not be read
        heldChars = 0;
    }

    private static final int ABSENT = -1;
    private static final int NOT_A_COUNT = -2;

    /** The first of {@code names} that {@code usage} has, as a count; {@link #ABSENT} or {@link #NOT_A_COUNT}. */
    private static int count(JsonNode usage, String... names) {
        for (String name : names) {
            JsonNode value = usage.get(name);
            if (value == null || value.isNull()) continue;
            boolean whole = value.isIntegralNumber() && value.canConvertToInt() && value.intValue() >= 0;
            return whole ? value.intValue() : NOT_A_COUNT;
        }
        return ABSENT;
    }

    private static ServerException failed(String message, Throwable cause) {
        var failure = new ServerException(
                502,
                new ApiError(
                        "The upstream provider failed: " + message, ApiError.SERVER_ERROR, null, "upstream_error"));
        if (cause != null) failure.initCause(cause);
        return failure;
    }

    @Override
    public String model() {
        return model;
    }

    @Override
    public int promptTokens() {
        return promptTokens;
    }

    @Override
    public synchronized int completionTokens() {
        countHeld();
        return completionTokens;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) released.accept(this);
        try {
            upstream.close(); // aborts the exchange when it has not ended
        } catch (IOException ignored) {
            // the connection is gone either way
        }
    }

    /** What failed, in words: an empty JDK message is found in its causes or named by its kind, never "null". */
    private static String why(Exception e) {
        if (e instanceof IOException io) return TransportException.describe(io);
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
