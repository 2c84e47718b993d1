package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.client.ClientOptions;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.engine.proxy.ProxyEngine;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import dev.parley.testkit.RedisServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code /health} says what is degraded, and {@code /slots} shows the engine, on real servers. */
@Timeout(60)
class HealthTest {

    static LlamaEngine engine() {
        return LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(2)
                .withContextPerSequence(128));
    }

    static JsonNode body(HttpResponse<String> response) {
        assertThat(response.headers().firstValue("content-type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        return Json.tree(response.body());
    }

    @Test
    void slotsShowsTheEnginesSlotsAndQueue() throws Exception {
        try (var server = ParleyServer.start(engine(), "127.0.0.1", 0);
                var loopback = Loopback.to(server)) {
            var slots = loopback.get("/slots");
            assertThat(slots.statusCode()).isEqualTo(200);
            assertThat(slots.body())
                    .isEqualTo("{\"engine\":\"ok\",\"slots\":{\"total\":2,\"busy\":0,\"idle\":2,\"each\":["
                            + "{\"model\":\"demo\",\"id\":0,\"state\":\"idle\",\"prompt_tokens\":0,"
                            + "\"generated_tokens\":0,\"context_used\":0},"
                            + "{\"model\":\"demo\",\"id\":1,\"state\":\"idle\",\"prompt_tokens\":0,"
                            + "\"generated_tokens\":0,\"context_used\":0}]},"
                            + "\"queue\":{\"waiting\":0,\"capacity\":128},\"requests_in_flight\":0}");
            var health = loopback.get("/health");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body())
                    .isEqualTo("{\"status\":\"ok\",\"slots\":{\"total\":2,\"busy\":0},"
                            + "\"queue\":{\"waiting\":0,\"capacity\":128}}");
        }
    }

    @Test
    void slotsShowWhatEachSlotHoldsWhileAStreamRuns(@TempDir Path dir) throws Exception {
        // A stream whose reader stops reading keeps its slot: it generates until its backlog is full, then pauses.
        try (var server = ParleyServer.start(
                        LlamaEngine.open(LlamaEngineOptions.of(SlowModel.write(dir))
                                .withModelId("slow")
                                .withParallel(2)
                                .withContextPerSequence(2048)),
                        "127.0.0.1",
                        0);
                var loopback = Loopback.to(server)) {
            var stream = loopback.open(
                    "/v1/completions",
                    "{\"model\":\"slow\",\"prompt\":\"Once upon a time\",\"max_tokens\":2000,\"stream\":true,"
                            + "\"logit_bias\":{\"2\":-100}}"); // the end-of-text token never
            try (var body = new java.io.BufferedReader(
                    new java.io.InputStreamReader(stream.body(), java.nio.charset.StandardCharsets.UTF_8))) {
                String first = body.readLine();
                while (first != null && (first.isEmpty() || first.startsWith(":"))) first = body.readLine();
                assertThat(first).startsWith("data: ");
                // The view is a decode step old at most: the slot shows what it generates once a step has passed.
                JsonNode busy;
                JsonNode generating;
                do {
                    busy = Json.tree(loopback.get("/slots").body()).path("slots");
                    generating = null;
                    for (JsonNode slot : busy.path("each"))
                        if (!slot.path("state").asText().equals("idle")) generating = slot;
                } while (generating == null
                        || generating.path("generated_tokens").asInt() == 0);
                assertThat(busy.path("busy").asInt()).isEqualTo(1);
                assertThat(generating).isNotNull();
                assertThat(generating.path("state").asText()).isEqualTo("generating");
                assertThat(generating.path("prompt_tokens").asInt()).isPositive();
                assertThat(generating.path("generated_tokens").asInt()).isPositive();
                assertThat(generating.path("context_used").asInt())
                        .isGreaterThanOrEqualTo(generating.path("prompt_tokens").asInt());
            }
        }
    }

    @Test
    void aDownLimiterIsUnhealthyWhenFailingClosedAndDegradedWhenFailingOpen(@TempDir Path dir) throws Exception {
        Path keys = dir.resolve("keys.json");
        KeysFile.add(keys, new KeyEntry("a", KeysFile.sha256("sk-a"), 100, 100_000, null, null, List.of()));
        try (RedisServer redis = RedisServer.start();
                var closed = ParleyServer.start(
                        engine(),
                        ApiKeys.load(keys),
                        new RateLimits(Limiter.redis(redis.uri(), Clock.systemUTC()), false),
                        "127.0.0.1",
                        0);
                var open = ParleyServer.start(
                        engine(),
                        ApiKeys.load(keys),
                        new RateLimits(Limiter.redis(redis.uri(), Clock.systemUTC()), true),
                        "127.0.0.1",
                        0);
                var toClosed = Loopback.to(closed);
                var toOpen = Loopback.to(open)) {
            var healthy = toClosed.get("/health");
            assertThat(healthy.statusCode()).isEqualTo(200);
            assertThat(body(healthy).path("status").asText()).isEqualTo("ok");
            assertThat(body(healthy).path("limiter").path("redis").asText()).isEqualTo("up");

            redis.stop();
            try {
                var unhealthy = toClosed.get("/health");
                assertThat(unhealthy.statusCode()).isEqualTo(503);
                JsonNode closedBody = body(unhealthy);
                assertThat(closedBody.path("status").asText()).isEqualTo("unhealthy");
                assertThat(closedBody.path("degraded").path(0).path("component").asText())
                        .isEqualTo("limiter");
                assertThat(closedBody.path("degraded").path(0).path("message").asText())
                        .contains("refused with 503");
                assertThat(closedBody.path("limiter").path("redis").asText()).isEqualTo("down");
                assertThat(closedBody.path("slots").path("total").asInt()).isEqualTo(2);

                var degraded = toOpen.get("/health");
                assertThat(degraded.statusCode()).isEqualTo(200);
                JsonNode openBody = body(degraded);
                assertThat(openBody.path("status").asText()).isEqualTo("degraded");
                assertThat(openBody.path("degraded").path(0).path("message").asText())
                        .contains("admitted without limits");
                assertThat(MetricsTest.parse(toOpen.get("/metrics").body())).containsEntry("parley_limiter_down", 1.0);
            } finally {
                redis.startAgain();
            }
            HttpResponse<String> back = toClosed.get("/health");
            for (int attempt = 0; attempt < 200 && back.statusCode() != 200; attempt++) {
                Thread.sleep(50);
                back = toClosed.get("/health");
            }
            assertThat(back.statusCode()).isEqualTo(200);
            assertThat(body(back).path("status").asText()).isEqualTo("ok");
        }
    }

    @Test
    void anUnreachableUpstreamIsUnhealthy() throws Exception {
        int nothing;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            nothing = socket.getLocalPort();
        }
        var options = ClientOptions.builder(name -> null)
                .baseUrl("http://127.0.0.1:" + nothing + "/v1")
                .maxRetries(0)
                .build();
        try (var server = ParleyServer.start(ProxyEngine.connect(options, List.of("gpt-4o-mini")), "127.0.0.1", 0);
                var loopback = Loopback.to(server)) {
            assertThat(loopback.get("/health").statusCode()).isEqualTo(200);
            var failed = loopback.post(
                    "/v1/chat/completions",
                    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
            assertThat(failed.statusCode()).isEqualTo(502);
            var health = loopback.get("/health");
            assertThat(health.statusCode()).isEqualTo(503);
            // A load balancer asking HEAD (HAProxy's "option httpchk HEAD /health") hears the same, without a body.
            var head = loopback.head("/health");
            assertThat(head.statusCode()).isEqualTo(503);
            assertThat(head.headers().firstValue("content-type")).contains("application/json");
            assertThat(head.body()).isEmpty();
            JsonNode body = body(health);
            assertThat(body.path("status").asText()).isEqualTo("unhealthy");
            assertThat(body.path("degraded").path(0).path("component").asText()).isEqualTo("engine");
            assertThat(body.path("degraded").path(0).path("message").asText())
                    .isEqualTo("The upstream provider cannot be reached.");
            var metrics = MetricsTest.parse(loopback.get("/metrics").body());
            assertThat(metrics).containsEntry("parley_engine_up", 0.0);
            assertThat(MetricsTest.sum(metrics, "parley_upstream_errors_total", "status=\"502\""))
                    .isEqualTo(1);
        }
    }
}
