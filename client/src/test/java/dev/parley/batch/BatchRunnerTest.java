package dev.parley.batch;

import static dev.parley.client.ScriptedServer.Reply.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.client.ClientOptions;
import dev.parley.client.ScriptedServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner against a scripted loopback server, one request at a time, on a clock that only sleeps move. */
class BatchRunnerTest {
    static final String COMPLETION = """
            {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",\
            "choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],\
            "usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}""";
    static final String RATE_LIMITED = """
            {"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";
    static final String SERVER_ERROR = """
            {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}""";
    static final String BAD_KEY = """
            {"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""";

    @TempDir
    Path dir;

    final ScriptedServer server = ScriptedServer.start();
    final SteppingTime time = new SteppingTime();
    final List<String> heard = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        server.close();
    }

    static String chat(String content) {
        return "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content
                + "\"}],\"max_tokens\":5}";
    }

    Path input(String... lines) throws IOException {
        return Files.writeString(dir.resolve("in.jsonl"), String.join("\n", lines) + "\n");
    }

    BatchSummary run(Path input, UnaryOperator<BatchOptions.Builder> tweak) throws InterruptedException {
        return run(input, tweak, runner -> {});
    }

    BatchSummary run(
            Path input, UnaryOperator<BatchOptions.Builder> tweak, java.util.function.Consumer<BatchRunner> created)
            throws InterruptedException {
        var client = ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl())
                .apiKey("sk-batch")
                .clock(Clock.fixed(Instant.parse("2026-11-25T20:00:00Z"), ZoneOffset.UTC))
                .build();
        var options = BatchOptions.builder()
                .limits(BudgetLimits.unlimited())
                .maxConcurrency(1)
                .nanoTime(time)
                .sleeper(time)
                .random(() -> Long.MIN_VALUE) // nextDouble() = 0.5
                .listener(new BatchListener() {
                    @Override
                    public void invalidLine(long line, String message) {
                        heard.add("invalid " + line + ": " + message);
                    }

                    @Override
                    public void warning(String message) {
                        heard.add("warning: " + message);
                    }

                    @Override
                    public void paused(Duration wait, String message) {
                        heard.add("paused " + wait);
                    }
                });
        BatchRunner runner = BatchRunner.create(client, tweak.apply(options).build());
        created.accept(runner);
        return runner.run(input, dir.resolve("out.jsonl"));
    }

    List<JsonNode> results() throws IOException {
        return Files.readAllLines(dir.resolve("out.jsonl")).stream()
                .map(Json::tree)
                .toList();
    }

    @Test
    void writesOneLinePerRequestWithTheRequestItsResponseAndItsMetadata() throws Exception {
        server.enqueue(json(200, COMPLETION));
        var summary = run(
                input("{\"custom_id\":\"a\",\"metadata\":{\"row\":1},"
                        + chat("Hi").substring(1)),
                o -> o);

        JsonNode line = results().getFirst();
        assertThat(line.get("id").asText()).isEqualTo("a");
        assertThat(line.get("custom_id").asText()).isEqualTo("a");
        assertThat(line.get("line").asInt()).isEqualTo(1);
        assertThat(line.get("request").toString()).isEqualTo(chat("Hi"));
        assertThat(line.get("response")
                        .get("choices")
                        .get(0)
                        .get("message")
                        .get("content")
                        .asText())
                .isEqualTo("Hello!");
        assertThat(line.get("metadata").toString()).isEqualTo("{\"row\":1}");
        assertThat(line.get("attempts").asInt()).isEqualTo(1);
        assertThat(line.has("error")).isFalse();
        assertThat(Json.tree(server.lastRequest().body()).has("metadata")).isFalse();
        assertThat(server.lastRequest().header("authorization")).isEqualTo("Bearer sk-batch");
        assertThat(summary.progress().succeeded()).isEqualTo(1);
        assertThat(summary.progress().tokens()).isEqualTo(11); // settled by usage, not the estimate
    }

    @Test
    void fieldsTheRequestRecordsDoNotModelAreSentAsTheLineHasThem() throws Exception {
        server.enqueue(json(200, COMPLETION));
        run(input("{\"top_k\":40,\"reasoning_effort\":\"low\"," + chat("Hi").substring(1)), o -> o);
        var sent = Json.tree(server.lastRequest().body());
        assertThat(sent.get("top_k").asInt()).isEqualTo(40);
        assertThat(sent.get("reasoning_effort").asText()).isEqualTo("low");
        assertThat(sent.get("max_tokens").asInt()).isEqualTo(5);
    }

    @Test
    void after429EveryRequestPausesForTheServersWaitThenItIsSentAgain() throws Exception {
        server.enqueue(json(429, RATE_LIMITED, "retry-after-ms", "1500"), json(200, COMPLETION));
        var summary = run(input(chat("Hi")), o -> o);

        assertThat(time.sleeps()).containsExactly(Duration.ofMillis(1500));
        assertThat(heard).containsExactly("paused PT1.5S");
        assertThat(results().getFirst().get("attempts").asInt()).isEqualTo(2);
        assertThat(summary.progress().rateLimited()).isEqualTo(1);
        assertThat(summary.rateLimitedShare()).isEqualTo(0.5);
    }

    @Test
    void a429ThatSaysNoWaitPausesForTheCooldown() throws Exception {
        server.enqueue(json(429, RATE_LIMITED), json(200, COMPLETION));
        run(input(chat("Hi")), o -> o.cooldown(Duration.ofSeconds(15)));
        assertThat(time.sleeps()).containsExactly(Duration.ofSeconds(15));
    }

    @Test
    void aRequestThatKeepsFailingIsWrittenAsAFailureAfterMaxAttemptsWithItsOwnBackoff() throws Exception {
        server.enqueue(json(500, SERVER_ERROR), json(500, SERVER_ERROR), json(500, SERVER_ERROR));
        var summary = run(input(chat("Hi")), o -> o.maxAttempts(3).initialBackoff(Duration.ofSeconds(2)));

        JsonNode line = results().getFirst();
        assertThat(line.has("response")).isFalse();
        assertThat(line.get("error").get("message").asText()).isEqualTo("The server had an error");
        assertThat(line.get("status").asInt()).isEqualTo(500);
        assertThat(line.get("attempts").asInt()).isEqualTo(3);
        assertThat(time.sleeps()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2)); // half of 2 s, 4 s
        assertThat(summary.progress().failed()).isEqualTo(1);
    }

    @Test
    void aRequestTheServerRejectsAsInvalidIsWrittenAtOnce() throws Exception {
        server.enqueue(
                json(
                        404,
                        "{\"error\":{\"message\":\"The model does not exist\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}"));
        run(input(chat("Hi")), o -> o);
        assertThat(results().getFirst().get("error").get("code").asText()).isEqualTo("model_not_found");
        assertThat(server.requests()).hasSize(1);
    }

    @Test
    void badLinesBecomeErrorsWithTheirNumbersAndTheRestRuns() throws Exception {
        server.enqueue(json(200, COMPLETION), json(200, COMPLETION));
        byte[] notUtf8 = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\u00e9\"}]}"
                .getBytes(StandardCharsets.ISO_8859_1);
        var text = new java.io.ByteArrayOutputStream();
        text.writeBytes(("{oops\n" + chat("Hi") + "\n").getBytes(StandardCharsets.UTF_8));
        text.writeBytes(notUtf8);
        text.writeBytes(("\n{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":0}\n"
                        + "{\"messages\":[]}\n" + chat("Bye") + "\n")
                .getBytes(StandardCharsets.UTF_8));
        Path input = Files.write(dir.resolve("in.jsonl"), text.toByteArray());

        var summary = run(input, o -> o);

        assertThat(heard).hasSize(4);
        assertThat(heard.get(0)).startsWith("invalid 1: not JSON");
        assertThat(heard.get(1)).isEqualTo("invalid 3: not UTF-8: invalid byte 0xe9 at byte 55 of the line");
        assertThat(heard.get(2)).startsWith("invalid 4: n: ");
        assertThat(heard.get(3)).startsWith("invalid 5: ").contains("model");
        assertThat(results()).extracting(line -> line.get("line").asInt()).containsExactlyInAnyOrder(1, 2, 3, 4, 5, 6);
        assertThat(results())
                .filteredOn(line -> line.has("error"))
                .extracting(line -> line.get("error").get("code").asText() + " " + line.get("attempts"))
                .containsOnly("invalid_line 0")
                .hasSize(4);
        assertThat(summary.progress().invalid()).isEqualTo(4);
        assertThat(summary.progress().succeeded()).isEqualTo(2);

        // Invalid lines are read again on a rerun; once fixed, each is sent and written once.
        Files.write(input, List.of(chat("fixed"), chat("Hi"), chat("also fixed"), "", "", chat("Bye")));
        server.enqueue(json(200, COMPLETION), json(200, COMPLETION));
        heard.clear();
        summary = run(input, o -> o);
        assertThat(summary.progress().alreadyDone()).isEqualTo(2);
        assertThat(server.requests()).hasSize(4);
        assertThat(results()).extracting(line -> line.get("line").asInt()).containsExactlyInAnyOrder(2, 6, 1, 3);
        assertThat(results()).noneMatch(line -> line.has("error"));
    }

    @Test
    void aLineThatRanOutOfAttemptsOnLostConnectionsIsSentAgainByTheNextRunAndWrittenOnce() throws Exception {
        Path input = input(chat("one"), chat("two"));
        server.enqueue(ScriptedServer.Reply.drop(), ScriptedServer.Reply.drop(), json(200, COMPLETION));
        var summary = run(input, o -> o.maxAttempts(2));

        assertThat(summary.progress().failed()).isEqualTo(1);
        assertThat(summary.progress().retryable()).isEqualTo(1);
        assertThat(results())
                .filteredOn(line -> line.has("error"))
                .singleElement()
                .satisfies(line -> {
                    assertThat(line.get("status").asInt()).isZero();
                    assertThat(line.get("error").get("type").asText()).isEqualTo("connection_error");
                });

        server.enqueue(json(200, COMPLETION)); // the server is back
        heard.clear();
        summary = run(input, o -> o.maxAttempts(2));
        assertThat(heard).contains("warning: 1 failed lines of an earlier run are sent again");
        assertThat(summary.progress().alreadyDone()).isEqualTo(1);
        assertThat(summary.progress().succeeded()).isEqualTo(1);
        assertThat(results()).hasSize(2).noneMatch(line -> line.has("error"));
        assertThat(results()).extracting(line -> line.get("line").asInt()).containsExactlyInAnyOrder(1, 2);
    }

    @Test
    void aRequestTheServerRejectedIsDoneUnlessRetryFailedIsAsked() throws Exception {
        String notFound =
                "{\"error\":{\"message\":\"The model does not exist\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}";
        Path input = input(chat("one"));
        server.enqueue(json(404, notFound));
        run(input, o -> o);
        var summary = run(input, o -> o);
        assertThat(summary.progress().alreadyDone()).isEqualTo(1);
        assertThat(server.requests()).hasSize(1);

        server.enqueue(json(200, COMPLETION));
        summary = run(input, o -> o.retryFailed(true));
        assertThat(summary.progress().succeeded()).isEqualTo(1);
        assertThat(results())
                .singleElement()
                .satisfies(line -> assertThat(line.has("error")).isFalse());
    }

    @Test
    void aSecondRunOnTheSameResultsFileIsRefusedWhileTheFirstWritesIt() throws Exception {
        Path input = input(chat("one"));
        server.enqueue(ScriptedServer.Reply.silence());
        var first = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()
                .submit(() -> run(input, o -> o.maxAttempts(1)));
        server.awaitRequests(1);

        assertThatThrownBy(() -> run(input, o -> o))
                .isInstanceOf(java.io.UncheckedIOException.class)
                .hasMessageContaining("out.jsonl is being written by another batch run");

        server.close(); // the first run's request fails; it ends
        assertThat(first.get().progress().failed()).isEqualTo(1);
    }

    @Test
    void inInputOrderAnInterruptedRunWritesWhatFinishedSoItsCountIsTheFilesAndARerunSendsOnlyTheRest()
            throws Exception {
        Path input = input(chat("one"), chat("two"), chat("three"));
        // Whichever request arrives first is never answered; the other two are.
        server.enqueue(ScriptedServer.Reply.silence(), json(200, COMPLETION), json(200, COMPLETION));
        var runner = new java.util.concurrent.atomic.AtomicReference<BatchRunner>();
        var running = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()
                .submit(() -> run(input, o -> o.maxConcurrency(3).maxAttempts(1).keepOrder(true), runner::set));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while ((runner.get() == null
                        || runner.get().progress().written() + runner.get().heldResults() < 2)
                && System.nanoTime() < deadline) Thread.sleep(10);

        assertThat(runner.get().stopAndReleaseHeldResults()).isEqualTo(2); // what a Ctrl-C does
        assertThat(runner.get().progress().written()).isEqualTo(2);
        assertThat(results()).hasSize(2);

        server.close(); // the unanswered request fails, too late to be written
        assertThat(running.get().progress().written()).isEqualTo(2);
        assertThat(results()).hasSize(2);

        var rerun = ScriptedServer.start();
        try {
            rerun.enqueue(json(200, COMPLETION));
            var summary = BatchRunner.create(
                            ClientOptions.builder(name -> null)
                                    .baseUrl(rerun.baseUrl())
                                    .apiKey("sk")
                                    .build(),
                            BatchOptions.builder()
                                    .limits(BudgetLimits.unlimited())
                                    .keepOrder(true)
                                    .build())
                    .run(input, dir.resolve("out.jsonl"));
            assertThat(summary.progress().alreadyDone()).isEqualTo(2);
            assertThat(rerun.requests()).hasSize(1);
            assertThat(results()).extracting(line -> line.get("line").asInt()).containsExactlyInAnyOrder(1, 2, 3);
        } finally {
            rerun.close();
        }
    }

    @Test
    void readsStdinAndSaysWhyAFileCannotBeRead() throws Exception {
        server.enqueue(json(200, COMPLETION));
        var client = ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl())
                .apiKey("sk-batch")
                .build();
        var summary = BatchRunner.create(
                        client,
                        BatchOptions.builder().limits(BudgetLimits.unlimited()).build())
                .run(
                        new java.io.ByteArrayInputStream(chat("Hi").getBytes(StandardCharsets.UTF_8)),
                        "stdin",
                        dir.resolve("out.jsonl"));
        assertThat(summary.progress().succeeded()).isEqualTo(1);
        assertThat(summary.progress().lines()).isEqualTo(1);

        assertThatThrownBy(() -> run(dir.resolve("missing.jsonl"), o -> o))
                .hasMessage("cannot read " + dir.resolve("missing.jsonl") + ": no such file or directory");
    }

    static final String NOT_FOUND =
            "{\"error\":{\"message\":\"The model does not exist\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}";

    /** A line with a custom_id and metadata whose user message is {@code content}. */
    static String line(String id, String content) {
        return "{\"custom_id\":\"" + id + "\",\"metadata\":{\"row\":\"" + id + "\"},"
                + chat(content).substring(1);
    }

    /** Answers each request by its user message: "ok" 200, "missing" 404, "down" a dropped connection. */
    void answerByContent(String... contents) {
        for (String content : contents) {
            server.enqueue(
                    switch (content) {
                        case "ok" -> json(200, COMPLETION, "x-request-id", "req_1");
                        case "missing" -> json(404, NOT_FOUND);
                        default -> ScriptedServer.Reply.drop();
                    });
        }
    }

    @Test
    void openAiBatchResultsAreTheBatchApisOutputLinesAndAResumeReadsThem() throws Exception {
        Path input = input(line("a", "ok"), line("b", "missing"), line("c", "down"), "{oops");
        answerByContent("ok", "missing", "down");
        run(input, o -> o.resultFormat(ResultFormat.OPENAI_BATCH).maxAttempts(1));

        var byId = new java.util.HashMap<String, JsonNode>();
        results().forEach(line -> byId.put(line.get("custom_id").asText(), line));
        assertThat(byId.get("a").get("id").asText()).startsWith("batch_req_");
        assertThat(byId.get("a").get("response").get("status_code").asInt()).isEqualTo(200);
        assertThat(byId.get("a").get("response").get("request_id").asText()).isEqualTo("req_1");
        assertThat(byId.get("a").get("response").get("body").get("object").asText())
                .isEqualTo("chat.completion");
        assertThat(byId.get("a").get("error").isNull()).isTrue();
        assertThat(byId.get("b").get("response").get("status_code").asInt()).isEqualTo(404);
        assertThat(byId.get("b")
                        .get("response")
                        .get("body")
                        .get("error")
                        .get("code")
                        .asText())
                .isEqualTo("model_not_found");
        assertThat(byId.get("c").get("response").isNull()).isTrue();
        assertThat(byId.get("c").get("error").get("code").asText()).isEqualTo("connection_error");
        String invalidId = LineReader.identity(4, null, "{oops");
        assertThat(byId.get(invalidId).get("error").get("code").asText()).isEqualTo("invalid_line");

        answerByContent("ok"); // c's server is back
        var summary = run(input, o -> o.resultFormat(ResultFormat.OPENAI_BATCH));
        assertThat(server.requests()).hasSize(4);
        assertThat(summary.progress().alreadyDone()).isEqualTo(2);
        assertThat(results())
                .extracting(line -> line.get("custom_id").asText())
                .containsExactlyInAnyOrder("a", "b", "c", invalidId);
    }

    @Test
    void cookbookResultsAreTheScriptsArraysAndAResumeReadsThem() throws Exception {
        Path input = input(line("a", "ok"), line("b", "missing"), line("c", "down"), chat("ok"), chat("ok"), "{oops");
        answerByContent("ok", "missing", "down", "ok", "ok");
        run(input, o -> o.resultFormat(ResultFormat.COOKBOOK).maxAttempts(1));

        List<JsonNode> lines = results();
        assertThat(lines)
                .hasSize(5)
                .allSatisfy(line -> assertThat(line.isArray()).isTrue());
        JsonNode a = lines.stream()
                .filter(line -> line.get(0).path("custom_id").asText().equals("a"))
                .findFirst()
                .orElseThrow();
        assertThat(a.get(0).has("metadata")).isFalse();
        assertThat(a.get(0).get("messages").get(0).get("content").asText()).isEqualTo("ok");
        assertThat(a.get(1).get("object").asText()).isEqualTo("chat.completion");
        assertThat(a.get(2).toString()).isEqualTo("{\"row\":\"a\"}");
        assertThat(lines)
                .filteredOn(line -> line.get(1).isArray())
                .extracting(line -> line.get(1).get(0).asText())
                .hasSize(2)
                .contains("HTTP 404: The model does not exist")
                .anySatisfy(error -> assertThat(error).startsWith("connection error: "));
        // As the script writes them: [request, response, metadata], or [request, response] without metadata.
        assertThat(lines).filteredOn(line -> line.size() == 3).hasSize(3);
        assertThat(lines).filteredOn(line -> line.size() == 2).hasSize(2);

        answerByContent("ok"); // the dropped one, again
        var summary = run(input, o -> o.resultFormat(ResultFormat.COOKBOOK));
        assertThat(summary.progress().alreadyDone()).isEqualTo(4); // the two identical lines count twice
        assertThat(server.requests()).hasSize(6);
        assertThat(results())
                .hasSize(5)
                .filteredOn(line -> line.get(1).isArray())
                .hasSize(1);
    }

    @Test
    void aLineWithALoneSurrogateIsSentEchoedAndResumedAsItWasRead() throws Exception {
        String cut = "{\"custom_id\":\"cut\"," + chat("Hi \\ud83d").substring(1); // half an emoji, escaped
        for (ResultFormat format : ResultFormat.values()) {
            Files.deleteIfExists(dir.resolve("out.jsonl"));
            Path input = input(cut);
            answerByContent("ok");
            run(input, o -> o.resultFormat(format));
            assertThat(server.lastRequest().body()).as(format.name()).containsIgnoringCase("\\ud83d");
            List<JsonNode> lines = results();
            assertThat(lines).as(format.name()).hasSize(1);
            if (format != ResultFormat.OPENAI_BATCH) {
                JsonNode request = format == ResultFormat.COOKBOOK
                        ? lines.getFirst().get(0)
                        : lines.getFirst().get("request");
                assertThat(request.path("messages").path(0).path("content").asText())
                        .as(format.name())
                        .isEqualTo("Hi \ud83d");
            }

            var summary = run(input, o -> o.resultFormat(format)); // nothing left to do: nothing sent again
            assertThat(summary.progress().alreadyDone()).as(format.name()).isEqualTo(1);
            assertThat(results()).as(format.name()).hasSize(1);
        }
        assertThat(server.requests()).hasSize(ResultFormat.values().length);
    }

    @Test
    void aCookbookFailureListsTheErrorOfEveryAttemptInOrder() throws Exception {
        server.enqueue(json(500, SERVER_ERROR), json(429, RATE_LIMITED), ScriptedServer.Reply.drop());
        server.enqueue(json(500, SERVER_ERROR), json(200, COMPLETION));
        Path input = input(line("a", "one"), "{\"metadata\":{}," + chat("two").substring(1));

        run(input, o -> o.resultFormat(ResultFormat.COOKBOOK).maxAttempts(3).maxConcurrency(1));

        List<JsonNode> lines = results();
        assertThat(lines).hasSize(2);
        JsonNode failed = lines.get(0);
        assertThat(failed).hasSize(3);
        assertThat(failed.get(1))
                .extracting(JsonNode::asText)
                .containsExactly(
                        "HTTP 500: The server had an error",
                        "HTTP 429: Rate limit reached for requests",
                        failed.get(1).get(2).asText());
        assertThat(failed.get(1).get(2).asText()).startsWith("connection error: ");
        assertThat(failed.get(2).toString()).isEqualTo("{\"row\":\"a\"}");
        // A success after a failure is the response alone; an empty metadata is left out, as Python's `if`.
        JsonNode succeeded = lines.get(1);
        assertThat(succeeded).hasSize(2);
        assertThat(succeeded.get(1).get("object").asText()).isEqualTo("chat.completion");
        assertThat(succeeded.get(0).has("metadata")).isFalse();

        // The rerun reads the failure back by its last error (a lost connection: sent again), and the success
        // takes the failure's place.
        server.enqueue(json(200, COMPLETION));
        var summary = run(input, o -> o.resultFormat(ResultFormat.COOKBOOK));
        assertThat(summary.progress().alreadyDone()).isEqualTo(1);
        assertThat(results())
                .hasSize(2)
                .allSatisfy(line -> assertThat(line.get(1).isObject()).isTrue());
    }

    @Test
    void aRerunSkipsWhatIsWrittenAndDoesTheRest() throws Exception {
        Path input = input(chat("one"), chat("two"), chat("three"));
        String first = LineReader.identity(1, null, chat("one"));
        Files.writeString(
                dir.resolve("out.jsonl"),
                "{\"id\":\"" + first + "\",\"line\":1}\n{\"id\":\"line-2-"); // crashed mid-line
        server.enqueue(json(200, COMPLETION), json(200, COMPLETION));

        var summary = run(input, o -> o);

        assertThat(server.requests())
                .extracting(r -> Json.tree(r.body())
                        .get("messages")
                        .get(0)
                        .get("content")
                        .asText())
                .containsExactly("two", "three");
        assertThat(results()).extracting(line -> line.get("line").asInt()).containsExactly(1, 2, 3);
        assertThat(summary.progress().alreadyDone()).isEqualTo(1);
        assertThat(heard).singleElement().asString().contains("unfinished last line");
    }

    @Test
    void anInvalidApiKeyStopsTheRunAndWritesNothingForIt() throws Exception {
        server.enqueue(json(401, BAD_KEY));
        var summary = run(input(chat("one"), chat("two")), o -> o);

        assertThat(summary.stoppedBy()).contains("Incorrect API key");
        assertThat(server.requests()).hasSize(1);
        assertThat(Files.readString(dir.resolve("out.jsonl"))).isEmpty();
    }
}
