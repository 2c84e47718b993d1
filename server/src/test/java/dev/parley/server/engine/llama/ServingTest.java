package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.server.ParleyServer;
import dev.parley.server.ServerOptions;
import dev.parley.server.SlowModel;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scheduler as clients meet it: the real server on loopback over the demo model, with the scheduler's
 * counters in view. Waits are condition polls with generous timeouts; nothing asserts on timing.
 */
@Timeout(180)
class ServingTest {
    private static final Duration PATIENCE = Duration.ofSeconds(90);
    /**
     * Long enough that a reader who never reads fills its socket's buffers (up to 4 MiB on Linux) and then
     * the backlog: end-of-text banned, and 20 alternatives per token make each event about 2 KiB.
     */
    private static final String LONG_STREAM =
            "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                    + "\"temperature\":0,\"max_tokens\":4000,\"logit_bias\":{\"2\":-100},\"logprobs\":true,\"top_logprobs\":20";

    private static LlamaEngine engine;
    private static ParleyServer server;
    private static HttpClient http;
    private static String base;

    @BeforeAll
    static void start() {
        engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(4)
                .withContextPerSequence(4096)
                .withCacheMb(8)); // every test here runs with a prompt cache, as a server may
        server = ParleyServer.start(engine, "127.0.0.1", 0);
        base = "http://127.0.0.1:" + server.port();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        server.close();
        http.close();
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(base + path))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode postJson(String path, String body) throws Exception {
        var response = post(path, body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.tree(response.body());
    }

    private static String chat(String extra) {
        return "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Lily\"}],\"max_tokens\":12" + extra
                + "}";
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting until " + what).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static void awaitAllSlotsFree() throws InterruptedException {
        await("every slot is free", () -> engine.scheduler().busySlots() == 0);
    }

    /** A chat request of these messages (role, content, role, content, …) for 12 greedy tokens. */
    private static JsonNode turn(String... roleAndContent) throws Exception {
        List<String> messages = new ArrayList<>();
        for (int i = 0; i < roleAndContent.length; i += 2)
            messages.add(
                    "{\"role\":\"%s\",\"content\":%s}".formatted(roleAndContent[i], Json.write(roleAndContent[i + 1])));
        return postJson(
                "/v1/chat/completions",
                "{\"model\":\"demo\",\"messages\":[" + String.join(",", messages)
                        + "],\"temperature\":0,\"max_tokens\":12}");
    }

    @Test
    void conversationsTakingTurnsEachFindWhatTheyHadSaidInTheCache() throws Exception {
        awaitAllSlotsFree();
        await("the engine has calibrated", () -> engine.scheduler().calibrated()); // calibrating clears the cache
        String question = "Lily and her dog went to the park to play with a big red ball";
        JsonNode first = turn("user", question);
        String answer =
                first.path("choices").path(0).path("message").path("content").asText();
        int firstPrompt = first.path("usage").path("prompt_tokens").asInt();
        turn("user", "Tom had a little boat that he liked to sail on the pond every day"); // another conversation

        JsonNode next = turn("user", question, "assistant", answer, "user", "What did they do then?");
        // The first conversation's cells were left where it finished: its next turn reads only what is new.
        assertThat(next.path("usage")
                        .path("prompt_tokens_details")
                        .path("cached_tokens")
                        .asInt())
                .as(next.path("usage").toString())
                .isGreaterThanOrEqualTo(firstPrompt);
    }

    @Test
    void moreConversationsThanSlotsEachFindTheirHistoryInThePromptCache() throws Exception {
        awaitAllSlotsFree();
        await("the engine has calibrated", () -> engine.scheduler().calibrated()); // calibrating clears the slots
        List<String> questions = List.of(
                "Lily and her dog went to the park to play with a big red ball",
                "Tom had a little boat that he liked to sail on the pond every day",
                "Sue found a shiny key under the old tree behind her house",
                "Ben and Mia baked a cake for their mom with lots of sugar",
                "A small bird sang a happy song to the sun every morning");
        double cachedBefore = metric("parley_engine_prompt_cached_tokens_total");
        double restoredBefore = metric("parley_engine_prompt_restored_tokens_total");
        long cached = 0;
        List<JsonNode> firsts = new ArrayList<>();
        for (String question : questions) {
            firsts.add(turn("user", question)); // five conversations, four slots
            cached += firsts.getLast()
                    .path("usage")
                    .path("prompt_tokens_details")
                    .path("cached_tokens")
                    .asLong();
        }
        long restored = engine.scheduler().restoredTokens();

        for (int k = 0; k < questions.size(); k++) {
            String answer = firsts.get(k)
                    .path("choices")
                    .path(0)
                    .path("message")
                    .path("content")
                    .asText();
            JsonNode next = turn("user", questions.get(k), "assistant", answer, "user", "What did they do then?");
            // Whichever conversation's cells a slot gave up went to host memory: each finds its first turn.
            assertThat(next.path("usage")
                            .path("prompt_tokens_details")
                            .path("cached_tokens")
                            .asInt())
                    .as("conversation %d: %s", k, next.path("usage"))
                    .isGreaterThanOrEqualTo(
                            firsts.get(k).path("usage").path("prompt_tokens").asInt());
            cached += next.path("usage")
                    .path("prompt_tokens_details")
                    .path("cached_tokens")
                    .asLong();
        }
        assertThat(engine.scheduler().restoredTokens()).isGreaterThan(restored);
        // Operators see the same in /metrics: every cached token the answers reported, and those loaded back.
        assertThat(metric("parley_engine_prompt_cached_tokens_total") - cachedBefore)
                .isEqualTo(cached);
        assertThat(metric("parley_engine_prompt_restored_tokens_total") - restoredBefore)
                .isPositive()
                .isLessThanOrEqualTo(cached);
        assertThat(metric("parley_engine_prompt_cache_bytes")).isPositive();
    }

    /** A sample of {@code GET /metrics} without labels. */
    private static double metric(String name) throws Exception {
        var response = http.send(
                HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        for (String line : response.body().split("\n"))
            if (line.startsWith(name + " ")) return Double.parseDouble(line.substring(name.length() + 1));
        throw new AssertionError(name + " is not in /metrics");
    }

    @Test
    void logprobsWithoutAlternativesAnswerAnEmptyTopLogprobsPerToken() throws Exception {
        for (String shape : List.of(
                ",\"temperature\":0,\"logprobs\":true", ",\"temperature\":0,\"logprobs\":true,\"top_logprobs\":0")) {
            JsonNode content = postJson("/v1/chat/completions", chat(shape))
                    .path("choices")
                    .path(0)
                    .path("logprobs")
                    .path("content");
            assertThat(content.size()).isEqualTo(12);
            for (JsonNode token : content) {
                assertThat(token.path("logprob").asDouble()).isLessThanOrEqualTo(0.0);
                assertThat(token.path("top_logprobs").isArray()).isTrue();
                assertThat(token.path("top_logprobs").size()).isZero();
            }
        }
        JsonNode legacy = postJson(
                        "/v1/completions",
                        "{\"model\":\"demo\",\"prompt\":\"Lily\",\"max_tokens\":6,\"temperature\":0,\"logprobs\":0}")
                .path("choices")
                .path(0);
        assertThat(legacy.path("logprobs").path("tokens").size()).isEqualTo(6);
        assertThat(legacy.path("logprobs").path("token_logprobs").size()).isEqualTo(6);
        for (JsonNode top : legacy.path("logprobs").path("top_logprobs"))
            assertThat(top.isObject() && top.isEmpty()).isTrue();
    }

    @Test
    void topPZeroAnswersGreedilyAsOpenAiDoes() throws Exception {
        String greedy = postJson("/v1/chat/completions", chat(",\"temperature\":0"))
                .path("choices")
                .path(0)
                .path("message")
                .path("content")
                .asText();
        String topP0 = postJson("/v1/chat/completions", chat(",\"temperature\":1.5,\"top_p\":0,\"seed\":3"))
                .path("choices")
                .path(0)
                .path("message")
                .path("content")
                .asText();
        assertThat(topP0).isEqualTo(greedy);
    }

    @Test
    void echoWithLogprobsAndNoAnswerScoresThePromptAsLmEvalExpects() throws Exception {
        // First a greedy answer with its log-probabilities; then the prompt and that answer, scored as one prompt.
        String start = "{\"model\":\"demo\",\"temperature\":0,\"logprobs\":1,\"echo\":true,\"prompt\":";
        JsonNode answered = postJson("/v1/completions", start + "\"Once upon a time\",\"max_tokens\":6}")
                .path("choices")
                .path(0);
        String text = answered.path("text").asText();
        JsonNode scored = postJson("/v1/completions", start + Json.write(text) + ",\"max_tokens\":0}");
        JsonNode choice = scored.path("choices").path(0);

        assertThat(choice.path("text").asText()).isEqualTo(text);
        assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
        assertThat(scored.path("usage").path("completion_tokens").asInt()).isZero();
        JsonNode logprobs = choice.path("logprobs");
        int prompt = scored.path("usage").path("prompt_tokens").asInt();
        assertThat(logprobs.path("tokens").size()).isEqualTo(prompt);
        assertThat(logprobs.path("token_logprobs").size()).isEqualTo(prompt);
        assertThat(logprobs.path("top_logprobs").size()).isEqualTo(prompt);
        assertThat(logprobs.path("text_offset").size()).isEqualTo(prompt);
        assertThat(logprobs.path("token_logprobs").path(0).isNull()).isTrue(); // nothing precedes the first token
        assertThat(logprobs.path("top_logprobs").path(0).isNull()).isTrue();
        for (int i = 1; i < prompt; i++) {
            assertThat(logprobs.path("token_logprobs").path(i).asDouble()).isLessThanOrEqualTo(0.0);
            assertThat(logprobs.path("top_logprobs").path(i).size()).isEqualTo(1);
        }
        // Offsets count from the start of the echoed text; the SentencePiece space the text drops at its start
        // is the only difference between a token and the text at its offset.
        for (int i = 0; i < prompt; i++) {
            String token = logprobs.path("tokens").path(i).asText();
            int offset = logprobs.path("text_offset").path(i).asInt();
            assertThat(text.startsWith(token, offset) || offset == 0 && text.startsWith(token.stripLeading()))
                    .as("token %d %s at %d", i, Json.write(token), offset)
                    .isTrue();
        }
        // The same tokens as the answered request: echoed prompt, then answer. Scored in one prefill, each
        // answer token has the log-probability it had when it was generated, and was the most likely one.
        JsonNode generated = answered.path("logprobs");
        assertThat(logprobs.path("tokens")).isEqualTo(generated.path("tokens"));
        assertThat(logprobs.path("text_offset")).isEqualTo(generated.path("text_offset"));
        for (int i = prompt - 6; i < prompt; i++) {
            double score = logprobs.path("token_logprobs").path(i).asDouble();
            assertThat(score)
                    .isCloseTo(
                            generated.path("token_logprobs").path(i).asDouble(),
                            org.assertj.core.data.Offset.offset(1e-3));
            String token = logprobs.path("tokens").path(i).asText();
            assertThat(logprobs.path("top_logprobs").path(i).has(token))
                    .as("greedy token %d is the top one", i)
                    .isTrue();
        }
    }

    @Test
    void aNewConversationCopiesTheSystemPromptItSharesWithAStreamStillRunning() throws Exception {
        String system = "{\"role\":\"system\",\"content\":\"Tell tales of a fox named Pip and a lake.\"}";
        String streamed = "[" + system + ",{\"role\":\"user\",\"content\":\"Once upon a time\"}]";
        String asked = "[" + system + ",{\"role\":\"user\",\"content\":\"Where did Pip go?\"}]";
        int shared = sharedStart(promptTokens(streamed), promptTokens(asked));
        String question = "{\"model\":\"demo\",\"messages\":" + asked + ",\"temperature\":0,\"max_tokens\":12}";
        awaitAllSlotsFree();
        JsonNode answer;
        try (Socket reader = new Socket()) {
            reader.setReceiveBufferSize(4096); // a small window: what the reader leaves stays in the server's buffers
            reader.connect(new InetSocketAddress("127.0.0.1", server.port()));
            // Only the stream's slot holds this system prompt, and it stays busy: paused, its reader reading nothing.
            send(
                    reader,
                    "/v1/chat/completions",
                    "{\"model\":\"demo\",\"messages\":" + streamed + ",\"temperature\":0,\"max_tokens\":3900,"
                            + "\"logit_bias\":{\"2\":-100},\"logprobs\":true,\"top_logprobs\":20,\"stream\":true}");
            await(
                    "the stream has read its prompt and goes on",
                    () -> engine.health().slots().each().stream()
                            .anyMatch(slot -> slot.state().equals("generating") && slot.generatedTokens() > 0));
            answer = postJson("/v1/chat/completions", question);
            assertThat(answer.path("usage")
                            .path("prompt_tokens_details")
                            .path("cached_tokens")
                            .asInt())
                    .as("copied from the running stream's cells: %s", answer.path("usage"))
                    .isEqualTo(shared);
        }
        awaitAllSlotsFree();
        assertThat(postJson("/v1/chat/completions", question).path("choices"))
                .as("the same answer from a slot the stream left")
                .isEqualTo(answer.path("choices"));
    }

    private static int[] promptTokens(String messages) throws Exception {
        JsonNode tokens = postJson("/tokenize", "{\"model\":\"demo\",\"messages\":" + messages + "}")
                .path("tokens");
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = tokens.get(i).asInt();
        return ids;
    }

    private static int sharedStart(int[] one, int[] other) {
        int n = 0;
        while (n < one.length && n < other.length && one[n] == other[n]) n++;
        return n;
    }

    @Test
    void aSlowReaderIsPausedAtTheBacklogBoundWhileOthersAreServedAndPoisonShapesEndAlone() throws Exception {
        String alone = sseText(
                post("/v1/chat/completions", LONG_STREAM + ",\"stream\":true}").body());
        awaitAllSlotsFree();
        try (Socket reader = new Socket()) {
            reader.setReceiveBufferSize(4096); // a small window: what the reader leaves stays in the server's buffers
            reader.connect(new InetSocketAddress("127.0.0.1", server.port()));
            send(reader, "/v1/chat/completions", LONG_STREAM + ",\"stream\":true}");
            await(
                    "the stream waits for its reader",
                    () -> engine.scheduler().highestBacklog() >= Scheduler.MAX_BACKLOG);
            long paused = engine.scheduler().decodedTokens();

            // While it waits: requests that once failed every sequence of the engine are answered, alone.
            List<String> shapes = List.of(
                    chat(",\"temperature\":0,\"logprobs\":true"),
                    chat(",\"temperature\":0,\"logprobs\":true,\"top_logprobs\":0"),
                    chat(",\"temperature\":1,\"top_p\":0"),
                    "{\"model\":\"demo\",\"prompt\":\"Lily\",\"max_tokens\":6,\"logprobs\":0}",
                    "{\"model\":\"demo\",\"prompt\":\"Lily\",\"max_tokens\":0,\"echo\":true,\"logprobs\":0}");
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<HttpResponse<String>>> answers = new ArrayList<>();
                for (String shape : shapes) {
                    String path = shape.contains("\"messages\"") ? "/v1/chat/completions" : "/v1/completions";
                    Callable<HttpResponse<String>> call = () -> post(path, shape);
                    answers.add(pool.submit(call));
                }
                for (var answer : answers)
                    assertThat(answer.get().statusCode())
                            .as(answer.get().body())
                            .isEqualTo(200);
            }
            // Each answered request's slot frees just after its answer: soon only the paused stream holds one.
            await(
                    "only the paused stream holds a slot",
                    () -> engine.scheduler().busySlots() == 1);
            assertThat(engine.scheduler().highestBacklog()).isLessThanOrEqualTo(Scheduler.MAX_BACKLOG + 2);

            String streamed = sseText(dechunk(readAll(reader.getInputStream())));
            assertThat(streamed).isEqualTo(alone);
            assertThat(engine.scheduler().decodedTokens()).isGreaterThan(paused);
        }
        assertThat(engine.scheduler().highestBacklog()).isLessThanOrEqualTo(Scheduler.MAX_BACKLOG + 2);
        awaitAllSlotsFree();
    }

    @Test
    void healthReportsSlotsAndQueueWithStatusFirst() throws Exception {
        awaitAllSlotsFree();
        var health = http.send(
                HttpRequest.newBuilder(URI.create(base + "/health")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body())
                .isEqualTo(
                        "{\"status\":\"ok\",\"slots\":{\"total\":4,\"busy\":0},\"queue\":{\"waiting\":0,\"capacity\":128}}");
    }

    @Test
    void theEngineCalibratesOnceTheServerListens() throws Exception {
        await("calibrated", () -> engine.scheduler().calibrated());
        assertThat(engine.scheduler().calibrationFailed()).isFalse();
    }

    @Test
    void aStreamWaitingForASlotIsKeptAliveWithCommentsThenAnsweredAsAlone() throws Exception {
        // One slot, held by a stream whose reader does not read: a stream sent after it waits in the queue for as
        // long as the test likes, with nothing to send but the server's comments.
        var one = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(1)
                .withContextPerSequence(4096));
        try (var other = ParleyServer.start(
                one,
                ApiKeys.open(),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                ServerOptions.defaults().withSseKeepAlive(Duration.ofMillis(50)))) {
            String question = chat(",\"temperature\":0,\"stream\":true");
            String alone;
            try (Socket first = new Socket("127.0.0.1", other.port())) {
                send(first, "/v1/chat/completions", question);
                alone = sseText(dechunk(readAll(first.getInputStream())));
            }
            assertThat(alone).isNotEmpty();
            try (Socket holder = new Socket()) {
                holder.setReceiveBufferSize(4096);
                holder.connect(new InetSocketAddress("127.0.0.1", other.port()));
                send(holder, "/v1/chat/completions", LONG_STREAM + ",\"stream\":true}");
                await(
                        "the only slot's stream waits for its reader",
                        () -> one.scheduler().highestBacklog() >= Scheduler.MAX_BACKLOG);
                try (Socket waiting = new Socket("127.0.0.1", other.port())) {
                    waiting.setSoTimeout(30_000); // a server that sends no comment fails the test, not its timeout
                    send(waiting, "/v1/chat/completions", question);
                    InputStream in = waiting.getInputStream();
                    var received = new ByteArrayOutputStream();
                    String comment = ": keep-alive\n\n";
                    while (received.toString(StandardCharsets.UTF_8).split(comment, -1).length < 4) {
                        int b = in.read();
                        assertThat(b).as("the stream so far: " + received).isNotNegative();
                        received.write(b);
                    }
                    assertThat(received.toString(StandardCharsets.UTF_8)).doesNotContain("\"content\"");
                    readAll(holder.getInputStream()); // the holder reads its stream to the end, which frees the slot
                    received.write(readAll(in));
                    String body = dechunk(received.toByteArray());
                    assertThat(body).contains(comment);
                    assertThat(sseText(body)).isEqualTo(alone);
                }
            }
        }
    }

    @Test
    void healthFailsWhenTheSchedulerHasStopped() throws Exception {
        var stopped = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(1)
                .withContextPerSequence(128));
        try (var other = ParleyServer.start(stopped, "127.0.0.1", 0)) {
            String health = "http://127.0.0.1:" + other.port() + "/health";
            assertThat(http.send(
                                    HttpRequest.newBuilder(URI.create(health))
                                            .GET()
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .statusCode())
                    .isEqualTo(200);
            stopped.scheduler().close(); // its thread ends, as if it had died
            var response = http.send(
                    HttpRequest.newBuilder(URI.create(health)).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(503);
            assertThat(response.body()).startsWith("{\"status\":\"unhealthy\"");
        }
    }

    @Test
    void aClientThatLeavesBeforeItsJsonAnswerCancelsTheGenerationAndFreesTheSlot(@TempDir Path dir) throws Exception {
        // A model slow enough per token that 4000 of them take seconds, while noticing a closed socket takes a
        // fraction of one: the counts below are far apart, not a race.
        Path model = SlowModel.write(dir);
        var slow = LlamaEngine.open(
                LlamaEngineOptions.of(model).withModelId("slow").withParallel(1).withContextPerSequence(4096));
        try (var other = ParleyServer.start(slow, "127.0.0.1", 0)) {
            Scheduler scheduler = slow.scheduler();
            long before = scheduler.decodedTokens();
            try (Socket client = new Socket("127.0.0.1", other.port())) {
                send(
                        client,
                        "/v1/chat/completions",
                        "{\"model\":\"slow\",\"messages\":[{\"role\":\"user\",\"content\":\"Once\"}],"
                                + "\"max_tokens\":4000,\"logit_bias\":{\"2\":-100}}");
                await("the answer is being generated", () -> scheduler.decodedTokens() - before > 20);
            } // the client goes without its answer
            await("the slot is free again", () -> scheduler.busySlots() == 0);
            assertThat(scheduler.decodedTokens() - before).isLessThan(2000);
            var next = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + other.port() + "/v1/chat/completions"))
                            .POST(
                                    HttpRequest.BodyPublishers.ofString(
                                            "{\"model\":\"slow\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"max_tokens\":3}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(next.statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aRequestPipelinedBehindAJsonAnswerIsLeftForItsClientToSendAgain(@TempDir Path dir) throws Exception {
        // Watching for a client that leaves reads the socket; bytes of a next request cannot be put back, so the
        // answer closes the connection and that request stays unanswered. The next request is sent once the first
        // is being generated (before, the server reads both at once); 1,200 tokens of this model take seconds, and
        // the watch looks within 0.2 s. Should this thread get to send it only when the first answer is (nearly)
        // done, the server may as well answer both in turn, as for any request sent after an answer: the test then
        // checks that instead, so that it does not turn on how a busy machine schedules its threads.
        Path model = SlowModel.write(dir);
        var slow = LlamaEngine.open(
                LlamaEngineOptions.of(model).withModelId("slow").withParallel(1).withContextPerSequence(4096));
        try (var other = ParleyServer.start(slow, "127.0.0.1", 0);
                Socket client = new Socket("127.0.0.1", other.port())) {
            client.setSoTimeout(120_000); // a kept connection would leave a read below waiting: fail instead
            Scheduler scheduler = slow.scheduler();
            long before = scheduler.decodedTokens();
            keptAlive(
                    client,
                    "{\"model\":\"slow\",\"messages\":[{\"role\":\"user\",\"content\":\"Once\"}],"
                            + "\"max_tokens\":1200,\"logit_bias\":{\"2\":-100}}");
            await("the answer is being generated", () -> scheduler.decodedTokens() - before > 20);
            keptAlive(
                    client,
                    "{\"model\":\"slow\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"max_tokens\":3}");
            boolean pipelined = scheduler.decodedTokens() - before < 900; // seconds of generating left to watch in

            InputStream in = client.getInputStream();
            String first = readResponse(in);
            assertThat(Json.tree(first.substring(first.indexOf("\r\n\r\n") + 4))
                            .at("/usage/completion_tokens")
                            .asInt())
                    .isEqualTo(1200);
            boolean closes = first.substring(0, first.indexOf("\r\n\r\n"))
                    .toLowerCase(java.util.Locale.ROOT)
                    .contains("\r\nconnection: close");
            if (pipelined)
                assertThat(closes).as("the answer closes its connection").isTrue();
            if (closes) {
                assertThat(in.readAllBytes())
                        .as("the next request left unanswered")
                        .isEmpty();
            } else {
                String second = readResponse(in);
                assertThat(second).startsWith("HTTP/1.1 200");
                assertThat(Json.tree(second.substring(second.indexOf("\r\n\r\n") + 4))
                                .at("/usage/completion_tokens")
                                .asInt())
                        .isEqualTo(3);
            }
        }
    }

    /** One raw HTTP/1.1 response with a {@code Content-Length}, head and body, read to its last byte. */
    private static String readResponse(InputStream in) throws Exception {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            assertThat(b).as("a response head before the connection ends").isNotNegative();
            head.write(b);
        }
        String text = head.toString(StandardCharsets.ISO_8859_1);
        java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)\r\ncontent-length: (\\d+)")
                .matcher(text);
        assertThat(length.find()).as(text).isTrue();
        byte[] body = in.readNBytes(Integer.parseInt(length.group(1)));
        return text + new String(body, StandardCharsets.UTF_8);
    }

    private static void keptAlive(Socket socket, String body) throws Exception {
        socket.getOutputStream()
                .write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                + "Content-Length: " + body.length() + "\r\n\r\n" + body)
                        .getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
    }

    // Raw HTTP/1.1, for clients that read slowly or go away.

    private static void send(Socket socket, String path, String body) throws Exception {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST " + path
                        + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        + "Content-Length: " + bytes.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
    }

    private static byte[] readAll(InputStream in) throws Exception {
        return in.readAllBytes();
    }

    /** The body of a raw HTTP/1.1 response that ends with its connection, chunked or not. */
    private static String dechunk(byte[] response) {
        String all = new String(response, StandardCharsets.ISO_8859_1);
        int at = all.indexOf("\r\n\r\n") + 4;
        assertThat(all).startsWith("HTTP/1.1 200");
        if (!all.substring(0, at).toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
            return new String(response, at, response.length - at, StandardCharsets.UTF_8);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            int line = all.indexOf("\r\n", at);
            int size = Integer.parseInt(all.substring(at, line).trim(), 16);
            if (size == 0) break;
            body.write(response, line + 2, size);
            at = line + 2 + size + 2;
        }
        return body.toString(StandardCharsets.UTF_8);
    }

    /**
     * The text of a chat stream's content deltas; the stream must end with {@code [DONE]}, and hold nothing but
     * {@code data:} events and the server's keep-alive comments.
     */
    private static String sseText(String body) {
        StringBuilder text = new StringBuilder();
        List<String> events = List.of(body.split("\n\n"));
        assertThat(events.getLast()).isEqualTo("data: [DONE]");
        for (String event : events.subList(0, events.size() - 1)) {
            if (event.equals(": keep-alive")) continue;
            assertThat(event).startsWith("data: ");
            JsonNode delta = Json.tree(event.substring("data: ".length()))
                    .path("choices")
                    .path(0)
                    .path("delta");
            if (delta.has("content")) text.append(delta.path("content").asText());
        }
        return text.toString();
    }
}
