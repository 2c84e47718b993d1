package dev.parley.server.engine.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.Json;
import dev.parley.client.ScriptedServer;
import dev.parley.server.ParleyServer;
import dev.parley.sse.SseEvent;
import dev.parley.sse.SseParser;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Streams relayed as they came, whatever their framing. Random upstream streams (lines ended by LF, CRLF or CR, a
 * byte-order mark, comments, unknown fields, event ids and retry times, named events whose data spans lines, chunks
 * whose JSON spans lines, text of every kind) are written in random pieces, cut anywhere (inside a line, inside a
 * character's UTF-8 bytes), and what reaches the gateway's caller must read, with a standard reader, as the same
 * events: the same names and data, in order, to {@code [DONE]}. Comments, ids and retry times belong to the
 * upstream's connection and are not passed on.
 *
 * <p>Seeded: {@code -Dparley.samples.seed=N} replays a run, {@code -Dparley.samples.streams=N} sets its size.
 */
@Timeout(120)
class RelayFidelityTest {
    static final long SEED = Long.getLong("parley.samples.seed", 20261204L);
    static final int STREAMS = Integer.getInteger("parley.samples.streams", 60);

    private static final List<String> WORDS = List.of(
            "Once",
            " upon",
            " a time",
            "é中👍",
            "\n",
            "\n\n",
            "data: ",
            ": not a comment",
            "\"",
            "\\",
            "\r",
            "[DONE]",
            "</s>",
            "\u2028",
            "\t",
            " ");

    @Test
    void everyEventOfARandomlyFramedStreamReachesTheCallerAsItsUpstreamSentIt() throws Exception {
        System.out.println("RelayFidelityTest seed " + SEED + " (-Dparley.samples.seed=" + SEED + " replays it), "
                + STREAMS + " streams");
        Map<Integer, String> sent = new ConcurrentHashMap<>();
        try (var upstream = ScriptedServer.answering(request -> {
                    if (request.method().equals("GET"))
                        return ScriptedServer.Reply.json(200, ProxyEngineTest.GPT_4O_MODELS);
                    int number = Integer.parseInt(
                            Json.tree(request.body()).path("user").asText().substring("case-".length()));
                    var random = new SplittableRandom(SEED * 1_000_003L + number);
                    String stream = stream(random);
                    sent.put(number, stream);
                    byte[] head = ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII);
                    List<byte[]> pieces = new ArrayList<>(List.of(head));
                    pieces.addAll(pieces(stream.getBytes(StandardCharsets.UTF_8), random));
                    return new ScriptedServer.Reply.Pieces(pieces);
                });
                var gateway = ParleyServer.start(
                        ProxyEngine.connect(ProxyEngineTest.options(upstream.baseUrl()), List.of()), "127.0.0.1", 0);
                var http = HttpClient.newHttpClient()) {
            List<String> failures = new ArrayList<>();
            for (int number = 0; number < STREAMS; number++) {
                String body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                        + "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"user\":\"case-" + number
                        + "\"}";
                var response = http.send(
                        HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + "/chat/completions"))
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                List<SseEvent> expected = relayable(SseParser.parseAll(sent.get(number)));
                List<SseEvent> got = SseParser.parseAll(response.body());
                if (response.statusCode() != 200 || !got.equals(expected))
                    failures.add("case " + number + ": status " + response.statusCode() + "\n  upstream sent: "
                            + Json.write(sent.get(number)) + "\n  expected: " + expected + "\n  caller got: "
                            + Json.write(response.body()));
            }
            assertThat(failures).as("seed " + SEED).isEmpty();
        }
    }

    /** The events a caller should read: the upstream's to {@code [DONE]}, without the connection's ids and retries. */
    private static List<SseEvent> relayable(List<SseEvent> events) {
        List<SseEvent> relayable = new ArrayList<>();
        for (SseEvent event : events) {
            relayable.add(new SseEvent(event.event(), null, event.data(), null));
            if (event.data().equals("[DONE]")) break;
        }
        return relayable;
    }

    /** A random stream: chunks of random text, other events and lines around them, its usage, then {@code [DONE]}. */
    private static String stream(SplittableRandom random) {
        String end = List.of("\n", "\r\n", "\r").get(random.nextInt(3));
        var stream = new StringBuilder(random.nextInt(4) == 0 ? "\uFEFF" : "");
        int chunks = 1 + random.nextInt(8);
        for (int i = 0; i < chunks; i++) {
            noise(stream, end, random);
            if (random.nextInt(5) == 0) namedEvent(stream, end, random);
            var chunk = chunk(random);
            dataLines(stream, end, random, json(chunk, random));
            stream.append(end);
        }
        ObjectNode usage = JsonNodeFactory.instance.objectNode();
        usage.put("id", "c")
                .put("object", "chat.completion.chunk")
                .put("created", 1)
                .put("model", "gpt-4o");
        usage.putArray("choices");
        usage.putObject("usage")
                .put("prompt_tokens", 9)
                .put("completion_tokens", chunks)
                .put("total_tokens", 9 + chunks);
        noise(stream, end, random);
        dataLines(stream, end, random, json(usage, random));
        stream.append(end);
        stream.append("data: [DONE]").append(end).append(end);
        if (random.nextBoolean())
            stream.append("data: after the end").append(end).append(end);
        return stream.toString();
    }

    private static ObjectNode chunk(SplittableRandom random) {
        var text = new StringBuilder();
        for (int i = random.nextInt(5); i > 0; i--) text.append(WORDS.get(random.nextInt(WORDS.size())));
        ObjectNode chunk = JsonNodeFactory.instance.objectNode();
        chunk.put("id", "c")
                .put("object", "chat.completion.chunk")
                .put("created", 1)
                .put("model", "gpt-4o");
        ObjectNode choice = chunk.putArray("choices").addObject();
        choice.put("index", 0).putObject("delta").put("content", text.toString());
        choice.putNull("finish_reason");
        if (random.nextInt(3) == 0) chunk.putNull("usage");
        return chunk;
    }

    /** JSON on one line, or pretty-printed over several (a reader joins the lines with {@code \n}: whitespace). */
    private static String json(ObjectNode value, SplittableRandom random) {
        try {
            return random.nextBoolean()
                    ? Json.write(value)
                    : Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code data} as data lines, each {@code data: } or {@code data:} (the space is optional). */
    private static void dataLines(StringBuilder stream, String end, SplittableRandom random, String data) {
        for (String line : data.split("\n", -1)) {
            noiseLine(stream, end, random);
            stream.append(random.nextBoolean() ? "data: " : "data:")
                    .append(line)
                    .append(end);
        }
    }

    /** Lines a reader skips or keeps for the connection: comments, unknown fields, ids, retry times. */
    private static void noise(StringBuilder stream, String end, SplittableRandom random) {
        for (int i = random.nextInt(3); i > 0; i--) noiseLine(stream, end, random);
        if (random.nextInt(6) == 0) stream.append(end); // a blank line with no data: dispatches nothing
    }

    private static void noiseLine(StringBuilder stream, String end, SplittableRandom random) {
        switch (random.nextInt(8)) {
            case 0 -> stream.append(": keep-alive").append(end);
            case 1 -> stream.append(":").append(end);
            case 2 -> stream.append("id: ").append(random.nextInt(1000)).append(end);
            case 3 -> stream.append("retry: ").append(random.nextInt(10_000)).append(end);
            case 4 -> stream.append("x-vendor: anything").append(end);
            default -> {}
        }
    }

    /** An event with a name, whose data is text over one or more lines (a trailing empty one included). */
    private static void namedEvent(StringBuilder stream, String end, SplittableRandom random) {
        stream.append("event: ")
                .append(List.of("ping", "note", "vendor.progress").get(random.nextInt(3)));
        stream.append(end);
        for (int i = 1 + random.nextInt(3); i > 0; i--) {
            String line = List.of("", " leading space", "é中👍", "{\"partial\":", "[1,2]", "data: inside")
                    .get(random.nextInt(6));
            stream.append(random.nextBoolean() ? "data: " : "data:")
                    .append(line)
                    .append(end);
        }
        stream.append(end);
    }

    /** {@code bytes} cut at random places into 1 to 24 pieces, some a byte long. */
    private static List<byte[]> pieces(byte[] bytes, SplittableRandom random) {
        int cuts = random.nextInt(24);
        int[] at = new int[cuts + 2];
        for (int i = 1; i <= cuts; i++) at[i] = random.nextInt(bytes.length + 1);
        at[cuts + 1] = bytes.length;
        Arrays.sort(at);
        List<byte[]> pieces = new ArrayList<>();
        for (int i = 0; i + 1 < at.length; i++) {
            if (at[i + 1] > at[i]) pieces.add(Arrays.copyOfRange(bytes, at[i], at[i + 1]));
        }
        return pieces;
    }
}
