package dev.parley.server;

import static dev.parley.server.ResponsesApiTest.text;
import static dev.parley.server.StoredResponsesTest.greedy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.core.ObjectMappers;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseRetrieveParams;
import com.openai.models.responses.ResponseStatus;
import com.openai.models.responses.ResponseStreamEvent;
import dev.parley.api.Json;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.client.ResponsesStream;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.Tenant;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import dev.parley.server.responses.KeptResponses;
import dev.parley.server.responses.StoredResponse;
import dev.parley.testkit.RedisServer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Responses made in the background ({@code background: true}): answered at once, queued; fetched as they go and once
 * ended; their events streamed as they come and again from where a reader got to; cancelled where they run or from
 * another replica; failed, not in progress for ever, when the server making them stops. Through OpenAI's own Java
 * SDK.
 */
@Timeout(300)
class BackgroundResponsesTest {
    private static final Set<String> ENDED = Set.of("completed", "incomplete", "failed", "cancelled");

    private final TestServers servers = new TestServers();

    @AfterEach
    void close() throws Exception {
        servers.close();
    }

    /** A server of {@code model} ({@link SlowModel}: a long answer takes many seconds) as {@code slow}. */
    private ParleyServer slow(Path model, ServerOptions options) {
        return servers.add(ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(model)
                        .withModelId("slow")
                        .withParallel(1)
                        .withContextPerSequence(4096)),
                ApiKeys.open(),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                options));
    }

    /** A long answer of the slow model, in the background. */
    private static ResponseCreateParams long_() {
        return ResponseCreateParams.builder()
                .model("slow")
                .input("a b c")
                .maxOutputTokens(4000)
                .temperature(0.0)
                .background(true)
                .build();
    }

    private static JsonNode tree(Object value) {
        return Json.mapper().valueToTree(ObjectMappers.jsonMapper().valueToTree(value));
    }

    private static String status(Response response) {
        return response.status().map(ResponseStatus::asString).orElseThrow();
    }

    /** The response {@code id} once its status is one of {@code statuses}, fetched as a poller would. */
    private static Response await(OpenAIClient openai, String id, Set<String> statuses) throws InterruptedException {
        while (true) {
            Response now = openai.responses().retrieve(id);
            now.validate();
            if (statuses.contains(status(now))) return now;
            Thread.sleep(20);
        }
    }

    @Test
    void aBackgroundResponseIsAnsweredQueuedAndFetchedAsTheSameAnswerOnceItHasEnded() throws Exception {
        var server = servers.demo(ApiKeys.open(), ServerOptions.defaults(), Clock.systemUTC());
        OpenAIClient openai = servers.sdk(server, "not-needed");

        Response queued = openai.responses()
                .create(greedy("Once upon a time", 12).background(true).build());
        queued.validate();
        assertThat(status(queued)).isEqualTo("queued");
        assertThat(queued.background()).contains(true);
        assertThat(queued.output()).isEmpty();

        Response ended = await(openai, queued.id(), ENDED);
        assertThat(status(ended)).isIn("completed", "incomplete");
        Response foreground =
                openai.responses().create(greedy("Once upon a time", 12).build());
        assertThat(text(ended)).isEqualTo(text(foreground));
        assertThat(ended.usage().orElseThrow().outputTokens())
                .isEqualTo(foreground.usage().orElseThrow().outputTokens());
        // Cancelling one that has ended answers it as it ended.
        assertThat(tree(openai.responses().cancel(queued.id())).path("status").asText())
                .isEqualTo(status(ended));

        // A response answered when it was created cannot be cancelled nor streamed again.
        assertThatThrownBy(() -> openai.responses().cancel(foreground.id())).isInstanceOf(BadRequestException.class);
        var replay = servers.send(
                "GET", server.baseUrl("127.0.0.1") + "/responses/" + foreground.id() + "?stream=true", null, null);
        assertThat(replay.statusCode()).isEqualTo(400);
        assertThat(Json.tree(replay.body()).at("/error/param").asText()).isEqualTo("stream");
        // Background needs the response stored.
        var unstored = servers.send(
                "POST",
                server.baseUrl("127.0.0.1") + "/responses",
                null,
                "{\"model\":\"demo\",\"input\":\"x\",\"background\":true,\"store\":false}");
        assertThat(unstored.statusCode()).isEqualTo(400);
        assertThat(Json.tree(unstored.body()).at("/error/param").asText()).isEqualTo("background");
        var notBoolean = servers.send(
                "POST",
                server.baseUrl("127.0.0.1") + "/responses",
                null,
                "{\"model\":\"demo\",\"input\":\"x\",\"background\":\"yes\"}");
        assertThat(Json.tree(notBoolean.body()).at("/error/code").asText()).isEqualTo("invalid_type");
    }

    @Test
    void aStreamLeftMidWayIsFollowedAgainFromWhereItsReaderGotTo() throws Exception {
        var server = servers.demo(ApiKeys.open(), ServerOptions.defaults(), Clock.systemUTC());
        OpenAIClient openai = servers.sdk(server, "not-needed");

        List<ResponseStreamEvent> first = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = openai.responses()
                .createStreaming(greedy("Once upon a time", 24).background(true).build())) {
            Iterator<ResponseStreamEvent> events = stream.stream().iterator();
            for (int i = 0; i < 4 && events.hasNext(); i++) first.add(events.next());
        } // the reader leaves after four events; the response goes on
        assertThat(first).hasSize(4);
        String id = first.getFirst().asCreated().response().id();
        long cursor = tree(first.getLast()).path("sequence_number").asLong();

        List<ResponseStreamEvent> rest = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = openai.responses()
                .retrieveStreaming(
                        id,
                        ResponseRetrieveParams.builder().startingAfter(cursor).build())) {
            stream.stream().forEach(rest::add);
        }
        List<ResponseStreamEvent> all = new ArrayList<>(first);
        all.addAll(rest);
        for (int i = 0; i < all.size(); i++)
            assertThat(tree(all.get(i)).path("sequence_number").asInt()).isEqualTo(i);
        ResponseStreamEvent last = all.getLast();
        Response ended = last.isCompleted()
                ? last.asCompleted().response()
                : last.asIncomplete().response();
        assertThat(ended.background()).contains(true);
        Response foreground =
                openai.responses().create(greedy("Once upon a time", 24).build());
        assertThat(text(ended)).isEqualTo(text(foreground));
        assertThat(tree(openai.responses().retrieve(id))).isEqualTo(tree(ended));

        var bad = servers.send(
                "GET", server.baseUrl("127.0.0.1") + "/responses/" + id + "?stream=true&starting_after=-3", null, null);
        assertThat(Json.tree(bad.body()).at("/error/param").asText()).isEqualTo("starting_after");
    }

    @Test
    void aResponseIsCancelledWhereItRunsAndFromAnotherReplicaAndFailsWhenItsServerStops(@TempDir Path dir)
            throws Exception {
        try (var redis = RedisServer.start()) {
            ServerOptions shared = ServerOptions.defaults().withRedis(redis.uri());
            Path model = SlowModel.write(dir);
            ParleyServer one = slow(model, shared.withDataDir(dir.resolve("one-data")));
            OpenAIClient here = servers.sdk(one, "not-needed");
            ParleyServer two = slow(model, shared.withDataDir(dir.resolve("two-data")));
            OpenAIClient there = servers.sdk(two, "not-needed");

            // Cancelled where it runs: it ends at once, kept cancelled with what it had.
            Response mine = here.responses().create(long_());
            await(here, mine.id(), Set.of("in_progress"));
            // Not continued before it has ended: what it would continue is not written yet.
            assertThatThrownBy(() -> here.responses()
                            .create(ResponseCreateParams.builder()
                                    .model("slow")
                                    .input("d")
                                    .previousResponseId(mine.id())
                                    .build()))
                    .isInstanceOf(BadRequestException.class)
                    .hasMessageContaining("still in progress");
            Response cancelled = here.responses().cancel(mine.id());
            assertThat(status(cancelled)).isEqualTo("cancelled");
            assertThat(status(there.responses().retrieve(mine.id()))).isEqualTo("cancelled");

            // Cancelled from another replica: through the store, the server running it ends it.
            Response theirs = here.responses().create(long_());
            await(there, theirs.id(), Set.of("in_progress"));
            assertThat(status(there.responses().cancel(theirs.id()))).isEqualTo("cancelled");
            Response seen = here.responses().retrieve(theirs.id());
            assertThat(status(seen)).isEqualTo("cancelled");
            assertThat(seen.usage().orElseThrow().outputTokens()).isLessThan(4000);

            // A server shutting down waits for what it runs as for a request, then cuts it at the deadline: failed,
            // saying so, for every replica.
            Response cut = here.responses().create(long_());
            await(there, cut.id(), Set.of("in_progress"));
            assertThat(one.shutdown(Duration.ofMillis(200))).isEqualTo(1);
            Response failed = there.responses().retrieve(cut.id());
            assertThat(status(failed)).isEqualTo("failed");
            assertThat(failed.error().orElseThrow().message()).contains("shutting down");
            // Streamed again through a replica that does not hold its events: its last event.
            var again = servers.send(
                    "GET", two.baseUrl("127.0.0.1") + "/responses/" + cut.id() + "?stream=true", null, null);
            assertThat(again.statusCode()).isEqualTo(200);
            assertThat(again.body()).startsWith("event: response.failed\n").contains("shutting down");

            // One whose server stopped without a word (no mark of a live server): failed, not in progress for ever.
            try (KeptResponses store = KeptResponses.open(KeptResponses.KEEP, redis.uri(), null, Clock.systemUTC())) {
                var response = Json.object()
                        .put("id", "resp_orphan")
                        .put("object", "response")
                        .put("created_at", 1)
                        .put("status", "in_progress")
                        .put("model", "slow")
                        .put("background", true);
                response.putArray("output");
                store.keep(new StoredResponse(
                        "resp_orphan",
                        Tenant.OPEN.name(),
                        Clock.systemUTC().instant().getEpochSecond(),
                        null,
                        Json.mapper().createArrayNode(),
                        response));
            }
            JsonNode orphan = Json.tree(
                    servers.send("GET", slow(model, shared).baseUrl("127.0.0.1") + "/responses/resp_orphan", null, null)
                            .body());
            assertThat(orphan.path("status").asText()).isEqualTo("failed");
            assertThat(orphan.at("/error/message").asText()).contains("stopped before it finished");
        }
    }

    @Test
    void theJavaClientFollowsAndCancelsABackgroundResponse() throws Exception {
        var server = servers.demo(ApiKeys.open(), ServerOptions.defaults(), Clock.systemUTC());
        try (var client = ParleyClient.create(ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl("127.0.0.1"))
                .maxRetries(0)
                .build())) {
            var body = Json.object()
                    .put("model", "demo")
                    .put("input", "Once upon a time")
                    .put("max_output_tokens", 16)
                    .put("temperature", 0)
                    .put("background", true);
            String id;
            long cursor;
            try (ResponsesStream stream = client.streamResponses(body)) {
                Iterator<com.fasterxml.jackson.databind.node.ObjectNode> events = stream.iterator();
                var created = events.next();
                id = created.at("/response/id").asText();
                cursor = events.next().path("sequence_number").asLong();
            }
            var ended = client.followResponse(id, cursor).response();
            assertThat(ended.path("status").asText()).isIn("completed", "incomplete");
            assertThat(client.retrieveResponse(id)).isEqualTo(ended);
            assertThat(client.cancelResponse(id)).isEqualTo(ended);
        }
    }
}
