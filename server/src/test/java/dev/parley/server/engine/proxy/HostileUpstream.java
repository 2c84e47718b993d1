package dev.parley.server.engine.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.client.ScriptedServer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An upstream on loopback that answers every request (chat, embeddings, the Responses API) with a seeded hostile
 * answer: broken or absurd JSON, usage counts that are not counts, choices of the wrong shape, lone surrogates,
 * streams cut short or carrying events after their end, statuses and framings a gateway must not trust. The answer to a request depends only on
 * the seed and the case number the request names in its {@code user} field, so a failing case replays alone.
 * {@code GET .../models} lists {@code gpt-4o}; a request naming no case gets a well-formed answer.
 */
final class HostileUpstream implements AutoCloseable {
    static final String MODELS =
            "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\",\"object\":\"model\",\"created\":1,\"owned_by\":\"x\"}]}";

    private static final String ANSWER =
            "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"
                    + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
                    + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}";
    private static final String CHUNK =
            "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":%s}";
    private static final String USAGE = "{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}";

    private static final List<String> NOT_COUNTS =
            List.of("-1", "1e30", "\"7\"", "true", "{}", "[]", "99999999999999999999", "1.5", "-99999999999999999999");
    private static final List<String> NOT_USAGES =
            List.of("null", "\"x\"", "[]", "7", "{}", "{\"prompt_tokens\":null,\"completion_tokens\":null}", "[{}]");
    private static final List<String> NOT_CHOICES = List.of(
            "null",
            "{}",
            "\"x\"",
            "[null]",
            "[{}]",
            "[7]",
            "[{\"message\":null}]",
            "[{\"message\":{\"content\":5}}]",
            "[{\"delta\":[]}]",
            "[{\"message\":{\"content\":{\"a\":[1,{\"b\":null}]}}}]");
    private static final List<String> TEXTS =
            List.of("\\ud800", "a\\udfffb", "\\udc00\\ud800", "\\u0000", "\\\"", "\\\\", "é中👍", "\\ud83d\\udc4d", "");
    private static final List<String> NOT_BODIES = List.of(
            "",
            "null",
            "[]",
            "\"text\"",
            "{",
            "{}{}",
            "{\"a\":1}x",
            "<html>Bad Gateway</html>",
            "\u0000",
            "{\"choices\":[],\"usage\":" + "[".repeat(1500) + "]".repeat(1500) + "}",
            "{\"error\":{\"message\":\"no\"}}",
            "{\"error\":null}");

    private final ScriptedServer server;
    private final long seed;
    private final Map<Integer, String> answered = new ConcurrentHashMap<>();

    private HostileUpstream(long seed) {
        this.seed = seed;
        server = ScriptedServer.answering(request -> new ScriptedServer.Reply.Raw(answer(request), false));
    }

    static HostileUpstream start(long seed) {
        return new HostileUpstream(seed);
    }

    String baseUrl() {
        return server.baseUrl();
    }

    /** What case {@code number} was answered with, as sent (for a failure's message). */
    String answered(int number) {
        return answered.getOrDefault(number, "(not asked)");
    }

    @Override
    public void close() {
        server.close();
    }

    private String answer(ScriptedServer.Recorded request) {
        if (request.method().equals("GET")) return whole(200, MODELS);
        JsonNode body = Json.tree(request.body());
        String user = body.path("user").asText("");
        boolean stream = body.path("stream").asBoolean(false);
        if (!user.startsWith("case-"))
            return stream ? streamed(chunks(List.of(), new SplittableRandom(0))) : whole(200, ANSWER);
        int number = Integer.parseInt(user.substring(5));
        var random = new SplittableRandom(seed * 1_000_003L + number);
        String reply;
        if (request.path().endsWith("/embeddings")) reply = hostileEmbeddings(random);
        else if (request.path().endsWith("/responses")) reply = hostileResponse(random, stream);
        else reply = hostile(random, stream);
        answered.put(number, reply);
        return reply;
    }

    private static String hostile(SplittableRandom random, boolean stream) {
        return stream ? hostileStream(random) : hostileWhole(random);
    }

    private static String hostileWhole(SplittableRandom random) {
        return switch (random.nextInt(9)) {
            case 0 -> whole(200, ANSWER.replace(USAGE, pick(random, NOT_USAGES)));
            case 1 ->
                whole(
                        200,
                        ANSWER.replace("\"prompt_tokens\":9", "\"prompt_tokens\":" + pick(random, NOT_COUNTS))
                                .replace(
                                        "\"completion_tokens\":1",
                                        "\"completion_tokens\":" + pick(random, NOT_COUNTS)));
            case 2 ->
                whole(200, withoutUsage(ANSWER.replace("\"content\":\"Hi\"", "\"content\":\"" + text(random) + "\"")));
            case 3 ->
                whole(
                        200,
                        withoutUsage(ANSWER.replace(
                                "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]",
                                pick(random, NOT_CHOICES))));
            case 4 -> whole(200, pick(random, NOT_BODIES));
            case 5 -> whole(pick(random, List.of(200, 201, 203)), "text/html", ANSWER);
            case 6 ->
                whole(
                        pick(random, List.of(400, 404, 422, 500, 502, 503)),
                        pick(random, List.of("", "oops", "{\"error\":{\"message\":\"no\",\"type\":\"x\"}}", "[1]")));
            case 7 ->
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                        + pick(random, List.of(99_999, 3, 0)) + "\r\nConnection: close\r\n\r\n" + ANSWER;
            default ->
                whole(
                        200,
                        withoutUsage(ANSWER.replace(
                                "\"content\":\"Hi\"",
                                "\"content\":\"" + "word ".repeat(random.nextInt(1, 60_000)) + "\"")));
        };
    }

    private static String hostileStream(SplittableRandom random) {
        List<String> events = new ArrayList<>();
        switch (random.nextInt(9)) {
            case 0 -> events.add(data(USAGE_CHUNK.formatted(pick(random, NOT_USAGES))));
            case 1 ->
                events.add(data(USAGE_CHUNK.formatted("{\"prompt_tokens\":" + pick(random, NOT_COUNTS)
                        + ",\"completion_tokens\":" + pick(random, NOT_COUNTS) + "}")));
            case 2 -> events.add(data(CHUNK.formatted(pick(random, NOT_CHOICES))));
            case 3 -> events.add(data(pick(random, NOT_BODIES).replace("\n", "")));
            case 4 ->
                events.add(pick(
                        random,
                        List.of(
                                ": ping\n\n",
                                "event: odd\ndata: {}\n\n",
                                "id: 5\nretry: x\n\n",
                                "data:{}\r\n\r\n",
                                "nonsense\n\n",
                                "data: [DONE]\n\ndata: {}\n\n",
                                "data: a\ndata: b\n\n")));
            case 5 ->
                events.add(data(CHUNK.formatted(
                        "[{\"index\":0,\"delta\":{\"content\":\"" + text(random) + "\"},\"finish_reason\":null}]")));
            case 6 ->
                events.add(data(CHUNK.formatted("[{\"index\":0,\"delta\":{\"content\":\""
                        + "word ".repeat(random.nextInt(1, 80_000)) + "\"},\"finish_reason\":null}]")));
            default -> {}
        }
        String body = chunks(events, random);
        return switch (random.nextInt(6)) {
            case 0 -> streamed(body.substring(0, random.nextInt(body.length() + 1))); // cut anywhere
            case 1 -> whole(200, "text/event-stream", body);
            case 2 -> whole(200, "application/json", ANSWER); // a whole answer to a stream request
            default -> streamed(body);
        };
    }

    private static final String EMBEDDINGS = "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
            + "\"embedding\":[0.1,-0.2]}],\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}";

    /** An embeddings answer whose usage, data or whole body is broken. */
    private static String hostileEmbeddings(SplittableRandom random) {
        String usage = "{\"prompt_tokens\":2,\"total_tokens\":2}";
        return switch (random.nextInt(4)) {
            case 0 -> whole(200, EMBEDDINGS.replace(usage, pick(random, NOT_USAGES)));
            case 1 ->
                whole(200, EMBEDDINGS.replace("\"prompt_tokens\":2", "\"prompt_tokens\":" + pick(random, NOT_COUNTS)));
            case 2 ->
                whole(
                        200,
                        EMBEDDINGS.replace(
                                "[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.1,-0.2]}]",
                                pick(random, NOT_CHOICES)));
            default -> whole(200, pick(random, NOT_BODIES));
        };
    }

    private static final String RESPONSE_USAGE = "{\"input_tokens\":9,\"output_tokens\":1,\"total_tokens\":10}";

    /**
     * A Responses API answer, whole or as its named events (which end without {@code [DONE]}, after the event whose
     * response reports the usage), with its usage, output or events broken.
     */
    private static String hostileResponse(SplittableRandom random, boolean stream) {
        String usage = switch (random.nextInt(4)) {
            case 0 -> pick(random, NOT_USAGES);
            case 1 ->
                "{\"input_tokens\":" + pick(random, NOT_COUNTS) + ",\"output_tokens\":" + pick(random, NOT_COUNTS)
                        + "}";
            default -> RESPONSE_USAGE;
        };
        String output = random.nextInt(3) == 0
                ? pick(random, NOT_CHOICES)
                : "[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\""
                        + text(random) + "\"}]}]";
        String response = "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"output\":" + output
                + ",\"usage\":" + usage + "}";
        if (!stream) return random.nextInt(5) == 0 ? whole(200, pick(random, NOT_BODIES)) : whole(200, response);
        List<String> events = new ArrayList<>(List.of(
                "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n\n",
                "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\""
                        + text(random) + "\"}\n\n"));
        if (random.nextInt(3) == 0)
            events.add(
                    random.nextInt(events.size() + 1),
                    "data: " + pick(random, NOT_BODIES).replace("\n", "") + "\n\n");
        if (random.nextInt(4) != 0)
            events.add("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":" + response
                    + "}\n\n");
        String body = String.join("", events);
        return random.nextInt(4) == 0 ? streamed(body.substring(0, random.nextInt(body.length() + 1))) : streamed(body);
    }

    private static final String USAGE_CHUNK =
            "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],"
                    + "\"usage\":%s}";

    /** A stream's events: a role chunk, a piece, {@code inserted} (at a random place among them), a finish, then either
     * a usage chunk or none, and [DONE] (or not). */
    private static String chunks(List<String> inserted, SplittableRandom random) {
        List<String> events = new ArrayList<>(List.of(
                data(CHUNK.formatted("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                        + "\"finish_reason\":null}]")),
                data(CHUNK.formatted("[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]")),
                data(CHUNK.formatted("[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]"))));
        for (String event : inserted) events.add(random.nextInt(events.size() + 1), event);
        if (inserted.isEmpty() || random.nextBoolean()) events.add(data(USAGE_CHUNK.formatted(USAGE)));
        if (inserted.isEmpty() || random.nextInt(4) != 0) events.add("data: [DONE]\n\n");
        return String.join("", events);
    }

    private static String data(String json) {
        return "data: " + json + "\n\n";
    }

    private static String withoutUsage(String answer) {
        return answer.replace(",\"usage\":" + USAGE, "");
    }

    private static String text(SplittableRandom random) {
        StringBuilder text = new StringBuilder();
        for (int i = random.nextInt(1, 6); i > 0; i--) text.append(pick(random, TEXTS));
        return text.toString();
    }

    private static String whole(int status, String body) {
        return whole(status, "application/json", body);
    }

    private static String whole(int status, String contentType, String body) {
        return "HTTP/1.1 " + status + " Hostile\r\nContent-Type: " + contentType + "\r\nContent-Length: "
                + body.getBytes(StandardCharsets.UTF_8).length + "\r\nConnection: close\r\n\r\n" + body;
    }

    private static String streamed(String body) {
        return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + body;
    }

    private static <T> T pick(SplittableRandom random, List<T> values) {
        return values.get(random.nextInt(values.size()));
    }
}
