package dev.parley.server;

import static dev.parley.client.ScriptedServer.Reply.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.client.ScriptedServer;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.config.ConfigFile;
import dev.parley.server.config.ServerConfig;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One server from a configuration file: two local models (the demo model twice, one with an alias), a model of an
 * upstream fleet (a real Parley replica) under a name of its own, and models of a fleet nobody answers for, one with
 * a fallback. Keys see the models they may use and their aliases.
 */
@Timeout(120)
class MultiModelServerTest {
    static final String ALL = "sk-test-all";
    static final String SOME = "sk-test-some";

    @TempDir
    static Path dir;

    static Served replica;
    static ParleyServer server;
    static HttpClient http;

    @BeforeAll
    static void start() throws IOException {
        replica = Served.demo(256);
        Path keys = dir.resolve("keys.yaml");
        KeysFile.add(keys, new KeyEntry("all", KeysFile.sha256(ALL), 1000, 1_000_000, null, null, List.of()));
        KeysFile.add(
                keys,
                new KeyEntry("some", KeysFile.sha256(SOME), 1000, 1_000_000, null, null, List.of("stories", "remote")));
        Path file = dir.resolve("parley.yaml");
        Files.writeString(file, """
                keys: keys.yaml
                models:
                  - id: stories
                    file: %s
                    aliases: [tiny]
                    parallel: 2
                    context: 256
                    threads: 1
                  - id: stories-solo
                    file: %s
                    parallel: 1
                    context: 256
                    threads: 1
                    embeddings: true
                upstreams:
                  - name: fleet
                    base_urls: [%s]
                    models:
                      - id: remote
                        upstream_id: demo
                        aliases: [far]
                  - name: gone
                    base_urls: [%s]
                    connect_timeout: 2
                    models:
                      - id: unreachable
                        fallbacks: [stories]
                      - id: unreachable-alone
                """.formatted(
                        DemoModel.path(), DemoModel.path(), replica.server().baseUrl("127.0.0.1"), closedPort()));
        ServerConfig config = ConfigFile.read(file);
        server = ParleyServer.start(
                config.openEngine(),
                ApiKeys.load(Path.of(config.keys())),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0);
        http = HttpClient.newHttpClient();
    }

    @AfterAll
    static void stop() {
        http.close();
        server.close();
        replica.close();
    }

    /** A base URL where nothing listens. */
    static String closedPort() throws IOException {
        try (var socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + socket.getLocalPort() + "/v1";
        }
    }

    static HttpResponse<String> send(String key, String path, String body) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Authorization", "Bearer " + key);
        request = body == null
                ? request.GET()
                : request.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String chat(String model, boolean stream) {
        return """
                {"model":"%s","messages":[{"role":"user","content":"Once upon a time"}],\
                "max_tokens":12,"temperature":0,"stream":%s}""".formatted(model, stream);
    }

    static List<String> ids(HttpResponse<String> list) {
        assertThat(list.statusCode()).as(list.body()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        Json.tree(list.body())
                .path("data")
                .forEach(model -> ids.add(model.path("id").asText()));
        return ids;
    }

    static String content(HttpResponse<String> answer) {
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        return Json.tree(answer.body())
                .path("choices")
                .path(0)
                .path("message")
                .path("content")
                .asText();
    }

    @Test
    void listsEveryModelAndAliasAKeyMayUse() throws Exception {
        assertThat(ids(send(ALL, "/v1/models", null)))
                .containsExactly(
                        "stories", "tiny", "stories-solo", "remote", "far", "unreachable", "unreachable-alone");
        assertThat(ids(send(SOME, "/v1/models", null))).containsExactly("stories", "tiny", "remote", "far");
        assertThat(send(SOME, "/v1/models/far", null).statusCode()).isEqualTo(200);
        Loopback.assertError(
                send(SOME, "/v1/chat/completions", chat("stories-solo", false)),
                404,
                "invalid_request_error",
                null,
                "model_not_found");
    }

    @Test
    void anAliasIsAnsweredByItsModel() throws Exception {
        var byAlias = send(SOME, "/v1/chat/completions", chat("tiny", false));
        var byId = send(ALL, "/v1/chat/completions", chat("stories", false));
        assertThat(content(byAlias)).isNotEmpty().isEqualTo(content(byId));
        assertThat(Json.tree(byAlias.body()).path("model").asText()).isEqualTo("stories");
        // The tokenizer routes know aliases too.
        var tokenized = send(SOME, "/tokenize", "{\"model\":\"tiny\",\"content\":\"Once upon a time\"}");
        assertThat(tokenized.statusCode()).as(tokenized.body()).isEqualTo(200);
        assertThat(Json.tree(tokenized.body()).path("tokens"))
                .isEqualTo(Json.tree(send(ALL, "/tokenize", "{\"model\":\"stories\",\"content\":\"Once upon a time\"}")
                                .body())
                        .path("tokens"));
        // Counted as the model it names.
        String metrics = send(ALL, "/metrics", null).body();
        assertThat(metrics).contains("model=\"stories\"").doesNotContain("model=\"tiny\"");
        // The second local model is a model of its own, with its own slot.
        assertThat(content(send(ALL, "/v1/chat/completions", chat("stories-solo", false))))
                .isEqualTo(content(byId));
    }

    @Test
    void embeddingsGoToTheModelThatServesThem() throws Exception {
        var embedded = send(ALL, "/v1/embeddings", "{\"model\":\"stories-solo\",\"input\":[\"Once\",\"upon\"]}");
        assertThat(embedded.statusCode()).as(embedded.body()).isEqualTo(200);
        JsonNode list = Json.tree(embedded.body());
        assertThat(list.path("data")).hasSize(2);
        assertThat(list.path("model").asText()).isEqualTo("stories-solo");
        // The other local model generates only: a 400 naming the model, not another model's vectors.
        Loopback.assertError(
                send(ALL, "/v1/embeddings", "{\"model\":\"tiny\",\"input\":\"Once\"}"),
                400,
                "invalid_request_error",
                "model",
                "invalid_value");
    }

    @Test
    void anUpstreamModelIsAskedForUnderTheNameItsFleetKnows() throws Exception {
        var direct = replica.loopback().post("/v1/chat/completions", chat("demo", false));
        var through = send(SOME, "/v1/chat/completions", chat("far", false));
        assertThat(content(through)).isNotEmpty().isEqualTo(content(direct));
        var streamed = send(SOME, "/v1/chat/completions", chat("remote", true));
        assertThat(streamed.statusCode()).isEqualTo(200);
        assertThat(Loopback.streamedText(streamed.body())).isEqualTo(content(direct));
    }

    @Test
    void aModelWhoseFleetCannotBeReachedFallsBackWholeAndStreamed() throws Exception {
        var whole = send(ALL, "/v1/chat/completions", chat("unreachable", false));
        assertThat(content(whole)).isNotEmpty();
        assertThat(Json.tree(whole.body()).path("model").asText()).isEqualTo("stories");
        var streamed = send(ALL, "/v1/chat/completions", chat("unreachable", true));
        assertThat(streamed.statusCode()).isEqualTo(200);
        assertThat(Loopback.streamedText(streamed.body())).isEqualTo(content(whole));

        Loopback.assertError(
                send(ALL, "/v1/chat/completions", chat("unreachable-alone", false)),
                502,
                "server_error",
                null,
                "upstream_error");
        // The server still serves its other models: degraded, naming what it cannot serve, not unhealthy.
        var health = replica.loopback()
                .http()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/health"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        JsonNode report = Json.tree(health.body());
        assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
        assertThat(report.path("status").asText()).isEqualTo("degraded");
        assertThat(report.path("degraded").toString()).contains("unreachable, unreachable-alone");
        assertThat(report.path("slots").path("total").asInt()).isEqualTo(3);
    }

    @Test
    void aRequestThatFailsBeforeItRunsGivesItsReservedTokensBack(@TempDir Path here) throws Exception {
        Path keys = here.resolve("keys.yaml");
        KeysFile.add(keys, new KeyEntry("small", KeysFile.sha256(ALL), 1000, 10_000, null, null, List.of()));
        Path file = here.resolve("parley.yaml");
        Files.writeString(
                file,
                "upstreams:\n  - name: gone\n    base_urls: [%s]\n    models: [{id: m}]\n".formatted(closedPort()));
        try (var gateway = ParleyServer.start(
                        ConfigFile.read(file).openEngine(),
                        ApiKeys.load(keys),
                        new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                        "127.0.0.1",
                        0);
                var loopback = Loopback.to(gateway)) {
            String asks = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":3000}";
            List<Long> remaining = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                var failed = http.send(
                        HttpRequest.newBuilder(URI.create(loopback.base() + "/v1/chat/completions"))
                                .header("Authorization", "Bearer " + ALL)
                                .POST(HttpRequest.BodyPublishers.ofString(asks))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(failed.statusCode()).as(failed.body()).isEqualTo(502);
                remaining.add(Long.parseLong(failed.headers()
                        .firstValue("x-ratelimit-remaining-tokens")
                        .orElseThrow()));
            }
            // Each saw the key's budget less its own reservation only: those before it gave theirs back. Kept,
            // three reservations of over 3,000 tokens would leave the third under 1,000.
            assertThat(remaining.getLast()).isGreaterThan(6_000);
        }
    }

    /** A chat completion as a scripted upstream answers it. */
    static String answer(String text) {
        return """
                {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,\
                "message":{"role":"assistant","content":"%s"},"finish_reason":"stop"}],\
                "usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}""".formatted(text);
    }

    @Test
    void eachReplicaTakesItsOwnKeyAndStaysWithinItsOwnBudget(@TempDir Path here) throws Exception {
        try (var first = ScriptedServer.start();
                var second = ScriptedServer.start()) {
            first.enqueue(json(200, answer("first")));
            second.enqueue(json(200, answer("second")), json(200, answer("second")));
            Path file = here.resolve("parley.yaml");
            Files.writeString(file, """
                    upstreams:
                      - name: pair
                        api_key: ${FLEET_KEY}
                        base_urls:
                          - url: %s
                            api_key: sk-first
                            rpm: 1
                            tpm: 100000
                          - url: %s
                            rpm: 2
                            tpm: 100000
                        models:
                          - id: m
                    """.formatted(first.baseUrl(), second.baseUrl()));
            try (var gateway = ParleyServer.start(
                            ConfigFile.read(file, Map.of("FLEET_KEY", "sk-fleet")::get)
                                    .openEngine(),
                            "127.0.0.1",
                            0);
                    var loopback = Loopback.to(gateway)) {
                List<String> said = new ArrayList<>();
                for (int i = 0; i < 3; i++) said.add(content(loopback.post("/v1/chat/completions", chat("m", false))));
                assertThat(said).containsExactly("first", "second", "second");
                assertThat(first.requests())
                        .singleElement()
                        .satisfies(r -> assertThat(r.header("authorization")).isEqualTo("Bearer sk-first"));
                assertThat(second.requests())
                        .hasSize(2)
                        .allSatisfy(r -> assertThat(r.header("authorization")).isEqualTo("Bearer sk-fleet"));
                // Both replicas' own budgets are spent: a 429 at once, with a wait the caller can trust.
                var spent = loopback.post("/v1/chat/completions", chat("m", false));
                Loopback.assertError(spent, 429, "requests", null, "rate_limit_exceeded");
                assertThat(spent.headers().firstValue("retry-after")).isPresent();
                assertThat(first.requests()).hasSize(1);
                assertThat(second.requests()).hasSize(2);
            }
        }
    }

    @Test
    void anAnswerThatDoesNotBeginInTimeMovesToTheNextReplica(@TempDir Path here) throws Exception {
        try (var silent = ScriptedServer.start();
                var answering = ScriptedServer.start()) {
            silent.enqueue(ScriptedServer.Reply.silence());
            answering.enqueue(json(200, answer("in time")));
            Path file = here.resolve("parley.yaml");
            Files.writeString(file, """
                    upstreams:
                      - name: pair
                        base_urls: [%s, %s]
                        first_byte_timeout: 0.5
                        models: [{id: m}]
                    """.formatted(silent.baseUrl(), answering.baseUrl()));
            try (var gateway = ParleyServer.start(ConfigFile.read(file).openEngine(), "127.0.0.1", 0);
                    var loopback = Loopback.to(gateway)) {
                assertThat(content(loopback.post("/v1/chat/completions", chat("m", false))))
                        .isEqualTo("in time");
                assertThat(silent.requests()).hasSize(1);
                assertThat(answering.requests()).hasSize(1);
            }
        }
    }
}
