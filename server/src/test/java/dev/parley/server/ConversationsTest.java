package dev.parley.server;

import static dev.parley.server.ResponsesApiTest.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.ObjectMappers;
import com.openai.core.http.StreamResponse;
import com.openai.errors.InternalServerException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.conversations.Conversation;
import com.openai.models.conversations.ConversationCreateParams;
import com.openai.models.conversations.ConversationUpdateParams;
import com.openai.models.conversations.items.ConversationItem;
import com.openai.models.conversations.items.ItemCreateParams;
import com.openai.models.conversations.items.ItemDeleteParams;
import com.openai.models.conversations.items.ItemListParams;
import com.openai.models.conversations.items.ItemRetrieveParams;
import com.openai.models.responses.EasyInputMessage;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import dev.parley.api.Json;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.testkit.RedisServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenAI's Conversations API: a conversation's items are read before a response's input, and the response adds its
 * input and output to them; its owner creates, fetches, changes and deletes it and its items; no other key sees it;
 * it lasts a restart (under the data folder) and is shared by replicas (in Redis), which add to it at the same time
 * without losing each other's items. Through OpenAI's own Java SDK, which checks every field it reads.
 */
@Timeout(300)
class ConversationsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TestServers servers = new TestServers();

    @AfterEach
    void close() throws Exception {
        servers.close();
    }

    private ParleyServer server(ApiKeys keys, ServerOptions options) {
        return servers.demo(keys, options, Clock.systemUTC());
    }

    private ParleyServer server(ServerOptions options) {
        return server(ApiKeys.open(), options);
    }

    private OpenAIClient sdk(ParleyServer server, String key) {
        return servers.sdk(server, key);
    }

    private static ResponseCreateParams.Builder turn(String conversation, String input, long maxOutputTokens) {
        return ResponseCreateParams.builder()
                .model("demo")
                .conversation(conversation)
                .input(input)
                .maxOutputTokens(maxOutputTokens)
                .temperature(0.0);
    }

    private static List<ConversationItem> items(OpenAIClient openai, String conversation) {
        List<ConversationItem> items = new ArrayList<>();
        openai.conversations()
                .items()
                .list(
                        conversation,
                        ItemListParams.builder().order(ItemListParams.Order.ASC).build())
                .autoPager()
                .forEach(items::add);
        items.forEach(ConversationItem::validate);
        return items;
    }

    private static JsonNode tree(Object value) {
        return JSON.valueToTree(ObjectMappers.jsonMapper().valueToTree(value));
    }

    private static String role(ConversationItem item) {
        return item.asMessage().role().asString();
    }

    private static String itemText(ConversationItem item) {
        var content = item.asMessage().content().getFirst();
        return content.isInputText()
                ? content.asInputText().text()
                : content.asOutputText().text();
    }

    @Test
    void responsesToAConversationReadItsItemsFirstAndAddTheirInputAndOutputToIt() throws Exception {
        var server = server(ServerOptions.defaults());
        OpenAIClient openai = sdk(server, "not-needed");

        Conversation conversation = openai.conversations()
                .create(ConversationCreateParams.builder()
                        .addItem(EasyInputMessage.builder()
                                .role(EasyInputMessage.Role.SYSTEM)
                                .content("Tell a story.")
                                .build())
                        .metadata(ConversationCreateParams.Metadata.builder()
                                .putAdditionalProperty("topic", JsonValue.from("stories"))
                                .build())
                        .build());
        conversation.validate();
        assertThat(conversation.id()).matches("conv_[0-9a-f]{48}");
        assertThat(tree(openai.conversations().retrieve(conversation.id()))).isEqualTo(tree(conversation));

        Response first = openai.responses()
                .create(turn(conversation.id(), "Once upon a time", 10).build());
        first.validate();
        assertThat(tree(first).path("conversation").path("id").asText()).isEqualTo(conversation.id());
        Response second = openai.responses()
                .create(turn(conversation.id(), "And then?", 10).build());

        // The second read the conversation so far: the same answer and usage as the whole chat sent at once.
        ChatCompletion chat = openai.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model("demo")
                        .addSystemMessage("Tell a story.")
                        .addUserMessage("Once upon a time")
                        .addAssistantMessage(text(first))
                        .addUserMessage("And then?")
                        .maxCompletionTokens(10)
                        .temperature(0.0)
                        .build());
        assertThat(text(second))
                .isEqualTo(chat.choices().getFirst().message().content().orElseThrow());
        assertThat(second.usage().orElseThrow().inputTokens())
                .isEqualTo(chat.usage().orElseThrow().promptTokens());

        List<ConversationItem> items = items(openai, conversation.id());
        assertThat(items.stream().map(ConversationsTest::role))
                .containsExactly("system", "user", "assistant", "user", "assistant");
        assertThat(items.stream().map(ConversationsTest::itemText))
                .containsExactly("Tell a story.", "Once upon a time", text(first), "And then?", text(second));
        assertThat(items.get(2).asMessage().id())
                .isEqualTo(first.output().getFirst().asMessage().id());

        // A streamed response adds its items once it is finished, as a whole one does; store: false changes nothing.
        Response streamed = null;
        try (StreamResponse<ResponseStreamEvent> stream = openai.responses()
                .createStreaming(
                        turn(conversation.id(), "The end.", 4).store(false).build())) {
            for (ResponseStreamEvent event : (Iterable<ResponseStreamEvent>) stream.stream()::iterator) {
                if (event.isCompleted()) streamed = event.asCompleted().response();
                if (event.isIncomplete()) streamed = event.asIncomplete().response();
            }
        }
        assertThat(streamed).isNotNull();
        items = items(openai, conversation.id());
        assertThat(items).hasSize(7);
        assertThat(itemText(items.get(6))).isEqualTo(text(streamed));

        // Items: fetched, added, deleted (which answers the conversation), paged newest first by default.
        ConversationItem fetched = openai.conversations()
                .items()
                .retrieve(
                        items.get(1).asMessage().id(),
                        ItemRetrieveParams.builder()
                                .conversationId(conversation.id())
                                .build());
        assertThat(tree(fetched)).isEqualTo(tree(items.get(1)));
        var added = openai.conversations()
                .items()
                .create(ItemCreateParams.builder()
                        .conversationId(conversation.id())
                        .addItem(EasyInputMessage.builder()
                                .role(EasyInputMessage.Role.USER)
                                .content("Who was there?")
                                .build())
                        .build());
        added.validate();
        assertThat(added.data()).hasSize(1);
        Conversation after = openai.conversations()
                .items()
                .delete(
                        items.get(0).asMessage().id(),
                        ItemDeleteParams.builder()
                                .conversationId(conversation.id())
                                .build());
        assertThat(after.id()).isEqualTo(conversation.id());
        var newest = openai.conversations()
                .items()
                .list(conversation.id(), ItemListParams.builder().limit(2).build());
        assertThat(newest.data().stream().map(ConversationsTest::itemText))
                .containsExactly("Who was there?", text(streamed));
        assertThat(newest.hasMore()).contains(true);
        items = items(openai, conversation.id());
        assertThat(items).hasSize(7);
        assertThat(itemText(items.getFirst())).isEqualTo("Once upon a time");

        // The next response reads the conversation as it now stands: without the deleted system message.
        Response fourth =
                openai.responses().create(turn(conversation.id(), "Tell me.", 4).build());
        ChatCompletion asChat = openai.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model("demo")
                        .addUserMessage("Once upon a time")
                        .addAssistantMessage(text(first))
                        .addUserMessage("And then?")
                        .addAssistantMessage(text(second))
                        .addUserMessage("The end.")
                        .addAssistantMessage(text(streamed))
                        .addUserMessage("Who was there?")
                        .addUserMessage("Tell me.")
                        .maxCompletionTokens(4)
                        .temperature(0.0)
                        .build());
        assertThat(fourth.usage().orElseThrow().inputTokens())
                .isEqualTo(asChat.usage().orElseThrow().promptTokens());

        // Metadata changes; deleting the conversation ends it for every route.
        Conversation renamed = openai.conversations()
                .update(ConversationUpdateParams.builder()
                        .conversationId(conversation.id())
                        .metadata(JsonValue.from(java.util.Map.of("topic", "cats")))
                        .build());
        assertThat(tree(renamed).path("metadata").path("topic").asText()).isEqualTo("cats");
        var deleted = openai.conversations().delete(conversation.id());
        assertThat(deleted.deleted()).isTrue();
        assertThatThrownBy(() -> openai.conversations().retrieve(conversation.id()))
                .isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> openai.responses()
                        .create(turn(conversation.id(), "More.", 4).build()))
                .isInstanceOf(NotFoundException.class)
                .hasMessageContaining(conversation.id());
    }

    private HttpResponse<String> send(String method, String url, String key, String body) throws Exception {
        return servers.send(method, url, key, body);
    }

    /** The error of an answer with {@code status}, in OpenAI's shape. */
    private static JsonNode error(HttpResponse<String> response, int status) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        JsonNode error = Json.tree(response.body()).path("error");
        assertThat(error.path("message").asText()).isNotEmpty();
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        return error;
    }

    @Test
    void aConversationIsItsKeysAloneAndBadRequestsGetOpenAiErrors(@TempDir Path dir) throws Exception {
        Path keysFile = dir.resolve("keys.json");
        for (String name : List.of("a", "b"))
            KeysFile.add(
                    keysFile,
                    new KeyEntry(name, KeysFile.sha256("sk-" + name), 10_000, 10_000_000, null, null, List.of()));
        var server = server(ApiKeys.load(keysFile), ServerOptions.defaults());
        String base = server.baseUrl("127.0.0.1");
        var made = send("POST", base + "/conversations", "sk-a", "{}");
        assertThat(made.statusCode()).as(made.body()).isEqualTo(200);
        String id = Json.tree(made.body()).path("id").asText();
        assertThat(Json.tree(made.body()).path("metadata").isObject()).isTrue();

        // Another key: none of it, on any route.
        for (var route : List.of(
                List.of("GET", "/conversations/" + id, ""),
                List.of("POST", "/conversations/" + id, "{\"metadata\":{}}"),
                List.of("DELETE", "/conversations/" + id, ""),
                List.of("GET", "/conversations/" + id + "/items", ""),
                List.of(
                        "POST",
                        "/conversations/" + id + "/items",
                        "{\"items\":[{\"role\":\"user\",\"content\":\"x\"}]}"),
                List.of(
                        "POST",
                        "/responses",
                        "{\"model\":\"demo\",\"input\":\"x\",\"conversation\":\"" + id + "\"}"))) {
            var answer =
                    send(route.get(0), base + route.get(1), "sk-b", route.get(2).isEmpty() ? null : route.get(2));
            error(answer, 404);
        }
        assertThat(Json.tree(send("GET", base + "/conversations/" + id + "/items", "sk-a", null)
                                .body())
                        .path("data"))
                .isEmpty();

        record Bad(String method, String path, String body, int status, String param) {}
        String tooMany = "{\"items\":[" + "{\"role\":\"user\",\"content\":\"x\"},".repeat(20)
                + "{\"role\":\"user\",\"content\":\"x\"}]}";
        for (Bad bad : List.of(
                new Bad("POST", "/conversations", tooMany, 400, "items"),
                new Bad(
                        "POST",
                        "/conversations",
                        "{\"items\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
                        400,
                        "items[0].role"),
                new Bad("POST", "/conversations", "{\"items\":[{\"type\":\"image\"}]}", 400, "items[0].type"),
                new Bad("POST", "/conversations", "{\"items\":\"x\"}", 400, "items"),
                new Bad("POST", "/conversations", "{\"metadata\":{\"k\":1}}", 400, "metadata.k"),
                new Bad("POST", "/conversations", "[1]", 400, null),
                new Bad("POST", "/conversations/" + id, "{}", 400, "metadata"),
                new Bad("POST", "/conversations/" + id + "/items", "{}", 400, "items"),
                new Bad("GET", "/conversations/" + id + "/items?limit=0", null, 400, "limit"),
                new Bad("GET", "/conversations/" + id + "/items?after=msg_none", null, 400, "after"),
                new Bad("GET", "/conversations/" + id + "/items/msg_none", null, 404, null),
                new Bad("DELETE", "/conversations/" + id + "/items/msg_none", null, 404, null),
                new Bad("GET", "/conversations/conv_../../etc", null, 404, null),
                new Bad("GET", "/conversations/" + "conv_" + "x".repeat(5000), null, 404, null),
                new Bad(
                        "POST",
                        "/responses",
                        "{\"model\":\"demo\",\"input\":\"x\",\"conversation\":7}",
                        400,
                        "conversation"),
                new Bad(
                        "POST",
                        "/responses",
                        "{\"model\":\"demo\",\"input\":\"x\",\"conversation\":{\"id\":[]}}",
                        400,
                        "conversation"),
                new Bad(
                        "POST",
                        "/responses",
                        "{\"model\":\"demo\",\"input\":\"x\",\"conversation\":\"" + id
                                + "\",\"previous_response_id\":\"resp_1\"}",
                        400,
                        "conversation"),
                new Bad(
                        "POST",
                        "/responses",
                        "{\"model\":\"demo\",\"input\":\"x\",\"conversation\":\"conv_none\"}",
                        404,
                        "conversation"))) {
            var answer = send(bad.method(), base + bad.path(), "sk-a", bad.body());
            JsonNode error = error(answer, bad.status());
            assertThat(error.path("param").isNull() ? null : error.path("param").asText())
                    .as(bad.toString())
                    .isEqualTo(bad.param());
            assertThat(error.path("message").asText().length()).isLessThan(400);
        }
        // None of those changed the conversation.
        assertThat(Json.tree(send("GET", base + "/conversations/" + id + "/items", "sk-a", null)
                                .body())
                        .path("data"))
                .isEmpty();

        // The conversation given as an object, and counted by input_tokens as a response reads it.
        var turn = send(
                "POST",
                base + "/responses",
                "sk-a",
                "{\"model\":\"demo\",\"input\":\"Once upon a time\",\"max_output_tokens\":4,\"conversation\":{\"id\":\""
                        + id + "\"}}");
        assertThat(turn.statusCode()).as(turn.body()).isEqualTo(200);
        var counted = send(
                "POST",
                base + "/responses/input_tokens",
                "sk-a",
                "{\"model\":\"demo\",\"input\":\"And then?\",\"conversation\":\"" + id + "\"}");
        var next = send(
                "POST",
                base + "/responses",
                "sk-a",
                "{\"model\":\"demo\",\"input\":\"And then?\",\"max_output_tokens\":1,\"conversation\":\"" + id + "\"}");
        assertThat(Json.tree(counted.body()).path("input_tokens").asLong())
                .isEqualTo(Json.tree(next.body())
                        .path("usage")
                        .path("input_tokens")
                        .asLong());
        assertThat(Json.tree(send("GET", base + "/conversations/" + id + "/items", "sk-a", null)
                                .body())
                        .path("data"))
                .hasSize(4);

        // An item of the conversation named by reference reads as the item itself, sent again.
        JsonNode items = Json.tree(send("GET", base + "/conversations/" + id + "/items?order=asc", "sk-a", null)
                        .body())
                .path("data");
        String firstQuestion = items.get(0).path("id").asText();
        var referring = send(
                "POST",
                base + "/responses/input_tokens",
                "sk-a",
                "{\"model\":\"demo\",\"conversation\":\"" + id + "\",\"input\":[{\"type\":\"item_reference\",\"id\":\""
                        + firstQuestion + "\"}]}");
        var spelledOut = send(
                "POST",
                base + "/responses/input_tokens",
                "sk-a",
                "{\"model\":\"demo\",\"conversation\":\"" + id + "\",\"input\":\"Once upon a time\"}");
        assertThat(referring.statusCode()).as(referring.body()).isEqualTo(200);
        assertThat(Json.tree(referring.body()).path("input_tokens").asLong())
                .isEqualTo(Json.tree(spelledOut.body()).path("input_tokens").asLong());
        var missing = send(
                "POST",
                base + "/responses",
                "sk-a",
                "{\"model\":\"demo\",\"conversation\":\"" + id
                        + "\",\"input\":[{\"type\":\"item_reference\",\"id\":\"msg_elsewhere\"}]}");
        assertThat(error(missing, 400).path("param").asText()).isEqualTo("input[0].id");
    }

    @Test
    void aConversationLastsARestartUnderTheDataFolderAndReplicasAddToItAtOnceThroughRedis(@TempDir Path dir)
            throws Exception {
        ServerOptions inFolder = ServerOptions.defaults().withDataDir(dir.resolve("data"));
        var server = server(inFolder);
        OpenAIClient openai = sdk(server, "not-needed");
        String kept = openai.conversations()
                .create(ConversationCreateParams.builder().build())
                .id();
        openai.responses().create(turn(kept, "Once upon a time", 4).build());
        server.close();
        OpenAIClient again = sdk(server(inFolder), "not-needed");
        assertThat(items(again, kept)).hasSize(2);

        try (var redis = RedisServer.start()) {
            ServerOptions shared = ServerOptions.defaults().withRedis(redis.uri());
            OpenAIClient one = sdk(server(shared.withDataDir(dir.resolve("one"))), "not-needed");
            OpenAIClient two = sdk(server(shared.withDataDir(dir.resolve("two"))), "not-needed");
            String id = one.conversations()
                    .create(ConversationCreateParams.builder().build())
                    .id();
            // Eight responses to the one conversation, four through each replica, all at once: none is lost.
            try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<Response>> answers = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    OpenAIClient replica = i % 2 == 0 ? one : two;
                    String input = "Turn " + i;
                    answers.add(pool.submit(
                            () -> replica.responses().create(turn(id, input, 2).build())));
                }
                for (Future<Response> answer : answers) answer.get();
            }
            List<ConversationItem> items = items(two, id);
            assertThat(items).hasSize(16);
            assertThat(items.stream().filter(item -> role(item).equals("user")).map(ConversationsTest::itemText))
                    .containsExactlyInAnyOrder(
                            "Turn 0", "Turn 1", "Turn 2", "Turn 3", "Turn 4", "Turn 5", "Turn 6", "Turn 7");
            one.conversations().delete(id);
            assertThatThrownBy(() -> two.conversations().retrieve(id)).isInstanceOf(NotFoundException.class);

            // Redis gone: what needs a conversation is a 503 until it is back, never an answer without it.
            String other = one.conversations()
                    .create(ConversationCreateParams.builder().build())
                    .id();
            redis.stop();
            for (Runnable call : List.<Runnable>of(
                    () -> two.conversations().retrieve(other),
                    () -> two.responses()
                            .create(turn(other, "Once upon a time", 2).build())))
                assertThatThrownBy(call::run)
                        .isInstanceOf(InternalServerException.class)
                        .satisfies(e -> assertThat(((InternalServerException) e).statusCode())
                                .isEqualTo(503));
        }
    }

    @Test
    void theJavaClientKeepsAConversationThroughEveryRoute() {
        var server = server(ServerOptions.defaults());
        try (var client = ParleyClient.create(ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl("127.0.0.1"))
                .maxRetries(0)
                .build())) {
            var start = Json.object();
            start.putObject("metadata").put("topic", "stories");
            start.putArray("items").addObject().put("role", "system").put("content", "Tell a story.");
            var conversation = client.createConversation(start);
            String id = conversation.path("id").asText();
            assertThat(client.retrieveConversation(id)).isEqualTo(conversation);

            var turn = Json.object()
                    .put("model", "demo")
                    .put("input", "Once upon a time")
                    .put("conversation", id);
            turn.put("max_output_tokens", 4);
            var answered = client.responses(turn);
            assertThat(answered.at("/conversation/id").asText()).isEqualTo(id);
            var more = Json.mapper().createArrayNode();
            for (int i = 0; i < 150; i++) more.addObject().put("role", "user").put("content", "n" + i);
            for (int from = 0; from < 150; from += 20) { // 20 at most a request
                var some = Json.mapper().createArrayNode();
                for (int i = from; i < Math.min(150, from + 20); i++) some.add(more.get(i));
                assertThat(client.addConversationItems(id, some)).hasSize(some.size());
            }
            // Every page (two of 100), oldest first.
            List<ObjectNode> items = client.conversationItems(id);
            assertThat(items).hasSize(153);
            assertThat(items.get(1).at("/content/0/text").asText()).isEqualTo("Once upon a time");
            assertThat(items.getLast().at("/content/0/text").asText()).isEqualTo("n149");
            String first = items.getFirst().path("id").asText();
            assertThat(client.retrieveConversationItem(id, first)).isEqualTo(items.getFirst());
            assertThat(client.deleteConversationItem(id, first).path("id").asText())
                    .isEqualTo(id);
            assertThat(client.conversationItems(id)).hasSize(152);
            assertThat(client.updateConversation(id, Json.object().put("topic", "cats"))
                            .at("/metadata/topic")
                            .asText())
                    .isEqualTo("cats");
            client.deleteConversation(id);
            assertThatThrownBy(() -> client.retrieveConversation(id))
                    .isInstanceOf(dev.parley.api.NotFoundException.class)
                    .hasMessageContaining("Conversation with id '%s' not found.".formatted(id));
            assertThatThrownBy(() -> client.deleteConversation(id))
                    .isInstanceOf(dev.parley.api.NotFoundException.class);
            assertThatThrownBy(() -> client.retrieveConversation("conv 1/../x"))
                    .isInstanceOf(dev.parley.api.NotFoundException.class);
        }
    }
}
