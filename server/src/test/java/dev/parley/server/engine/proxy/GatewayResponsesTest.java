package dev.parley.server.engine.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.server.ParleyServer;
import dev.parley.server.ServerOptions;
import dev.parley.server.SlowModel;
import dev.parley.server.TestServers;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.Limits;
import dev.parley.server.limits.RateLimits;
import dev.parley.testkit.RedisServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Responses of models served upstream, kept by the gateway too: each key fetches, lists and deletes its own through
 * the gateway and no other key can see or continue them; every replica of the gateway (sharing a Redis) sends a
 * continuation to the upstream replica that keeps the response.
 */
@Timeout(300)
class GatewayResponsesTest {
    private final TestServers servers = new TestServers();

    @AfterEach
    void close() throws Exception {
        servers.close();
    }

    private ParleyServer upstream() {
        var server = ProxyEngineTest.demoReplica(512);
        servers.add(server);
        return server;
    }

    /** A gateway to {@code replicas} (the first allowing {@code firstRpm} requests a minute), as {@code options} say. */
    private ParleyServer gateway(List<ParleyServer> replicas, long firstRpm, ApiKeys keys, ServerOptions options) {
        List<UpstreamReplica> fleet = new ArrayList<>();
        for (int i = 0; i < replicas.size(); i++)
            fleet.add(new UpstreamReplica(
                    replicas.get(i).baseUrl("127.0.0.1"),
                    null,
                    i == 0 && firstRpm > 0 ? new Limits(firstRpm, 1_000_000, null, null) : null));
        var server = ParleyServer.start(
                ProxyEngine.connect(
                        ProxyEngineTest.options(replicas.getFirst().baseUrl("127.0.0.1")),
                        new ProxyEngine.Fleet(
                                fleet,
                                List.of("demo"),
                                ProxyEngine.DEFAULT_OUTPUT_RESERVE,
                                Map.of(),
                                ProxyEngine.DEFAULT_COOLDOWN,
                                ProxyEngine.DEFAULT_IDLE_TIMEOUT)),
                keys,
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                options);
        servers.add(server);
        return server;
    }

    private HttpResponse<String> send(String method, String url, String key, String body) throws Exception {
        return servers.send(method, url, key, body);
    }

    private static String turn(String previous, String input, boolean stream) {
        var body = Json.object().put("model", "demo").put("input", input).put("max_output_tokens", 4);
        if (previous != null) body.put("previous_response_id", previous);
        if (stream) body.put("stream", true);
        return body.toString();
    }

    /** The response object of the last event of a Responses API stream. */
    private static JsonNode lastResponse(String stream) {
        String last = Arrays.stream(stream.split("\n"))
                .filter(line -> line.startsWith("data: "))
                .reduce((a, b) -> b)
                .orElseThrow();
        return Json.tree(last.substring("data: ".length())).path("response");
    }

    @Test
    void aKeyFetchesListsAndDeletesItsUpstreamResponsesThroughTheGatewayAndNoOtherKeySeesThem(@TempDir Path dir)
            throws Exception {
        ParleyServer upstream = upstream();
        Path keys = dir.resolve("keys.json");
        for (String name : List.of("a", "b"))
            KeysFile.add(
                    keys, new KeyEntry(name, KeysFile.sha256("sk-" + name), 10_000, 10_000_000, null, null, List.of()));
        String base = gateway(List.of(upstream), 0, ApiKeys.load(keys), ServerOptions.defaults())
                .baseUrl("127.0.0.1");

        var made = send("POST", base + "/responses", "sk-a", turn(null, "Once upon a time", false));
        assertThat(made.statusCode()).as(made.body()).isEqualTo(200);
        JsonNode response = Json.tree(made.body());
        String id = response.path("id").asText();
        assertThat(Json.tree(
                        send("GET", base + "/responses/" + id, "sk-a", null).body()))
                .isEqualTo(response);
        JsonNode items = Json.tree(send("GET", base + "/responses/" + id + "/input_items", "sk-a", null)
                .body());
        assertThat(items.at("/data/0/content/0/text").asText()).isEqualTo("Once upon a time");

        // Another key: not found, whether fetched, listed, deleted or continued.
        for (String route :
                List.of("GET /responses/" + id, "GET /responses/" + id + "/input_items", "DELETE /responses/" + id))
            assertThat(send(route.split(" ")[0], base + route.split(" ")[1], "sk-b", null)
                            .statusCode())
                    .as(route)
                    .isEqualTo(404);
        var stolen = send("POST", base + "/responses", "sk-b", turn(id, "And then?", false));
        assertThat(stolen.statusCode()).isEqualTo(400);
        assertThat(Json.tree(stolen.body()).at("/error/code").asText()).isEqualTo("previous_response_not_found");

        // Its own key continues it, streamed; the stream's finished response is kept as its last event showed it.
        var next = send("POST", base + "/responses", "sk-a", turn(id, "And then?", true));
        assertThat(next.statusCode()).isEqualTo(200);
        JsonNode streamed = lastResponse(next.body());
        assertThat(streamed.path("previous_response_id").asText()).isEqualTo(id);
        assertThat(Json.tree(
                        send("GET", base + "/responses/" + streamed.path("id").asText(), "sk-a", null)
                                .body()))
                .isEqualTo(streamed);

        // Deleted here: gone from the gateway; the upstream keeps its own copy, which is its to delete.
        assertThat(send("DELETE", base + "/responses/" + id, "sk-a", null).statusCode())
                .isEqualTo(200);
        assertThat(send("GET", base + "/responses/" + id, "sk-a", null).statusCode())
                .isEqualTo(404);
        assertThat(send("GET", upstream.baseUrl("127.0.0.1") + "/responses/" + id, null, null)
                        .statusCode())
                .isEqualTo(200);
    }

    @Test
    void everyReplicaOfTheGatewaySendsAContinuationToTheUpstreamReplicaThatKeepsIt() throws Exception {
        try (var redis = RedisServer.start()) {
            List<ParleyServer> replicas = List.of(upstream(), upstream());
            ServerOptions shared = ServerOptions.defaults().withRedis(redis.uri());
            // Each gateway allows the first upstream one request a minute: the first gateway spends it, so the
            // response is made by the second upstream; to the second gateway the first upstream is idle and first.
            String one = gateway(replicas, 1, ApiKeys.open(), shared).baseUrl("127.0.0.1");
            String two = gateway(replicas, 1, ApiKeys.open(), shared).baseUrl("127.0.0.1");
            assertThat(send("POST", one + "/chat/completions", null, ProxyEngineTest.demoChat(2))
                            .statusCode())
                    .isEqualTo(200);
            var made = send("POST", one + "/responses", null, turn(null, "Once upon a time", false));
            assertThat(made.statusCode()).as(made.body()).isEqualTo(200);
            String id = Json.tree(made.body()).path("id").asText();

            var next = send("POST", two + "/responses", null, turn(id, "And then?", false));
            assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
            assertThat(Json.tree(next.body()).path("previous_response_id").asText())
                    .isEqualTo(id);
            String nextId = Json.tree(next.body()).path("id").asText();
            assertThat(send("GET", replicas.get(1).baseUrl("127.0.0.1") + "/responses/" + nextId, null, null)
                            .statusCode())
                    .isEqualTo(200);
            assertThat(send("GET", one + "/responses/" + nextId, null, null).statusCode())
                    .isEqualTo(200);
        }
    }

    @Test
    void aConversationKeptByTheGatewayIsSentToTheUpstreamAsItsItemsAndGrowsWithItsAnswers() throws Exception {
        ParleyServer upstream = upstream();
        String base = gateway(List.of(upstream), 0, ApiKeys.open(), ServerOptions.defaults())
                .baseUrl("127.0.0.1");
        var made = send("POST", base + "/conversations", null, "{}");
        assertThat(made.statusCode()).as(made.body()).isEqualTo(200);
        String id = Json.tree(made.body()).path("id").asText();

        var first = send("POST", base + "/responses", null, conversationTurn(id, "Once upon a time", false));
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        var second = send("POST", base + "/responses", null, conversationTurn(id, "And then?", true));
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        JsonNode streamed = lastResponse(second.body());

        // The upstream read the whole conversation: the same input as the two turns sent to it at once.
        String answer = Json.tree(first.body()).at("/output/0/content/0/text").asText();
        var whole =
                Json.object().put("model", "demo").put("max_output_tokens", 4).put("temperature", 0.0);
        var input = whole.putArray("input");
        input.addObject().put("role", "user").put("content", "Once upon a time");
        input.addObject().put("role", "assistant").put("content", answer);
        input.addObject().put("role", "user").put("content", "And then?");
        var direct = send("POST", upstream.baseUrl("127.0.0.1") + "/responses", null, whole.toString());
        assertThat(streamed.at("/usage/input_tokens").asLong())
                .isEqualTo(Json.tree(direct.body()).at("/usage/input_tokens").asLong());
        assertThat(streamed.at("/output/0/content/0/text").asText())
                .isEqualTo(
                        Json.tree(direct.body()).at("/output/0/content/0/text").asText());

        JsonNode items = Json.tree(send("GET", base + "/conversations/" + id + "/items?order=asc", null, null)
                        .body())
                .path("data");
        assertThat(items).hasSize(4);
        assertThat(items.get(1).at("/content/0/text").asText()).isEqualTo(answer);
        assertThat(items.get(3).path("id").asText())
                .isEqualTo(streamed.at("/output/0/id").asText());
    }

    private static String conversationTurn(String conversation, String input, boolean stream) {
        var body = Json.object()
                .put("model", "demo")
                .put("input", input)
                .put("max_output_tokens", 4)
                .put("temperature", 0.0)
                .put("conversation", conversation);
        if (stream) body.put("stream", true);
        return body.toString();
    }

    @Test
    void aBackgroundResponseMadeUpstreamIsFetchedAndCancelledThroughTheGateway(@TempDir Path dir) throws Exception {
        ParleyServer upstream = servers.add(ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(SlowModel.write(dir))
                        .withModelId("slow")
                        .withParallel(1)
                        .withContextPerSequence(4096)),
                "127.0.0.1",
                0));
        String upstreamBase = upstream.baseUrl("127.0.0.1");
        String base = servers.add(ParleyServer.start(
                        ProxyEngine.connect(
                                ProxyEngineTest.options(upstreamBase),
                                List.of(upstreamBase),
                                List.of("slow"),
                                ProxyEngine.DEFAULT_OUTPUT_RESERVE,
                                java.time.Duration.ofMinutes(5)),
                        "127.0.0.1",
                        0))
                .baseUrl("127.0.0.1");
        String body =
                "{\"model\":\"slow\",\"input\":\"a b c\",\"temperature\":0,\"background\":true,\"max_output_tokens\":";

        // A long one: fetched through the gateway as the upstream makes it, and cancelled there.
        var made = send("POST", base + "/responses", null, body + "4000}");
        assertThat(made.statusCode()).as(made.body()).isEqualTo(200);
        String id = Json.tree(made.body()).path("id").asText();
        assertThat(Json.tree(made.body()).path("status").asText()).isEqualTo("queued");
        while (!Json.tree(send("GET", base + "/responses/" + id, null, null).body())
                .path("status")
                .asText()
                .equals("in_progress")) Thread.sleep(20);
        var cancelled = send("POST", base + "/responses/" + id + "/cancel", null, null);
        assertThat(Json.tree(cancelled.body()).path("status").asText())
                .as(cancelled.body())
                .isEqualTo("cancelled");
        assertThat(Json.tree(send("GET", upstreamBase + "/responses/" + id, null, null)
                                .body())
                        .path("status")
                        .asText())
                .isEqualTo("cancelled");
        assertThat(Json.tree(send("GET", base + "/responses/" + id, null, null).body()))
                .isEqualTo(Json.tree(send("GET", upstreamBase + "/responses/" + id, null, null)
                        .body()));

        // A short one: fetched through the gateway once it has ended, as the upstream ended it.
        String shortId = Json.tree(
                        send("POST", base + "/responses", null, body + "4}").body())
                .path("id")
                .asText();
        JsonNode ended;
        do {
            Thread.sleep(20);
            ended = Json.tree(
                    send("GET", base + "/responses/" + shortId, null, null).body());
        } while (!Set.of("completed", "incomplete")
                .contains(ended.path("status").asText()));
        assertThat(ended)
                .isEqualTo(Json.tree(send("GET", upstreamBase + "/responses/" + shortId, null, null)
                        .body()));
    }
}
