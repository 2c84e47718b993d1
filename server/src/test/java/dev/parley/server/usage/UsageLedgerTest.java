package dev.parley.server.usage;

import static dev.parley.server.usage.UsageServer.key;
import static dev.parley.server.usage.UsageServer.reported;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.Json;
import dev.parley.api.QuotaExceededException;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.server.ParleyServer;
import dev.parley.server.ServerOptions;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.engine.proxy.ProxyEngine;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import dev.parley.testkit.RedisServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usage ledger of real servers over the demo model: what it records against what the answers reported, across
 * restarts (data folder and Redis), read through OpenAI's organization usage route; and monthly budgets.
 */
@Timeout(120)
class UsageLedgerTest {
    static final String CHAT =
            "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"temperature\":0,\"max_tokens\":12";
    static final String COMPLETION =
            "{\"model\":\"demo\",\"prompt\":\"Once upon a time\",\"temperature\":0,\"max_tokens\":9";
    static final String STREAM = ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}";

    /** Chat, completion, and both streamed, by {@code key}: what their answers reported, added up. */
    static Counts useEveryRoute(UsageServer server, String key) throws Exception {
        return reported(server.post(key, "/v1/chat/completions", CHAT + "}"))
                .plus(reported(server.post(key, "/v1/completions", COMPLETION + "}")))
                .plus(reported(server.post(key, "/v1/chat/completions", CHAT + STREAM)))
                .plus(reported(server.post(key, "/v1/completions", COMPLETION + STREAM)));
    }

    /** The one result of today's bucket for {@code key} and model demo. */
    static Counts ledgered(JsonNode page, String key) {
        JsonNode bucket = page.get("data").get(0);
        Counts found = null;
        for (JsonNode result : bucket.get("results")) {
            if (!result.get("api_key_id").asText().equals(key)) continue;
            assertThat(result.get("model").asText()).isEqualTo("demo");
            assertThat(found).as("one result per key and model").isNull();
            found = new Counts(
                    result.get("num_model_requests").asLong(),
                    result.get("input_tokens").asLong(),
                    result.get("output_tokens").asLong());
        }
        return found == null ? Counts.ZERO : found;
    }

    @Test
    void countsEqualWhatTheAnswersReportedAndSurviveARestartInTheDataFolder(@TempDir Path dir) throws Exception {
        Path keys =
                UsageServer.keysFile(dir, key("team"), key("other"), key("boss").withAdmin(true));
        Path data = dir.resolve("data");
        ServerOptions options = ServerOptions.defaults().withDataDir(data);
        Counts team;
        Counts other;
        try (var server = UsageServer.start(keys, options)) {
            team = useEveryRoute(server, "team");
            other = reported(server.post("other", "/v1/chat/completions", CHAT + "}"));
            JsonNode page = server.usageToday("boss");
            assertThat(ledgered(page, "team")).isEqualTo(team);
            assertThat(ledgered(page, "other")).isEqualTo(other);
            assertThat(team.requests()).isEqualTo(4);
        }
        // Stopped: the folder holds it all, as parley keys usage reads it.
        try (var reader = UsageLedger.readFolder(data)) {
            LocalDate today = LocalDate.now(ZoneOffset.UTC);
            assertThat(reader.rows(today, today))
                    .containsExactly(
                            new UsageRow(today, "other", "demo", other), new UsageRow(today, "team", "demo", team));
        }
        try (var server = UsageServer.start(keys, options)) {
            assertThat(ledgered(server.usageToday("boss"), "team")).isEqualTo(team);
            Counts more = reported(server.post("team", "/v1/completions", COMPLETION + "}"));
            assertThat(ledgered(server.usageToday("boss"), "team")).isEqualTo(team.plus(more));
        }
    }

    @Test
    void batchLinesAreRecordedAsTheirAnswersReportAndStopAtTheKeysBudget(@TempDir Path dir) throws Exception {
        Path keys = UsageServer.keysFile(
                dir,
                key("team"),
                key("capped").withMonthlyBudget(1e-9),
                key("boss").withAdmin(true));
        ServerOptions options =
                ServerOptions.defaults().withDataDir(dir.resolve("data")).withPrices(Map.of("demo", Price.of(1, 1)));
        try (var server = UsageServer.start(keys, options)) {
            List<JsonNode> team = runBatch(server, "team", 3);
            Counts reported = Counts.ZERO;
            for (JsonNode line : team) {
                JsonNode usage = line.get("response").get("body").get("usage");
                reported = reported.plus(Counts.ofRequest(
                        usage.get("prompt_tokens").asLong(),
                        usage.get("completion_tokens").asLong()));
            }
            assertThat(ledgered(server.usageToday("boss"), "team")).isEqualTo(reported);

            // The first line spends the key's budget; the others are answered with its 429, not waited out.
            List<JsonNode> capped = runBatch(server, "capped", 3);
            assertThat(capped).hasSize(3);
            assertThat(capped.stream()
                            .filter(line ->
                                    line.get("response").get("status_code").asInt() == 429)
                            .map(line -> line.get("response")
                                    .get("body")
                                    .get("error")
                                    .get("code")
                                    .asText()))
                    .containsExactly("insufficient_quota", "insufficient_quota");
            assertThat(ledgered(server.usageToday("boss"), "capped").requests()).isEqualTo(1);
        }
    }

    /** Runs a batch of {@code lines} chat requests as {@code key} and returns every line's result, answers and errors. */
    static List<JsonNode> runBatch(UsageServer server, String key, int lines) throws Exception {
        var openai = com.openai.client.okhttp.OpenAIOkHttpClient.builder()
                .baseUrl(server.base() + "/v1")
                .apiKey("sk-" + key)
                .maxRetries(0)
                .build();
        try {
            StringBuilder input = new StringBuilder();
            for (int i = 0; i < lines; i++) {
                input.append("{\"custom_id\":\"l" + i + "\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
                        + "\"body\":" + CHAT + "}}\n");
            }
            var file = openai.files()
                    .create(com.openai.models.files.FileCreateParams.builder()
                            .file(input.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8))
                            .purpose(com.openai.models.files.FilePurpose.BATCH)
                            .build());
            var batch = openai.batches()
                    .create(com.openai.models.batches.BatchCreateParams.builder()
                            .inputFileId(file.id())
                            .endpoint(com.openai.models.batches.BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS)
                            .completionWindow(com.openai.models.batches.BatchCreateParams.CompletionWindow._24H)
                            .build());
            while (!List.of("completed", "failed", "cancelled", "expired")
                    .contains(batch.status().asString())) {
                Thread.sleep(50);
                batch = openai.batches().retrieve(batch.id());
            }
            List<JsonNode> results = new java.util.ArrayList<>();
            for (var id : List.of(batch.outputFileId(), batch.errorFileId())) {
                if (id.isEmpty()) continue;
                try (var content = openai.files().content(id.get())) {
                    new String(content.body().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                            .lines()
                            .filter(line -> !line.isBlank())
                            .forEach(line -> results.add(Json.tree(line)));
                }
            }
            return results;
        } finally {
            openai.close();
        }
    }

    @Test
    void aGatewayRecordsWhatItsUpstreamReportedWholeAndStreamed(@TempDir Path dir) throws Exception {
        Path keys = UsageServer.keysFile(dir, key("team"), key("boss").withAdmin(true));
        try (var upstream = ParleyServer.start(
                        LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                                .withModelId("demo")
                                .withParallel(2)
                                .withContextPerSequence(256)),
                        "127.0.0.1",
                        0);
                var gateway = UsageServer.of(ParleyServer.start(
                        ProxyEngine.connect(
                                ClientOptions.builder(name -> null)
                                        .baseUrl(upstream.baseUrl("127.0.0.1"))
                                        .maxRetries(0)
                                        .build(),
                                List.of()),
                        ApiKeys.load(keys),
                        new RateLimits(Limiter.inMemory(java.time.Clock.systemUTC()), false),
                        "127.0.0.1",
                        0,
                        ServerOptions.defaults()))) {
            Counts used = reported(gateway.post("team", "/v1/chat/completions", CHAT + "}"))
                    .plus(reported(gateway.post("team", "/v1/chat/completions", CHAT + STREAM)))
                    .plus(reported(gateway.post("team", "/v1/completions", COMPLETION + "}")));
            assertThat(ledgered(gateway.usageToday("boss"), "team")).isEqualTo(used);
        }
    }

    @Test
    void countsSurviveARestartInRedisAndTwoReplicasAddUp(@TempDir Path dir) throws Exception {
        try (var redis = RedisServer.start()) {
            Path keys = UsageServer.keysFile(dir, key("team"), key("boss").withAdmin(true));
            ServerOptions options = ServerOptions.defaults().withRedis(redis.uri());
            Counts used;
            try (var a = UsageServer.start(keys, options);
                    var b = UsageServer.start(keys, options)) {
                used = useEveryRoute(a, "team").plus(useEveryRoute(b, "team"));
            } // both flush as they close
            try (var server = UsageServer.start(keys, options)) {
                assertThat(ledgered(server.usageToday("boss"), "team")).isEqualTo(used);
            }
            try (var reader = UsageLedger.readRedis(redis.uri())) {
                LocalDate today = LocalDate.now(ZoneOffset.UTC);
                assertThat(reader.rows(today, today)).containsExactly(new UsageRow(today, "team", "demo", used));
            }
        }
    }

    @Test
    void requestsSucceedWhileRedisIsDownAndTheirUsageReachesItOnceItIsBack(@TempDir Path dir) throws Exception {
        try (var redis = RedisServer.start()) {
            Path keys = UsageServer.keysFile(dir, key("team"));
            try (var server = UsageServer.start(keys, ServerOptions.defaults().withRedis(redis.uri()))) {
                redis.stop();
                Counts used = useEveryRoute(server, "team"); // each one answered 200
                awaitTrue(() -> errors(server) > 0, "the failed flush is counted in /metrics");
                redis.startAgain(); // empty: all it will hold is what the server kept for it
                LocalDate today = LocalDate.now(ZoneOffset.UTC);
                try (var reader = UsageLedger.readRedis(redis.uri())) {
                    awaitTrue(
                            () -> reader.rows(today, today).equals(List.of(new UsageRow(today, "team", "demo", used))),
                            "the usage kept in memory reaches Redis");
                }
            }
        }
    }

    static double errors(UsageServer server) throws Exception {
        String metrics = server.get(null, "/metrics").body();
        return metrics.lines()
                .filter(line -> line.startsWith("parley_usage_ledger_errors_total "))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.indexOf(' ') + 1)))
                .findFirst()
                .orElseThrow();
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    /** Polls {@code condition} (the ledger flushes every second) until it holds; fails after 30 s. */
    static void awaitTrue(Condition condition, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                if (condition.holds()) return;
            } catch (LedgerUnavailableException e) {
                // not yet
            }
            if (System.nanoTime() > deadline) throw new AssertionError("never came true: " + what);
            Thread.sleep(100);
        }
    }

    @Test
    void aKeyWhoseMonthlyBudgetIsSpentGetsInsufficientQuotaAndParleysClientDoesNotRetryIt(@TempDir Path dir)
            throws Exception {
        // A dollar a token: the first answer spends more than the key's $10.
        Path keys = UsageServer.keysFile(
                dir,
                key("capped").withMonthlyBudget(10.0),
                key("free"),
                key("boss").withAdmin(true));
        ServerOptions options = ServerOptions.defaults().withPrices(Map.of("demo", Price.of(1e6, 1e6)));
        try (var server = UsageServer.start(keys, options)) {
            assertThat(server.post("capped", "/v1/chat/completions", CHAT + "}").statusCode())
                    .isEqualTo(200);

            HttpResponse<String> refused = server.post("capped", "/v1/chat/completions", CHAT + "}");
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.body())
                    .isEqualTo(
                            "{\"error\":{\"message\":\"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.\",\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}");
            assertThat(refused.headers().firstValue("retry-after")).isEmpty();
            assertThat(refused.headers().firstValue("retry-after-ms")).isEmpty();
            assertThat(server.post("capped", "/v1/completions", COMPLETION + STREAM)
                            .statusCode())
                    .isEqualTo(429);
            assertThat(server.post("free", "/v1/completions", COMPLETION + "}").statusCode())
                    .isEqualTo(200);

            var waits = new CopyOnWriteArrayList<Duration>();
            var client = ParleyClient.create(ClientOptions.builder(name -> null)
                    .baseUrl(server.base() + "/v1")
                    .apiKey("sk-capped")
                    .maxRetries(3)
                    .sleeper(waits::add)
                    .build());
            try (client) {
                var request = ChatCompletionRequest.builder("demo")
                        .messages(ChatMessage.of(ChatMessage.USER, "Hello"))
                        .maxTokens(4)
                        .build();
                assertThatThrownBy(() -> client.chat(request))
                        .isInstanceOfSatisfying(QuotaExceededException.class, e -> {
                            assertThat(e.status()).isEqualTo(429);
                            assertThat(e.error().code()).isEqualTo("insufficient_quota");
                        });
            }
            assertThat(waits).isEmpty();
            // Refused requests cost nothing: the ledger holds the one answered request.
            assertThat(ledgered(server.usageToday("boss"), "capped").requests()).isEqualTo(1);
        }
    }

    @Test
    void aBudgetSpentOnOneReplicaIsRefusedOnAnotherSharingRedis(@TempDir Path dir) throws Exception {
        // Only completion tokens cost ($1 each), so probing with max_tokens 0 spends nothing.
        Path keys = UsageServer.keysFile(dir, key("shared").withMonthlyBudget(1.0));
        ServerOptions options = ServerOptions.defaults().withPrices(Map.of("demo", Price.of(0, 1e6)));
        try (var redis = RedisServer.start();
                var a = UsageServer.start(keys, options.withRedis(redis.uri()));
                var b = UsageServer.start(keys, options.withRedis(redis.uri()))) {
            String probe = "{\"model\":\"demo\",\"prompt\":\"Once\",\"max_tokens\":0}";
            assertThat(b.post("shared", "/v1/completions", probe).statusCode()).isEqualTo(200);
            assertThat(reported(a.post("shared", "/v1/completions", COMPLETION + "}"))
                            .completionTokens())
                    .isPositive();
            assertThat(a.post("shared", "/v1/completions", probe).statusCode()).isEqualTo(429); // at once
            // B learns of A's spend when A has flushed and B has read the month back (each every second).
            awaitTrue(() -> b.post("shared", "/v1/completions", probe).statusCode() == 429, "B refuses the key");
            assertThat(Json.tree(b.post("shared", "/v1/completions", probe).body())
                            .at("/error/code")
                            .asText())
                    .isEqualTo("insufficient_quota");
        }
    }

    @Test
    void theUsageRouteIsForAdminKeysAndChecksItsParameters(@TempDir Path dir) throws Exception {
        Path keys = UsageServer.keysFile(dir, key("team"), key("boss").withAdmin(true));
        ServerOptions options = ServerOptions.defaults().withPrices(Map.of("demo", Price.of(0.5, 1.5)));
        try (var server = UsageServer.start(keys, options)) {
            Counts used = reported(server.post("team", "/v1/chat/completions", CHAT + "}"));
            long today = LocalDate.now(ZoneOffset.UTC).toEpochDay() * 86_400;
            String route = "/v1/organization/usage/completions";

            var denied = server.get("team", route + "?start_time=" + today);
            assertThat(denied.statusCode()).isEqualTo(403);
            JsonNode error = Json.tree(denied.body()).get("error");
            assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
            assertThat(error.get("message").asText())
                    .startsWith("You have insufficient permissions for this operation.");
            assertThat(server.get(null, route + "?start_time=" + today).statusCode())
                    .isEqualTo(401);

            // Three days up to today, one bucket a page.
            String query = route + "?start_time=" + (today - 2 * 86_400) + "&end_time=" + (today + 86_400)
                    + "&bucket_width=1d&limit=1";
            JsonNode first = Json.tree(server.get("boss", query).body());
            assertThat(first.get("object").asText()).isEqualTo("page");
            assertThat(first.get("has_more").asBoolean()).isTrue();
            JsonNode bucket = first.get("data").get(0);
            assertThat(bucket.get("object").asText()).isEqualTo("bucket");
            assertThat(bucket.get("start_time").asLong()).isEqualTo(today - 2 * 86_400);
            assertThat(bucket.get("end_time").asLong()).isEqualTo(today - 86_400);
            assertThat(bucket.get("results")).isEmpty();
            JsonNode second = Json.tree(
                    server.get("boss", query + "&page=" + first.get("next_page").asText())
                            .body());
            JsonNode third = Json.tree(server.get(
                            "boss", query + "&page=" + second.get("next_page").asText())
                    .body());
            assertThat(third.get("has_more").asBoolean()).isFalse();
            assertThat(third.get("next_page").isNull()).isTrue();
            JsonNode result = third.get("data").get(0).get("results").get(0);
            assertThat(result.get("object").asText()).isEqualTo("organization.usage.completions.result");
            assertThat(result.get("num_model_requests").asLong()).isEqualTo(1);
            assertThat(result.get("input_tokens").asLong()).isEqualTo(used.promptTokens());
            assertThat(result.get("output_tokens").asLong()).isEqualTo(used.completionTokens());
            assertThat(result.get("input_cached_tokens").asLong()).isZero();
            assertThat(result.get("model").isNull()).as("not grouped by model").isTrue();
            assertThat(result.get("api_key_id").isNull()).isTrue();

            JsonNode costs = Json.tree(
                            server.get("boss", "/v1/organization/costs?start_time=" + today + "&group_by=line_item")
                                    .body())
                    .get("data")
                    .get(0)
                    .get("results");
            assertThat(costs).hasSize(2);
            assertThat(costs.get(0).get("object").asText()).isEqualTo("organization.costs.result");
            assertThat(costs.get(0).get("line_item").asText()).isEqualTo("demo, input");
            assertThat(costs.get(0).get("amount").get("value").asDouble())
                    .isCloseTo(used.promptTokens() * 0.5 / 1e6, org.assertj.core.data.Offset.offset(1e-12));
            assertThat(costs.get(1).get("amount").get("currency").asText()).isEqualTo("usd");

            for (String bad : List.of(
                    "",
                    "?start_time=soon",
                    "?start_time=99999999999999999999",
                    "?start_time=-1",
                    "?start_time=" + Long.MAX_VALUE,
                    "?start_time=" + today + "&end_time=" + today,
                    "?start_time=" + today + "&limit=0",
                    "?start_time=" + today + "&limit=32",
                    "?start_time=" + today + "&limit=99999999999",
                    "?start_time=" + today + "&bucket_width=1h",
                    "?start_time=" + today + "&group_by=colour",
                    "?start_time=" + today + "&page=day_999999999999999999")) {
                var response = server.get("boss", route + bad);
                assertThat(response.statusCode()).as(bad).isEqualTo(400);
                assertThat(Json.tree(response.body()).get("error").get("type").asText())
                        .isEqualTo("invalid_request_error");
            }
        }
    }
}
