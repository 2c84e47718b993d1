package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletion;
import dev.parley.api.Json;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of hostile bodies from {@link HostileBodies} against the real server and the demo model, on
 * every generating route (chat, legacy completions, the Responses API), while a greedy canary stream is served alongside. Every answer is a 200 or a 4xx
 * in OpenAI's error shape, never a 5xx or a hang; the canary's text is what it is alone; and afterwards
 * every slot is free.
 *
 * <p>Seeded: the seed is printed, and {@code -Dparley.fuzz.seed=N} replays a run; {@code
 * -Dparley.fuzz.bodies=N} sets how many bodies each route gets.
 */
@Timeout(300)
class FuzzTest {
    static final int PARALLEL = 4;
    static final long SEED = Long.getLong("parley.fuzz.seed", 20261130L);
    static final int BODIES = Integer.getInteger("parley.fuzz.bodies", 1000);
    static final Duration PATIENCE = Duration.ofSeconds(60);
    static final String CANARY =
            "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                    + "\"temperature\":0,\"max_tokens\":150,\"stream\":true}";

    static ParleyServer server;

    @BeforeAll
    static void start() {
        server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(PARALLEL)
                        .withContextPerSequence(256)
                        .withCacheMb(4)), // hostile requests' cells go to host memory and back too
                "127.0.0.1",
                0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    record Sent(String route, byte[] body) {
        @Override
        public String toString() {
            String text = new String(body, StandardCharsets.UTF_8);
            return route + " "
                    + (text.length() > 300 ? text.substring(0, 300) + "… (" + body.length + " bytes)" : text);
        }
    }

    @Test
    void everyHostileBodyIsAnsweredWithA200OrAn4xxWhileACanaryStreamIsUndisturbed() throws Exception {
        campaign(server.port(), BODIES);
    }

    /**
     * The same against a model the demo model does not stand for: a Jinja template that lacks turns (Gemma 2's: no
     * system turn, no tool results, no calls, so Parley rewrites the conversation for it) and a vocabulary that adds
     * no beginning-of-sequence token (Qwen's).
     */
    @Test
    void aTemplateThatLacksTurnsAndAModelWithoutABosTokenToo(@TempDir Path dir) throws Exception {
        Path model = GgufWriter.qwen3()
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .headDim(32)
                .dim(64)
                .ffnDim(128)
                .contextLength(4096)
                .vocabulary(Served.vocabulary("ggml-vocab-qwen2.gguf"))
                .chatTemplate(Served.template("google-gemma-2-2b-it.jinja"))
                .tiedOutput(true)
                .type(TensorType.Q8_0)
                .seed(29)
                .write(dir.resolve("gemma2-template.gguf"));
        try (var templated = ParleyServer.start(
                        LlamaEngine.open(LlamaEngineOptions.of(model)
                                .withModelId("demo")
                                .withParallel(PARALLEL)
                                .withContextPerSequence(256)),
                        "127.0.0.1",
                        0);
                var http = HttpClient.newHttpClient()) {
            var target = new Target(http, templated.port());
            // Nothing to start generating from: a 400 naming the prompt, not a failure in the scheduler.
            var empty = send(
                    target,
                    new Sent(
                            "/v1/completions",
                            "{\"model\":\"demo\",\"prompt\":\"\",\"n\":3,\"max_tokens\":2}"
                                    .getBytes(StandardCharsets.UTF_8)));
            assertThat(empty.statusCode()).as(empty.body()).isEqualTo(400);
            assertThat(Json.tree(empty.body()).path("error").path("param").asText())
                    .isEqualTo("prompt");
            // A legacy call without arguments, written into the text of a template that shows no calls.
            var call = send(
                    target,
                    new Sent(
                            "/v1/chat/completions",
                            ("{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
                                            + "{\"role\":\"assistant\",\"content\":null,\"function_call\":{\"name\":\"now\"}},"
                                            + "{\"role\":\"function\",\"name\":\"now\",\"content\":\"noon\"}]}")
                                    .getBytes(StandardCharsets.UTF_8)));
            assertThat(call.statusCode()).as(call.body()).isEqualTo(200);

            campaign(target, BODIES / 2);
        }
    }

    /**
     * The campaign against the server on {@code port}, which serves the demo model as {@code demo} with {@link
     * #PARALLEL} slots (itself, or through a gateway), with {@code bodies} bodies for each route.
     */
    static void campaign(int port, int bodies) throws Exception {
        try (var http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
            campaign(new Target(http, port), bodies);
        }
    }

    /** Where the bodies go: a server's port, through one client. */
    record Target(HttpClient http, int port) {}

    private static void campaign(Target target, int count) throws Exception {
        System.out.println("FuzzTest seed " + SEED + " (-Dparley.fuzz.seed=" + SEED + " replays it)");
        List<Sent> bodies = bodies(count);
        String alone = Loopback.streamedText(
                send(target, new Sent("/v1/chat/completions", CANARY.getBytes(StandardCharsets.UTF_8)))
                        .body());
        assertThat(alone).isNotEmpty();

        var failures = new ConcurrentLinkedQueue<String>();
        var answers = new ConcurrentHashMap<String, LongAdder>();
        var fuzzing = new AtomicBoolean(true);
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<List<String>> canary = pool.submit(() -> canaries(target, fuzzing));
            var queue = new ConcurrentLinkedQueue<>(bodies);
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < 6; w++) {
                workers.add(pool.submit(() -> {
                    for (Sent sent; (sent = queue.poll()) != null; ) check(target, sent, failures, answers);
                    return null;
                }));
            }
            for (Future<?> worker : workers) worker.get();
            fuzzing.set(false);
            List<String> canaries = canary.get();
            System.out.println("FuzzTest answers " + new TreeMap<>(answers) + ", canary streams " + canaries.size());
            assertThat(canaries).isNotEmpty().containsOnly(alone);
        }
        assertThat(failures).as("seed " + SEED).isEmpty();
        // The bodies must reach generation too, not only the checks in front of it.
        assertThat(answers)
                .containsKeys(
                        "/v1/chat/completions 200",
                        "/v1/completions 200",
                        "/v1/responses 200",
                        "/v1/responses/input_tokens 200",
                        "/v1/conversations 200");
        assertEverySlotIsFree(target);
    }

    /**
     * The same bodies for the same seed, {@code count} to each generating route, interleaved, and for every fourth a
     * Responses body to the input-token count and a conversation's body to its creation.
     */
    static List<Sent> bodies(int count) {
        var generator = new HostileBodies(SEED);
        List<Sent> bodies = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            bodies.add(new Sent("/v1/chat/completions", generator.chat()));
            bodies.add(new Sent("/v1/completions", generator.completion()));
            bodies.add(new Sent("/v1/responses", generator.response()));
            if (i % 4 == 0) bodies.add(new Sent("/v1/responses/input_tokens", generator.response()));
            if (i % 4 == 2) bodies.add(new Sent("/v1/conversations", generator.conversation()));
        }
        return bodies;
    }

    /** Greedy streams, one after another, for as long as the fuzzing lasts (at least one). */
    static List<String> canaries(Target target, AtomicBoolean fuzzing) throws Exception {
        List<String> texts = new ArrayList<>();
        do {
            var response = send(target, new Sent("/v1/chat/completions", CANARY.getBytes(StandardCharsets.UTF_8)));
            assertThat(response.statusCode()).isEqualTo(200);
            texts.add(Loopback.streamedText(response.body()));
        } while (fuzzing.get());
        return texts;
    }

    static void check(
            Target target, Sent sent, ConcurrentLinkedQueue<String> failures, Map<String, LongAdder> answers) {
        try {
            var response = send(target, sent);
            answers.computeIfAbsent(sent.route() + " " + response.statusCode(), k -> new LongAdder())
                    .increment();
            String problem = problem(response);
            if (problem != null) failures.add(problem + " for " + sent);
        } catch (Exception e) {
            failures.add(e + " for " + sent);
        }
    }

    /**
     * What is wrong with an answer, or null: a 200 (a stream that ends with {@code [DONE]} and carries no
     * error event, or the Responses API's, which ends completed or incomplete and fails nowhere), or a 4xx whose body
     * is an OpenAI error.
     */
    static String problem(HttpResponse<String> response) {
        int status = response.statusCode();
        boolean stream =
                response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream");
        if (status == 200 && stream) {
            String body = response.body();
            boolean whole = body.startsWith("event: response.created")
                    ? body.matches("(?s).*\nevent: response\\.(completed|incomplete)\ndata: [^\n]*\n\n")
                            && !body.contains("event: error")
                            && !body.contains("event: response.failed")
                    : body.endsWith("data: [DONE]\n\n") && !body.contains("data: {\"error\"");
            return whole ? null : "broken stream: " + body;
        }
        if (status == 200) return null;
        if (status < 400 || status >= 500) return "status " + status + " " + response.body();
        try {
            JsonNode error = Json.tree(response.body()).path("error");
            boolean shaped = error.path("message").isTextual()
                    && error.path("type").isTextual()
                    && error.has("param")
                    && error.has("code");
            return shaped ? null : "not an OpenAI error: " + response.body();
        } catch (RuntimeException e) {
            return "not JSON: " + response.body();
        }
    }

    static HttpResponse<String> send(Target target, Sent sent) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.port() + sent.route()))
                .timeout(PATIENCE)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(sent.body()))
                .build();
        return target.http().send(request, HttpResponse.BodyHandlers.ofString());
    }

    /** A request for one choice per slot completes: no slot was left held by a fuzzed request. */
    static void assertEverySlotIsFree(Target target) throws Exception {
        String body =
                "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Tom\"}],\"max_tokens\":8,\"n\":"
                        + PARALLEL + "}";
        var response = send(target, new Sent("/v1/chat/completions", body.getBytes(StandardCharsets.UTF_8)));
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(Json.read(response.body(), ChatCompletion.class).choices())
                .hasSize(PARALLEL)
                .allSatisfy(choice -> assertThat(choice.finishReason()).isIn("stop", "length"));
    }
}
