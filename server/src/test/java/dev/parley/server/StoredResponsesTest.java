package dev.parley.server;

import static dev.parley.server.ResponsesApiTest.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.core.ObjectMappers;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.InternalServerException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseItem;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.inputitems.InputItemListParams;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import dev.parley.testkit.RedisServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Responses kept for their key (the Responses API's {@code store}): a later request continues one with {@code
 * previous_response_id} and reads as the whole conversation sent at once; its owner fetches it, lists its input and
 * deletes it; no other key sees it; it lasts its time, a restart (under the data folder) and another replica (in
 * Redis). Through OpenAI's own Java SDK, which checks every field it reads.
 */
@Timeout(300)
class StoredResponsesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TestServers servers = new TestServers();

    @AfterEach
    void close() throws Exception {
        servers.close();
    }

    private ParleyServer server(ApiKeys keys, ServerOptions options, Clock clock) {
        return servers.demo(keys, options, clock);
    }

    private ParleyServer server(ServerOptions options) {
        return server(ApiKeys.open(), options, Clock.systemUTC());
    }

    private OpenAIClient sdk(ParleyServer server, String key) {
        return servers.sdk(server, key);
    }

    /** A request for {@code demo}'s greedy answer to {@code input}, at most {@code maxOutputTokens} long. */
    static ResponseCreateParams.Builder greedy(String input, long maxOutputTokens) {
        return ResponseCreateParams.builder()
                .model("demo")
                .input(input)
                .maxOutputTokens(maxOutputTokens)
                .temperature(0.0);
    }

    /** A response's {@code store}, which the SDK's model keeps among its additional properties. */
    private static boolean stored(Response response) {
        JsonNode store = tree(response).path("store");
        assertThat(store.isBoolean()).as("store is a boolean").isTrue();
        return store.asBoolean();
    }

    private static JsonNode tree(Object value) {
        return JSON.valueToTree(ObjectMappers.jsonMapper().valueToTree(value));
    }

    @Test
    void aContinuedResponseReadsAsTheWholeConversationAndItsOwnerFetchesListsAndDeletesIt() {
        var server = server(ServerOptions.defaults());
        OpenAIClient openai = sdk(server, "not-needed");

        Response first = openai.responses()
                .create(greedy("Once upon a time", 12)
                        .instructions("Tell a story.")
                        .build());
        first.validate();
        assertThat(stored(first)).isEqualTo(true);
        assertThat(first.previousResponseId()).isEmpty();
        Response fetched = openai.responses().retrieve(first.id());
        fetched.validate();
        assertThat(tree(fetched)).isEqualTo(tree(first));

        // The next turn names the first: its input and output come before the new input, its instructions do not.
        Response second = openai.responses()
                .create(greedy("And then?", 12).previousResponseId(first.id()).build());
        second.validate();
        assertThat(second.previousResponseId()).contains(first.id());
        ChatCompletion chat = openai.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model("demo")
                        .addUserMessage("Once upon a time")
                        .addAssistantMessage(text(first))
                        .addUserMessage("And then?")
                        .maxCompletionTokens(12)
                        .temperature(0.0)
                        .build());
        assertThat(text(second))
                .isEqualTo(chat.choices().getFirst().message().content().orElseThrow());
        assertThat(second.usage().orElseThrow().inputTokens())
                .isEqualTo(chat.usage().orElseThrow().promptTokens());

        // Its input items: only its own, with ids, newest first unless asked; paged with limit and after.
        List<ResponseItem> items =
                openai.responses().inputItems().list(second.id()).data();
        assertThat(items).hasSize(1);
        items.getFirst().validate();
        var message = items.getFirst().asResponseInputMessageItem();
        assertThat(message.id()).matches("msg_[0-9a-f]{48}");
        assertThat(message.role().asString()).isEqualTo("user");
        assertThat(message.content().getFirst().asInputText().text()).isEqualTo("And then?");

        Response third = openai.responses()
                .create(ResponseCreateParams.builder()
                        .model("demo")
                        .inputOfResponse(List.of(
                                ResponseInputItem.ofMessage(ResponseInputItem.Message.builder()
                                        .role(ResponseInputItem.Message.Role.SYSTEM)
                                        .addInputTextContent("Be brief.")
                                        .build()),
                                ResponseInputItem.ofEasyInputMessage(
                                        com.openai.models.responses.EasyInputMessage.builder()
                                                .role(com.openai.models.responses.EasyInputMessage.Role.USER)
                                                .content("A cat")
                                                .build()),
                                ResponseInputItem.ofEasyInputMessage(
                                        com.openai.models.responses.EasyInputMessage.builder()
                                                .role(com.openai.models.responses.EasyInputMessage.Role.ASSISTANT)
                                                .content("sat")
                                                .build())))
                        .maxOutputTokens(4)
                        .build());
        List<ResponseItem> newestFirst =
                openai.responses().inputItems().list(third.id()).data();
        assertThat(newestFirst).hasSize(3);
        newestFirst.forEach(ResponseItem::validate);
        assertThat(newestFirst
                        .getFirst()
                        .asResponseOutputMessage()
                        .content()
                        .getFirst()
                        .asOutputText()
                        .text())
                .isEqualTo("sat");
        List<ResponseItem> oldestFirst = openai.responses()
                .inputItems()
                .list(
                        third.id(),
                        InputItemListParams.builder()
                                .order(InputItemListParams.Order.ASC)
                                .build())
                .data();
        assertThat(tree(oldestFirst)).isEqualTo(tree(newestFirst.reversed()));
        var page = openai.responses()
                .inputItems()
                .list(
                        third.id(),
                        InputItemListParams.builder()
                                .order(InputItemListParams.Order.ASC)
                                .limit(1)
                                .after(oldestFirst
                                        .getFirst()
                                        .asResponseInputMessageItem()
                                        .id())
                                .build());
        assertThat(page.hasMore()).contains(true);
        assertThat(tree(page.data())).isEqualTo(tree(oldestFirst.subList(1, 2)));

        // Deleted: gone for every route, and a conversation through it cannot go on.
        openai.responses().delete(first.id());
        assertThatThrownBy(() -> openai.responses().retrieve(first.id())).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> openai.responses().delete(first.id())).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> openai.responses()
                        .create(greedy("Go on.", 4)
                                .previousResponseId(first.id())
                                .build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessageContaining("Previous response with id '%s' not found.".formatted(first.id()));
        assertThatThrownBy(() -> openai.responses()
                        .create(greedy("Go on.", 4)
                                .previousResponseId(second.id())
                                .build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessageContaining("'%s' not found: it is an earlier response of the one given, '%s'"
                        .formatted(first.id(), second.id()));
        assertThat(openai.responses().retrieve(second.id()).id()).isEqualTo(second.id());
    }

    @Test
    void aStreamedResponseIsKeptAsItsLastEventShowsItAndStoreFalseKeepsNothing() throws Exception {
        var server = server(ServerOptions.defaults());
        OpenAIClient openai = sdk(server, "not-needed");
        Response last = null;
        try (StreamResponse<ResponseStreamEvent> stream =
                openai.responses().createStreaming(greedy("Once upon a time", 8).build())) {
            for (ResponseStreamEvent event : (Iterable<ResponseStreamEvent>) stream.stream()::iterator) {
                if (event.isCreated())
                    assertThat(stored(event.asCreated().response())).isEqualTo(true);
                if (event.isCompleted()) last = event.asCompleted().response();
                if (event.isIncomplete()) last = event.asIncomplete().response();
            }
        }
        assertThat(last).isNotNull();
        assertThat(tree(openai.responses().retrieve(last.id()))).isEqualTo(tree(last));
        Response next = openai.responses()
                .create(greedy("And then?", 4).previousResponseId(last.id()).build());
        assertThat(next.usage().orElseThrow().inputTokens())
                .isGreaterThan(last.usage().orElseThrow().totalTokens());

        Response unkept = openai.responses()
                .create(greedy("Once upon a time", 4).store(false).build());
        assertThat(stored(unkept)).isEqualTo(false);
        assertThatThrownBy(() -> openai.responses().retrieve(unkept.id())).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> openai.responses()
                        .create(greedy("Go on.", 4)
                                .previousResponseId(unkept.id())
                                .build()))
                .isInstanceOf(BadRequestException.class)
                .satisfies(e -> {
                    var error = ((BadRequestException) e).body();
                    assertThat(error.toString()).contains("previous_response_not_found", "previous_response_id");
                });

        // A kept response is finished: nothing to cancel, nor to stream again; ids this server never makes are
        // simply not found, whatever they hold.
        String root = server.baseUrl("127.0.0.1").replace("/v1", "");
        try (HttpClient http = HttpClient.newHttpClient()) {
            var cancel = send(http, "POST", root + "/v1/responses/" + last.id() + "/cancel");
            assertThat(cancel.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(cancel.body()).at("/error/message").asText())
                    .contains("background=true");
            var replay = send(http, "GET", root + "/v1/responses/" + last.id() + "?stream=true");
            assertThat(replay.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(replay.body()).at("/error/param").asText()).isEqualTo("stream");
            for (String id : List.of("resp_1", "..%2F..%2Fkeys", "resp_" + "0".repeat(48))) {
                for (String route : List.of(
                        "GET /v1/responses/" + id,
                        "GET /v1/responses/" + id + "/input_items",
                        "DELETE /v1/responses/" + id,
                        "POST /v1/responses/" + id + "/cancel")) {
                    String[] methodAndPath = route.split(" ");
                    var answer = send(http, methodAndPath[0], root + methodAndPath[1]);
                    assertThat(answer.statusCode()).as(route).isEqualTo(404);
                    assertThat(JSON.readTree(answer.body()).at("/error/type").asText())
                            .isEqualTo("invalid_request_error");
                }
            }
            var badLimit = send(http, "GET", root + "/v1/responses/" + last.id() + "/input_items?limit=0");
            assertThat(badLimit.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(badLimit.body()).at("/error/param").asText())
                    .isEqualTo("limit");
        }
    }

    private static HttpResponse<String> send(HttpClient http, String method, String url) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .method(method, HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aResponseIsItsKeysAloneAndLastsItsTimeAndARestart(@TempDir Path dir) {
        Path keysFile = dir.resolve("keys.json");
        for (String name : List.of("team-a", "team-b"))
            KeysFile.add(
                    keysFile,
                    new KeyEntry(name, KeysFile.sha256("sk-" + name), 10_000, 10_000_000, null, null, List.of()));
        var clock = new BatchApiTest.Stepped();
        ServerOptions options = ServerOptions.defaults().withDataDir(dir.resolve("data"));
        var server = server(ApiKeys.load(keysFile), options, clock);
        OpenAIClient a = sdk(server, "sk-team-a");
        OpenAIClient b = sdk(server, "sk-team-b");

        Response mine = a.responses().create(greedy("Once upon a time", 6).build());
        assertThat(a.responses().retrieve(mine.id()).id()).isEqualTo(mine.id());
        assertThatThrownBy(() -> b.responses().retrieve(mine.id())).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> b.responses().inputItems().list(mine.id())).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> b.responses().delete(mine.id())).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> b.responses()
                        .create(greedy("And then?", 4)
                                .previousResponseId(mine.id())
                                .build()))
                .isInstanceOf(BadRequestException.class);

        // Kept under the data folder: another server on it (after a restart) has it, until its 30 days are up.
        server.close();
        var again = server(ApiKeys.load(keysFile), options, clock);
        OpenAIClient after = sdk(again, "sk-team-a");
        assertThat(tree(after.responses().retrieve(mine.id()))).isEqualTo(tree(mine));
        Response next = after.responses()
                .create(greedy("And then?", 4).previousResponseId(mine.id()).build());
        assertThat(next.previousResponseId()).contains(mine.id());
        clock.now.updateAndGet(t -> t.plus(Duration.ofDays(30)));
        assertThatThrownBy(() -> after.responses().retrieve(mine.id())).isInstanceOf(NotFoundException.class);
    }

    @Test
    void replicasShareTheirResponsesThroughRedisAndAnswerWhenItIsDown(@TempDir Path dir) {
        try (var redis = RedisServer.start()) {
            ServerOptions options = ServerOptions.defaults().withRedis(redis.uri());
            OpenAIClient one = sdk(server(options.withDataDir(dir.resolve("one"))), "not-needed");
            OpenAIClient two = sdk(server(options.withDataDir(dir.resolve("two"))), "not-needed");

            Response first =
                    one.responses().create(greedy("Once upon a time", 6).build());
            assertThat(tree(two.responses().retrieve(first.id()))).isEqualTo(tree(first));
            Response second = two.responses()
                    .create(greedy("And then?", 4)
                            .previousResponseId(first.id())
                            .build());
            assertThat(one.responses().inputItems().list(second.id()).data()).hasSize(1);
            two.responses().delete(first.id());
            assertThatThrownBy(() -> one.responses().retrieve(first.id())).isInstanceOf(NotFoundException.class);

            // Redis gone: an answer is still given, saying it was not kept; what needs the store is a 503 until it is
            // back.
            redis.stop();
            Response unkept =
                    one.responses().create(greedy("Once upon a time", 4).build());
            assertThat(stored(unkept)).isEqualTo(false);
            assertThatThrownBy(() -> one.responses().retrieve(second.id()))
                    .isInstanceOf(InternalServerException.class)
                    .satisfies(e -> assertThat(((InternalServerException) e).statusCode())
                            .isEqualTo(503));
            redis.startAgain(); // empty: this one keeps nothing on disk
            Response back = one.responses().create(greedy("Once upon a time", 4).build());
            assertThat(stored(back)).isTrue();
            assertThat(tree(two.responses().retrieve(back.id()))).isEqualTo(tree(back));
        }
    }

    @Test
    void truncationAutoDropsTheOldestTurnsOfAConversationTooLongForTheContext() throws Exception {
        var server = server(ServerOptions.defaults()); // 512 tokens a sequence
        var loopback = Loopback.to(server);
        servers.add(loopback);
        String id = null;
        JsonNode refused = null;
        for (int turn = 0; turn < 30 && refused == null; turn++) {
            var body = JSON.createObjectNode()
                    .put("model", "demo")
                    .put("input", turn == 0 ? "Once upon a time" : "Go on.")
                    .put("max_output_tokens", 60)
                    .put("temperature", 0);
            if (id != null) body.put("previous_response_id", id);
            var answer = loopback.post("/v1/responses", body.toString());
            JsonNode json = JSON.readTree(answer.body());
            if (answer.statusCode() == 200) id = json.path("id").asText();
            else refused = json.path("error");
        }
        assertThat(refused).as("the conversation outgrew the context").isNotNull();
        assertThat(refused.path("code").asText()).isEqualTo("context_length_exceeded");

        var auto = JSON.createObjectNode()
                .put("model", "demo")
                .put("previous_response_id", id)
                .put("input", "Go on.")
                .put("max_output_tokens", 60)
                .put("temperature", 0)
                .put("truncation", "auto");
        var answer = loopback.post("/v1/responses", auto.toString());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        JsonNode response = JSON.readTree(answer.body());
        assertThat(response.path("truncation").asText()).isEqualTo("auto");
        int read = response.at("/usage/input_tokens").asInt();
        assertThat(read + 60).isLessThanOrEqualTo(512);
        // Some of the conversation was kept: more than the new input alone.
        var alone = auto.deepCopy();
        alone.remove("previous_response_id");
        int aloneTokens = JSON.readTree(loopback.post("/v1/responses/input_tokens", alone.toString())
                        .body())
                .path("input_tokens")
                .asInt();
        assertThat(read).isGreaterThan(aloneTokens + 60);
        // The count says what the response read; without truncation the same request is refused, as it was above.
        assertThat(JSON.readTree(loopback.post("/v1/responses/input_tokens", auto.toString())
                                .body())
                        .path("input_tokens")
                        .asInt())
                .isEqualTo(read);
        var disabled = loopback.post(
                "/v1/responses", auto.deepCopy().put("truncation", "disabled").toString());
        assertThat(disabled.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(disabled.body()).at("/error/code").asText()).isEqualTo("context_length_exceeded");
    }

    @Test
    void aBatchOfResponsesKeepsEachLinesResponseLocallyAndThroughAGateway(@TempDir Path dir) throws Exception {
        var upstream = server(ServerOptions.defaults().withDataDir(dir.resolve("upstream")));
        var gateway = ParleyServer.start(
                dev.parley.server.engine.proxy.ProxyEngine.connect(
                        ClientOptions.builder(name -> null)
                                .baseUrl(upstream.baseUrl("127.0.0.1"))
                                .apiKey("test")
                                .maxRetries(0)
                                .build(),
                        List.of()),
                ApiKeys.open(),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                ServerOptions.defaults().withDataDir(dir.resolve("gateway")));
        servers.add(gateway);
        String lines = "";
        for (int i = 0; i < 2; i++)
            lines += "{\"custom_id\":\"r" + i + "\",\"method\":\"POST\",\"url\":\"/v1/responses\",\"body\":"
                    + "{\"model\":\"demo\",\"input\":\"Once upon a time\",\"max_output_tokens\":" + (i + 3)
                    + "}}\n";
        for (ParleyServer server : List.of(upstream, gateway)) {
            OpenAIClient openai = sdk(server, "not-needed");
            var file = BatchApiTest.upload(openai, lines);
            var batch = BatchApiTest.create(
                    openai, file.id(), com.openai.models.batches.BatchCreateParams.Endpoint.V1_RESPONSES);
            batch = BatchApiTest.await(openai, batch.id(), BatchApiTest::ended);
            assertThat(batch.status().asString()).isEqualTo("completed");
            try (HttpClient http = HttpClient.newHttpClient()) {
                for (JsonNode line :
                        BatchApiTest.lines(openai, batch.outputFileId().orElseThrow())) {
                    JsonNode body = line.at("/response/body");
                    var kept = send(
                            http,
                            "GET",
                            server.baseUrl("127.0.0.1") + "/responses/"
                                    + body.path("id").asText());
                    assertThat(JSON.readTree(kept.body()))
                            .as("kept by " + server.baseUrl("127.0.0.1"))
                            .isEqualTo(body);
                }
            }
        }
    }

    @Test
    void theJavaClientFetchesAndDeletesAKeptResponse() {
        var server = server(ServerOptions.defaults());
        try (var client = ParleyClient.create(ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl("127.0.0.1"))
                .maxRetries(0)
                .build())) {
            var body = JSON.createObjectNode().put("model", "demo").put("input", "Once upon a time");
            body.put("max_output_tokens", 4);
            assertThat(client.countResponseInputTokens(body)).isGreaterThan(5);
            var created = client.responses(body);
            String id = created.path("id").asText();
            assertThat(client.retrieveResponse(id)).isEqualTo(created);
            assertThat(client.countResponseInputTokens(body))
                    .isEqualTo(created.at("/usage/input_tokens").asLong());
            // Input items, every page (four of 3): 10 of them, in the order they were sent.
            var many = JSON.createObjectNode().put("model", "demo").put("max_output_tokens", 1);
            var input = many.putArray("input");
            for (int i = 0; i < 10; i++) input.addObject().put("role", "user").put("content", "n" + i);
            String manyId = client.responses(many).path("id").asText();
            assertThat(client.responseInputItems(manyId)).hasSize(10);
            List<String> texts = client.responseInputItems(manyId, 3).stream()
                    .map(item -> item.at("/content/0/text").asText())
                    .toList();
            assertThat(texts).hasSize(10).startsWith("n0", "n1").endsWith("n8", "n9");
            client.deleteResponse(id);
            assertThatThrownBy(() -> client.retrieveResponse(id))
                    .isInstanceOf(dev.parley.api.NotFoundException.class)
                    .hasMessageContaining("Response with id '%s' not found.".formatted(id));
            assertThatThrownBy(() -> client.deleteResponse(id)).isInstanceOf(dev.parley.api.NotFoundException.class);
            assertThatThrownBy(() -> client.retrieveResponse("resp 1/../x"))
                    .isInstanceOf(dev.parley.api.NotFoundException.class);
        }
    }

    @Test
    void aServerThatKeepsNoneSaysSo() {
        var server = server(ServerOptions.defaults().withKeepResponses(Duration.ZERO));
        OpenAIClient openai = sdk(server, "not-needed");
        Response response =
                openai.responses().create(greedy("Once upon a time", 4).build());
        assertThat(stored(response)).isEqualTo(false);
        assertThatThrownBy(() -> openai.responses().retrieve(response.id()))
                .isInstanceOf(NotFoundException.class)
                .hasMessageContaining("this server keeps no responses");
        assertThatThrownBy(() -> openai.responses()
                        .create(greedy("And then?", 4)
                                .previousResponseId(response.id())
                                .build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessageContaining("this server keeps no responses");
    }
}
