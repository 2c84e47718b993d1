package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.batch.BatchOptions;
import dev.parley.batch.BatchRunner;
import dev.parley.batch.BudgetLimits;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.server.ParleyServer;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.testkit.RedisServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code parley batch} against the real server on loopback with the demo model through llama.cpp. */
@Timeout(120)
class BatchCommandTest {
    static ParleyServer server;
    static String baseUrl;

    @TempDir
    Path dir;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    @BeforeAll
    static void start() {
        var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(4)
                .withContextPerSequence(256));
        server = ParleyServer.start(engine, "127.0.0.1", 0);
        baseUrl = "http://127.0.0.1:" + server.port() + "/v1";
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Chat lines, every third a legacy completion, every other one with a custom_id and metadata. */
    static List<String> requests(int count) {
        return IntStream.range(0, count)
                .mapToObj(i -> {
                    String head =
                            i % 2 == 0 ? "{\"custom_id\":\"story-" + i + "\",\"metadata\":{\"i\":" + i + "}," : "{";
                    return i % 3 == 2
                            ? head + "\"model\":\"demo\",\"prompt\":\"Lily and Tom " + i
                                    + "\",\"max_tokens\":6,\"temperature\":0}"
                            : head
                                    + "\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time "
                                    + i + "\"}],\"max_tokens\":6,\"temperature\":0}";
                })
                .toList();
    }

    int parley(String... args) {
        CommandLine command = Main.commandLine();
        command.setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
        return command.execute(args);
    }

    static List<JsonNode> results(Path file) throws IOException {
        return Files.readAllLines(file).stream().map(Json::tree).toList();
    }

    @Test
    void optionsOutOfTheirLimitsAreRefusedInTheirOwnNamesBeforeAnythingIsSent() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(2));
        String[][] cases = {
            {"--max-attempts", "0", "--max-attempts must be at least 1, not 0"},
            {"--max-concurrency", "0", "--max-concurrency must be at least 1, not 0"},
            {"--max-requests-per-minute", "0", "--max-requests-per-minute must be more than 0 and at most 1e12, not 0"},
            {"--max-tokens-per-minute", "NaN", "--max-tokens-per-minute must be more than 0 and at most 1e12, not NaN"},
            {"--burst", "-1", "--burst must be more than 0 and at most 86400 seconds, not -1"},
            {"--cooldown", "-0.5", "--cooldown must be between 0 and 86400 seconds, not -0.5"},
        };
        for (String[] c : cases) {
            err.getBuffer().setLength(0);
            Path output = dir.resolve("out-" + c[0].substring(2) + ".jsonl");
            assertThat(parley("batch", input.toString(), "-o", output.toString(), "--base-url", baseUrl, c[0], c[1]))
                    .as(c[0])
                    .isEqualTo(2);
            assertThat(err.toString()).isEqualTo("parley batch: " + c[2] + System.lineSeparator());
            assertThat(output).doesNotExist();
        }

        err.getBuffer().setLength(0);
        Path output = dir.resolve("out-encoding.jsonl");
        assertThat(parley(
                        "batch",
                        input.toString(),
                        "-o",
                        output.toString(),
                        "--base-url",
                        baseUrl,
                        "--token-encoding",
                        "nope"))
                .isEqualTo(Failures.EXIT);
        assertThat(err.toString())
                .startsWith("parley batch: unknown encoding 'nope'")
                .doesNotContain("\tat ");
        assertThat(output).doesNotExist();

        err.getBuffer().setLength(0);
        assertThat(parley("batch", input.toString(), "--results-format", "nope"))
                .isEqualTo(2);
        assertThat(err.toString().lines().findFirst().orElseThrow())
                .isEqualTo("parley batch: Invalid value for option '--results-format': unknown results format 'nope':"
                        + " parley, openai-batch or cookbook");
    }

    @Test
    void sendsEveryLineToARealServerAndReportsBadLinesByNumber() throws Exception {
        Path input = dir.resolve("in.jsonl");
        var lines = new java.util.ArrayList<>(requests(30));
        lines.add(7, "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":5}");
        Files.write(input, lines);
        Path output = dir.resolve("out.jsonl");

        int exit = parley(
                "batch",
                input.toString(),
                "--output",
                output.toString(),
                "--base-url",
                baseUrl,
                "--api-key",
                "none",
                "--max-concurrency",
                "4");

        assertThat(exit).isEqualTo(BatchCommand.EXIT_SOME_FAILED);
        assertThat(err.toString()).contains("line 8 invalid, written as an error: temperature");
        List<JsonNode> all = results(output);
        assertThat(all).hasSize(31);
        assertThat(all).filteredOn(line -> line.has("error")).singleElement().satisfies(line -> {
            assertThat(line.get("line").asInt()).isEqualTo(8);
            assertThat(line.get("error").get("code").asText()).isEqualTo("invalid_line");
        });
        List<JsonNode> results = all.stream().filter(line -> !line.has("error")).toList();
        assertThat(results).hasSize(30).allSatisfy(line -> {
            assertThat(line.has("error")).as(line.toString()).isFalse();
            assertThat(line.get("response")
                            .get("usage")
                            .get("completion_tokens")
                            .asInt())
                    .isPositive();
        });
        assertThat(results)
                .filteredOn(line -> line.get("request").has("prompt"))
                .allSatisfy(line ->
                        assertThat(line.get("response").get("object").asText()).isEqualTo("text_completion"));
        assertThat(results)
                .filteredOn(line -> line.has("custom_id"))
                .allSatisfy(line -> assertThat(line.get("metadata").get("i").asInt())
                        .isEqualTo(
                                Integer.parseInt(line.get("custom_id").asText().substring(6))));
        assertThat(out.toString()).contains("parley batch: 30 succeeded, 0 failed, 1 invalid");
    }

    @Test
    void sendsResponsesApiLinesAndCountsTheirUsage() throws Exception {
        Path input = dir.resolve("responses.jsonl");
        Files.write(
                input,
                List.of(
                        "{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/responses\",\"body\":{\"model\":\"demo\","
                                + "\"instructions\":\"Tell a story.\",\"input\":\"Once upon a time\",\"max_output_tokens\":6,"
                                + "\"temperature\":0}}",
                        "{\"custom_id\":\"b\",\"model\":\"demo\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
                                + "\"input_text\",\"text\":\"Lily and Tom\"}]}],\"max_output_tokens\":5,\"stream\":true}",
                        "{\"custom_id\":\"c\",\"model\":\"demo\",\"input\":\"Hi\",\"max_output_tokens\":0.5}",
                        "{\"custom_id\":\"d\",\"model\":\"demo\",\"input\":\"Hi\",\"previous_response_id\":\"resp_1\"}"));
        Path output = dir.resolve("responses-out.jsonl");

        int exit = parley("batch", input.toString(), "-o", output.toString(), "--base-url", baseUrl, "--api-key", "x");

        assertThat(exit).isEqualTo(BatchCommand.EXIT_SOME_FAILED);
        assertThat(err.toString()).contains("line 3 invalid, written as an error: max_output_tokens");
        var byId = new java.util.HashMap<String, JsonNode>();
        for (JsonNode line : results(output))
            byId.put("abcd".substring(line.get("line").asInt() - 1).substring(0, 1), line);
        assertThat(byId).containsOnlyKeys("a", "b", "c", "d");
        assertThat(byId.get("c").at("/error/code").asText()).isEqualTo("invalid_line");
        for (String id : List.of("a", "b")) {
            assertThat(byId.get(id).has("response")).as(byId.get(id).toString()).isTrue();
            JsonNode response = byId.get(id).get("response");
            assertThat(response.get("object").asText()).as(id).isEqualTo("response");
            assertThat(response.at("/output/0/content/0/text").asText()).as(id).isNotEmpty();
            assertThat(response.at("/usage/output_tokens").asInt()).isEqualTo(id.equals("a") ? 6 : 5);
        }
        // Sent whole, never streamed; the instructions read as the server reads them.
        assertThat(byId.get("b").get("request").has("stream")).isFalse();
        assertThat(byId.get("a").at("/response/instructions").asText()).isEqualTo("Tell a story.");
        // A line the server refuses is an error of its own, with the server's words.
        assertThat(byId.get("d").at("/error/param").asText()).isEqualTo("previous_response_id");

        // The script's command line, its URL naming the Responses API: every line goes there.
        Path scripted = dir.resolve("scripted.jsonl");
        Files.write(scripted, List.of("{\"model\":\"demo\",\"input\":\"Once upon a time\",\"max_output_tokens\":3}"));
        assertThat(parley(
                        "batch",
                        "--requests_filepath",
                        scripted.toString(),
                        "--request_url",
                        baseUrl + "/responses",
                        "--api_key",
                        "none"))
                .as(err.toString())
                .isZero();
        assertThat(results(dir.resolve("scripted_results.jsonl")))
                .singleElement()
                .satisfies(
                        line -> assertThat(line.get(1).get("object").asText()).isEqualTo("response"));

        // The library call the batch makes, on its own.
        try (var client = ParleyClient.create(
                ClientOptions.builder(name -> null).baseUrl(baseUrl).apiKey("x").build())) {
            var body = Json.mapper().createObjectNode().put("model", "demo").put("input", "Once upon a time");
            body.put("max_output_tokens", 4).put("temperature", 0).put("stream", true);
            var response = client.responses(body);
            assertThat(response.get("status").asText()).isEqualTo("incomplete");
            assertThat(response.at("/usage/output_tokens").asInt()).isEqualTo(4);
            assertThat(body.get("stream").asBoolean())
                    .as("the caller's body is left as it was")
                    .isTrue();

            // Streamed from a real server: numbered events, the deltas making the text the last event carries.
            var deltas = new StringBuilder();
            List<String> types = new java.util.ArrayList<>();
            try (var stream = client.streamResponses(body)) {
                for (var event : stream) {
                    assertThat(event.path("sequence_number").asInt()).isEqualTo(types.size());
                    types.add(event.path("type").asText());
                    if (types.getLast().equals("response.output_text.delta"))
                        deltas.append(event.path("delta").asText());
                }
            }
            assertThat(types).startsWith("response.created").endsWith("response.incomplete");
            assertThat(deltas.toString())
                    .isNotEmpty()
                    .isEqualTo(response.at("/output/0/content/0/text").asText());
            assertThat(client.streamResponses(body)
                            .response()
                            .at("/usage/output_tokens")
                            .asInt())
                    .isEqualTo(4);
        }
    }

    @Test
    void keepsUnderTheClientSideLimits() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(60));
        var client = ClientOptions.builder(name -> null)
                .baseUrl(baseUrl)
                .apiKey("none")
                .build();
        // 1200 requests a minute is 20 a second: the 60 take about 3 s after the first half-second's burst.
        var summary = BatchRunner.create(
                        client,
                        BatchOptions.builder()
                                .limits(new BudgetLimits(1200, 1_000_000, Duration.ofSeconds(1)))
                                .maxConcurrency(8)
                                .build())
                .run(input, dir.resolve("out.jsonl"));

        System.out.println("[batch against parley] " + summary.describe());
        assertThat(summary.progress().succeeded()).isEqualTo(60);
        assertThat(summary.usage().requestsSpent())
                .isLessThanOrEqualTo(summary.usage().requestsOffered());
        // How much of the limit it uses depends on how fast this machine serves the model: a benchmark's
        // question (see BatchBenchmark in docs/benchmarks.md), not a test's.
    }

    @Test
    void afterSigkillMidRunTheSameCommandFinishesWithEveryLineExactlyOnce() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(60));
        Path output = dir.resolve("out.jsonl");
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // 300 a minute: five a second, so the child is mid-run for a good ten seconds.
        Process child = new ProcessBuilder(
                        java,
                        "-cp",
                        classpath,
                        "dev.parley.cli.Main",
                        "batch",
                        input.toString(),
                        "--output",
                        output.toString(),
                        "--base-url",
                        baseUrl,
                        "--api-key",
                        "none",
                        "--max-requests-per-minute",
                        "300",
                        "--max-concurrency",
                        "2",
                        "--log-level",
                        "ERROR")
                .redirectOutput(dir.resolve("child.out").toFile())
                .redirectError(dir.resolve("child.err").toFile())
                .start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (lineCount(output) < 8 && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
            assertThat(child.isAlive())
                    .as("child still running; stderr: %s", Files.readString(dir.resolve("child.err")))
                    .isTrue();
        } finally {
            child.destroyForcibly().waitFor();
        }
        long written = lineCount(output);
        assertThat(written).isBetween(8L, 59L);
        Files.writeString(
                output, "{\"id\":\"story-58\",\"line\":59,\"requ", StandardOpenOption.APPEND); // a torn last write

        int exit = parley(
                "batch", input.toString(), "--output", output.toString(), "--base-url", baseUrl, "--api-key", "none");

        assertThat(exit).as(err.toString()).isZero();
        List<JsonNode> results = results(output);
        assertThat(results).hasSize(60);
        assertThat(new TreeSet<>(
                        results.stream().map(line -> line.get("line").asLong()).toList()))
                .containsExactlyElementsOf(LongStream.rangeClosed(1, 60).boxed().toList());
        assertThat(new TreeSet<>(
                        results.stream().map(line -> line.get("id").asText()).toList()))
                .hasSize(60);
        assertThat(out.toString()).contains("%d already done".formatted(written));
        assertThat(err.toString()).contains("cutting off an unfinished last line");
    }

    @Test
    void withRedisTheBudgetIsSharedThereAndEveryLineIsSent() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(6));
        Path output = dir.resolve("out.jsonl");
        try (var redis = RedisServer.start()) {
            int exit = parley(
                    "batch",
                    input.toString(),
                    "--output",
                    output.toString(),
                    "--base-url",
                    baseUrl,
                    "--api-key",
                    "none",
                    "--max-concurrency",
                    "4",
                    "--redis",
                    redis.uri().toString());

            assertThat(exit).as(err.toString()).isZero();
            assertThat(err.toString()).contains("shared in Redis at 127.0.0.1:" + redis.port());
            assertThat(results(output)).hasSize(6);
            assertThat(out.toString()).contains("parley batch: 6 succeeded, 0 failed");
        }
    }

    @Test
    void helpMapsTheSeedScriptsFlagsAndDefaults() {
        parley("batch", "--help");
        assertThat(out.toString())
                .contains("--max-requests-per-minute=N", "(default: 1500)", "(default: 125000)", "(default: 5)")
                .contains("--max_requests_per_minute", "--token_encoding_name", "--logging_level", "--save_filepath")
                .contains("--requests_filepath F      INPUT", "--request_url URL", "15 s pause");
    }

    @Test
    void aSeedStyleCommandLineWorksAsIsAndWritesTheScriptsArrays() throws Exception {
        Path input = dir.resolve("requests.jsonl");
        Files.write(input, requests(2)); // both chat: the URL says so
        int exit = parley(
                "batch",
                "--requests_filepath",
                input.toString(),
                "--request_url",
                baseUrl + "/chat/completions",
                "--api_key",
                "none",
                "--max_requests_per_minute",
                "1500",
                "--max_tokens_per_minute=125000",
                "--token_encoding_name",
                "cl100k_base",
                "--max_attempts",
                "5",
                "--logging_level",
                "20");
        assertThat(exit).as(err.toString()).isZero();
        List<JsonNode> results = results(dir.resolve("requests_results.jsonl"));
        assertThat(results).hasSize(2).allSatisfy(line -> {
            assertThat(line.isArray()).isTrue();
            assertThat(line.get(0).has("metadata")).isFalse();
            assertThat(line.get(1).get("object").asText()).isEqualTo("chat.completion");
        });
        assertThat(results)
                .filteredOn(line -> line.get(0).has("custom_id"))
                .singleElement()
                .satisfies(line -> assertThat(line.get(2).toString()).isEqualTo("{\"i\":0}"));
        assertThat(results)
                .filteredOn(line -> !line.get(0).has("custom_id"))
                .singleElement()
                .satisfies(line -> assertThat(line).hasSize(2)); // no metadata: [request, response], as the script
    }

    @Test
    void theScriptsFlagsMayBeShortenedAsArgparseTakesThem() throws Exception {
        Path input = dir.resolve("short.jsonl");
        Files.write(input, requests(2));
        int exit = parley(
                "batch",
                "--requests_file",
                input.toString(),
                "--request_u=" + baseUrl + "/chat/completions",
                "--api",
                "none",
                "--max_req",
                "1500",
                "--max_tok=125000",
                "--token_enc",
                "cl100k_base",
                "--max_att",
                "5",
                "--log",
                "20");
        assertThat(exit).as(err.toString()).isZero();
        assertThat(results(dir.resolve("short_results.jsonl")))
                .hasSize(2)
                .allSatisfy(
                        line -> assertThat(line.get(1).get("object").asText()).isEqualTo("chat.completion"));
    }

    @Test
    void aPrefixOfSeveralOfTheScriptsFlagsIsAnErrorNamingThem() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(1));
        assertThat(parley("batch", input.toString(), "--max", "60")).isEqualTo(2);
        assertThat(err.toString())
                .contains("parley batch: ambiguous option: --max could match --max_requests_per_minute, "
                        + "--max_tokens_per_minute, --max_attempts");
        assertThat(parley("batch", "--request", input.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("--request could match --requests_filepath, --request_url");
        // Parley's own flags are taken by their whole names only.
        assertThat(parley("batch", input.toString(), "--max-con", "2")).isEqualTo(2);
        assertThat(err.toString()).contains("Unknown options: '--max-con'");
        assertThat(Files.exists(dir.resolve("in_results.jsonl"))).isFalse();
    }

    @Test
    void loggingLevelsAreTakenByNameAndByPythonsNumbers() {
        assertThat(BatchCommand.LogLevel.parse("10")).isEqualTo(BatchCommand.LogLevel.DEBUG);
        assertThat(BatchCommand.LogLevel.parse("20")).isEqualTo(BatchCommand.LogLevel.INFO);
        assertThat(BatchCommand.LogLevel.parse("30")).isEqualTo(BatchCommand.LogLevel.WARNING);
        assertThat(BatchCommand.LogLevel.parse("40")).isEqualTo(BatchCommand.LogLevel.ERROR);
        assertThat(BatchCommand.LogLevel.parse("warn")).isEqualTo(BatchCommand.LogLevel.WARNING);
        assertThat(BatchCommand.LogLevel.parse("CRITICAL")).isEqualTo(BatchCommand.LogLevel.ERROR);
        assertThat(parley("batch", "x.jsonl", "--logging_level", "loud")).isEqualTo(2);
        assertThat(err.toString()).contains("'loud' is not a logging level");
    }

    @Test
    void openAiBatchResultsFromStdin() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(
                input,
                List.of(
                        "{\"custom_id\":\"q1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":"
                                + "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4}}",
                        "{\"custom_id\":\"q2\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":"
                                + "{\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4}}"));
        Path output = dir.resolve("out.jsonl");
        Process child = new ProcessBuilder(childCommand("-", output, "--results-format", "openai-batch"))
                .redirectInput(input.toFile())
                .redirectOutput(dir.resolve("child.out").toFile())
                .redirectError(dir.resolve("child.err").toFile())
                .start();
        assertThat(child.waitFor())
                .as(Files.readString(dir.resolve("child.err")))
                .isEqualTo(BatchCommand.EXIT_SOME_FAILED);

        var byId = new java.util.HashMap<String, JsonNode>();
        results(output).forEach(line -> byId.put(line.get("custom_id").asText(), line));
        assertThat(byId).containsOnlyKeys("q1", "q2");
        assertThat(byId.get("q1").get("response").get("status_code").asInt()).isEqualTo(200);
        assertThat(byId.get("q1").get("response").get("request_id").asText()).startsWith("req_");
        assertThat(byId.get("q1").get("response").get("body").get("object").asText())
                .isEqualTo("chat.completion");
        assertThat(byId.get("q2").get("response").get("status_code").asInt()).isEqualTo(404);
        assertThat(byId.get("q2")
                        .get("response")
                        .get("body")
                        .get("error")
                        .get("code")
                        .asText())
                .isEqualTo("model_not_found");
        assertThat(Files.readString(dir.resolve("child.out"))).contains("1 succeeded, 1 failed");
    }

    /** Starts {@code parley batch} in a JVM of its own, as a user's second terminal would. */
    Process child(Path input, Path output, String... more) throws IOException {
        return new ProcessBuilder(childCommand(input.toString(), output, more))
                .redirectOutput(dir.resolve("child.out").toFile())
                .redirectError(dir.resolve("child.err").toFile())
                .start();
    }

    static List<String> childCommand(String input, Path output, String... more) {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var command = new java.util.ArrayList<>(List.of(
                java,
                "-cp",
                classpath,
                "dev.parley.cli.Main",
                "batch",
                input,
                "--output",
                output.toString(),
                "--base-url",
                baseUrl,
                "--api-key",
                "none"));
        command.addAll(List.of(more));
        return command;
    }

    void awaitLines(Path output, long lines, Process child) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (lineCount(output) < lines && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(child.isAlive())
                .as("child still running; stderr: %s", Files.readString(dir.resolve("child.err")))
                .isTrue();
    }

    static void assertEveryLineExactlyOnce(Path output, int lines) throws IOException {
        List<JsonNode> results = results(output);
        assertThat(results).hasSize(lines);
        assertThat(new TreeSet<>(
                        results.stream().map(line -> line.get("line").asLong()).toList()))
                .containsExactlyElementsOf(
                        LongStream.rangeClosed(1, lines).boxed().toList());
    }

    @Test
    void aSecondRunOnTheSameOutputIsRefusedWhileTheFirstWritesItAndTheFirstFinishesAlone() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(30));
        Path output = dir.resolve("out.jsonl");
        // 600 a minute, two at a time: the first run takes a few seconds.
        Process first = child(input, output, "--max-requests-per-minute", "600", "--max-concurrency", "2");
        try {
            awaitLines(output, 1, first);
            int exit = parley(
                    "batch",
                    input.toString(),
                    "--output",
                    output.toString(),
                    "--base-url",
                    baseUrl,
                    "--api-key",
                    "none");

            assertThat(exit).isEqualTo(Failures.EXIT);
            assertThat(err.toString()).contains("parley batch: " + output + " is being written by another batch run");
            assertThat(first.waitFor())
                    .as(Files.readString(dir.resolve("child.err")))
                    .isZero();
        } finally {
            first.destroyForcibly().waitFor();
        }
        assertEveryLineExactlyOnce(output, 30);
    }

    @Test
    void aServerThatIsDownFailsEveryLineRetryablyAndTheRerunOnceItIsUpSendsThemAll() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(6));
        Path output = dir.resolve("out.jsonl");
        int port;
        try (var free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        String down = "http://127.0.0.1:" + port + "/v1";

        int exit = parley(
                "batch",
                input.toString(),
                "--output",
                output.toString(),
                "--base-url",
                down,
                "--api-key",
                "none",
                "--max-attempts",
                "2");

        assertThat(exit).isEqualTo(BatchCommand.EXIT_SOME_FAILED);
        assertThat(results(output)).hasSize(6).allSatisfy(line -> {
            assertThat(line.get("status").asInt()).isZero();
            assertThat(line.get("attempts").asInt()).isEqualTo(2);
            assertThat(line.get("error").get("type").asText()).isEqualTo("connection_error");
            assertThat(line.get("errors"))
                    .hasSize(2)
                    .allSatisfy(error -> assertThat(error.asText()).startsWith("connection error: "));
        });
        assertThat(out.toString()).contains("6 failed on errors that may pass on another try");

        var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(2)
                .withContextPerSequence(256));
        try (var up = ParleyServer.start(engine, "127.0.0.1", port)) {
            out.getBuffer().setLength(0);
            exit = parley(
                    "batch", input.toString(), "--output", output.toString(), "--base-url", down, "--api-key", "none");
            assertThat(exit).as(err.toString()).isZero();
        }
        assertThat(err.toString()).contains("6 failed lines of an earlier run are sent again");
        assertThat(out.toString()).contains("6 succeeded, 0 failed, 0 invalid, 0 already done");
        assertEveryLineExactlyOnce(output, 6);
        assertThat(results(output)).noneMatch(line -> line.has("error"));
    }

    @Test
    void aScriptCommandLineAgainstAServerThatIsDownWritesEveryAttemptsErrorAsTheScriptDoes() throws Exception {
        Path input = dir.resolve("requests.jsonl");
        Files.write(input, requests(2)); // the first with metadata, the second without
        int port;
        try (var free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        int exit = parley(
                "batch",
                "--requests_filepath",
                input.toString(),
                "--request_url",
                "http://127.0.0.1:" + port + "/v1/chat/completions",
                "--api_key",
                "none",
                "--max_attempts",
                "3");

        assertThat(exit).isEqualTo(BatchCommand.EXIT_SOME_FAILED);
        List<JsonNode> results = results(dir.resolve("requests_results.jsonl"));
        assertThat(results)
                .hasSize(2)
                .allSatisfy(line -> assertThat(line.get(1))
                        .hasSize(3)
                        .allSatisfy(error -> assertThat(error.asText()).startsWith("connection error: ")));
        assertThat(results)
                .filteredOn(line -> line.get(0).has("custom_id"))
                .singleElement()
                .satisfies(line -> assertThat(line.get(2).toString()).isEqualTo("{\"i\":0}"));
        assertThat(results)
                .filteredOn(line -> !line.get(0).has("custom_id"))
                .singleElement()
                .satisfies(line -> assertThat(line).hasSize(2));
    }

    @Test
    void aLineTheServerRejectsIsDoneUntilRetryFailedSendsItAgainStillOneLine() throws Exception {
        Path input = dir.resolve("in.jsonl");
        List<String> lines = new java.util.ArrayList<>(requests(2));
        lines.add(
                "{\"custom_id\":\"missing\",\"model\":\"nope\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        Files.write(input, lines);
        Path output = dir.resolve("out.jsonl");
        String[] command = {
            "batch", input.toString(), "--output", output.toString(), "--base-url", baseUrl, "--api-key", "none"
        };

        assertThat(parley(command)).isEqualTo(BatchCommand.EXIT_SOME_FAILED);
        assertThat(parley(command)).isEqualTo(BatchCommand.EXIT_SOME_FAILED);
        assertThat(out.toString())
                .contains("0 succeeded, 0 failed, 0 invalid, 3 already done (1 of them failed)")
                .contains("1 lines failed in an earlier run on errors that the same request meets again: "
                        + "--retry-failed sends them again");
        out.getBuffer().setLength(0);

        var retry = new java.util.ArrayList<>(List.of(command));
        retry.add("--retry-failed");
        assertThat(parley(retry.toArray(String[]::new))).isEqualTo(BatchCommand.EXIT_SOME_FAILED);
        assertThat(out.toString()).contains("0 succeeded, 1 failed, 0 invalid, 2 already done");
        assertThat(err.toString()).contains("1 failed lines of an earlier run are sent again");
        assertEveryLineExactlyOnce(output, 3);
        assertThat(results(output))
                .filteredOn(line -> line.has("error"))
                .singleElement()
                .satisfies(line -> assertThat(line.get("status").asInt()).isEqualTo(404));
    }

    @Test
    void aFileOfMalformedLinesGetsAnErrorPerLineWithItsNumberAndTheRestRuns() throws Exception {
        Path input = dir.resolve("in.jsonl");
        var bytes = new java.io.ByteArrayOutputStream();
        List<String> good = requests(3);
        bytes.writeBytes((good.get(0) + "\n{\"model\":\"demo\",\"messages\":[\n").getBytes(StandardCharsets.UTF_8));
        bytes.writeBytes(new byte[] {'{', '"', 'x', '"', ':', '"', (byte) 0xff, (byte) 0xfe, '"', '}', '\n'});
        bytes.writeBytes(("{\"messages\":[{\"role\":\"user\",\"content\":\"no model\"}]}\n" + "[1,2]\n" + good.get(1)
                        + "\n" + good.get(2) + "\n")
                .getBytes(StandardCharsets.UTF_8));
        Files.write(input, bytes.toByteArray());
        Path output = dir.resolve("out.jsonl");

        int exit = parley(
                "batch", input.toString(), "--output", output.toString(), "--base-url", baseUrl, "--api-key", "none");

        assertThat(exit).isEqualTo(BatchCommand.EXIT_SOME_FAILED);
        assertThat(err.toString())
                .contains("line 2 invalid, written as an error: not JSON")
                .contains("line 3 invalid, written as an error: not UTF-8: invalid byte 0xff at byte 7 of the line")
                .contains("line 4 invalid, written as an error: model")
                .contains("line 5 invalid, written as an error: not a JSON object");
        assertEveryLineExactlyOnce(output, 7);
        assertThat(results(output))
                .filteredOn(line -> line.has("error"))
                .extracting(line -> line.get("line").asInt())
                .containsExactlyInAnyOrder(2, 3, 4, 5);
        assertThat(out.toString()).contains("3 succeeded, 0 failed, 4 invalid");
    }

    @Test
    void inputThatCannotBeReadAndOutputThatCannotBeWrittenSayWhy() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(1));
        assertThat(parley("batch", dir.resolve("nope.jsonl").toString(), "--base-url", baseUrl))
                .isEqualTo(Failures.EXIT);
        assertThat(parley("batch", input.toString(), "--output", dir.toString(), "--base-url", baseUrl))
                .isEqualTo(Failures.EXIT);
        assertThat(err.toString())
                .contains("parley batch: cannot read " + dir.resolve("nope.jsonl") + ": no such file or directory")
                .contains("parley batch: cannot open results file " + dir + ": is a directory");
    }

    @Test
    void resultsAreNeverAppendedToTheInputItself() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(2));
        byte[] before = Files.readAllBytes(input);
        Path link = Files.createSymbolicLink(dir.resolve("link.jsonl"), input);
        for (Path output : List.of(input, link)) {
            err.getBuffer().setLength(0);
            assertThat(parley("batch", input.toString(), "--output", output.toString(), "--base-url", baseUrl))
                    .isEqualTo(Failures.EXIT);
            assertThat(err.toString())
                    .contains("parley batch: the results file " + output
                            + " is the input file itself: give the results another file");
        }
        assertThat(Files.readAllBytes(input)).isEqualTo(before);
    }

    @Test
    void aBaseUrlWithoutV1IsPointedOutBeforeTheLinesFail() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(1));
        String root = baseUrl.substring(0, baseUrl.length() - "/v1".length());
        parley("batch", input.toString(), "--output", dir.resolve("out.jsonl").toString(), "--base-url", root);
        assertThat(err.toString())
                .contains("the server has no " + root + "/models: is /v1 missing from the base URL? Try --base-url "
                        + baseUrl);
    }

    @Test
    void keepOrderInterruptedSaysWhatTheFileHoldsAndTheRerunSendsOnlyTheRest() throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(input, requests(40));
        Path output = dir.resolve("out.jsonl");
        Process child =
                child(input, output, "--keep-order", "--max-requests-per-minute", "300", "--max-concurrency", "4");
        try {
            awaitLines(output, 3, child);
            child.destroy(); // SIGTERM: the shutdown hook runs, as on Ctrl-C
            child.waitFor();
        } finally {
            child.destroyForcibly().waitFor();
        }
        String childErr = Files.readString(dir.resolve("child.err"));
        var said = java.util.regex.Pattern.compile("interrupted with (\\d+) results written")
                .matcher(childErr);
        assertThat(said.find()).as(childErr).isTrue();
        long written = Long.parseLong(said.group(1));
        assertThat(lineCount(output)).isEqualTo(written);
        assertThat(Files.readString(output)).endsWith("\n");

        int exit = parley(
                "batch", input.toString(), "--output", output.toString(), "--base-url", baseUrl, "--api-key", "none");
        assertThat(exit).as(err.toString()).isZero();
        assertThat(out.toString())
                .contains("%d succeeded".formatted(40 - written), "%d already done".formatted(written));
        assertEveryLineExactlyOnce(output, 40);
    }

    static long lineCount(Path file) throws IOException {
        if (!Files.exists(file)) return 0;
        return Files.readString(file).chars().filter(c -> c == '\n').count();
    }
}
