package dev.parley.server;

import static dev.parley.server.ToolsAndStructuredOutputsTest.WEATHER;
import static dev.parley.server.ToolsAndStructuredOutputsTest.assertValid;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.core.ObjectMappers;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseOutputMessage;
import com.openai.models.responses.ResponseStatus;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.inputtokens.InputTokenCountParams;
import dev.parley.client.ClientOptions;
import dev.parley.server.engine.proxy.ProxyEngine;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * OpenAI's Responses API served by a local model, checked against the chat answer to the same conversation (greedy,
 * so the same text and usage), through OpenAI's own Java SDK (which checks every field it needs) and as raw SSE bytes.
 */
@Timeout(300)
class ResponsesApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Served served;
    static OpenAIClient openai;

    @BeforeAll
    static void start() {
        served = Served.demo(1024);
        openai = served.sdk();
    }

    @AfterAll
    static void stop() {
        openai.close();
        served.close();
    }

    static ResponseCreateParams story(long maxOutputTokens) {
        return ResponseCreateParams.builder()
                .model("demo")
                .instructions("Tell a story.")
                .input("Once upon a time")
                .maxOutputTokens(maxOutputTokens)
                .temperature(0.0)
                .build();
    }

    static ChatCompletion chatStory(long maxTokens) {
        return openai.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model("demo")
                        .addSystemMessage("Tell a story.")
                        .addUserMessage("Once upon a time")
                        .maxCompletionTokens(maxTokens)
                        .temperature(0.0)
                        .build());
    }

    @Test
    void aResponseIsTheChatAnswerToTheSameConversation() {
        for (long cap : List.of(6L, 200L)) {
            Response response = openai.responses().create(story(cap));
            response.validate();
            ChatCompletion chat = chatStory(cap);
            ChatCompletion.Choice choice = chat.choices().getFirst();

            assertThat(response.id()).matches("resp_[0-9a-f]{48}");
            assertThat(response.model().asString()).isEqualTo("demo");
            assertThat(response.output()).hasSize(1);
            ResponseOutputMessage message = response.output().getFirst().asMessage();
            assertThat(message.id()).matches("msg_[0-9a-f]{48}");
            assertThat(message.content()).hasSize(1);
            assertThat(message.content().getFirst().asOutputText().text())
                    .isEqualTo(choice.message().content().orElseThrow());
            var usage = response.usage().orElseThrow();
            assertThat(usage.inputTokens()).isEqualTo(chat.usage().orElseThrow().promptTokens());
            assertThat(usage.outputTokens())
                    .isEqualTo(chat.usage().orElseThrow().completionTokens());
            assertThat(usage.totalTokens()).isEqualTo(usage.inputTokens() + usage.outputTokens());
            boolean cut = choice.finishReason().asString().equals("length");
            if (cap == 6) assertThat(cut).as("6 tokens cut a story short").isTrue();
            assertThat(response.status().orElseThrow())
                    .isEqualTo(cut ? ResponseStatus.INCOMPLETE : ResponseStatus.COMPLETED);
            assertThat(response.incompleteDetails().flatMap(d -> d.reason()).map(r -> r.asString()))
                    .isEqualTo(cut ? java.util.Optional.of("max_output_tokens") : java.util.Optional.empty());
        }
    }

    @Test
    void aStreamIsTheResponsesEventsOfTheSameAnswer() throws Exception {
        Response whole = openai.responses().create(story(40));
        String text = text(whole);

        // Through the SDK: every event is one it knows, with every field it needs.
        var deltas = new StringBuilder();
        Response last = null;
        try (StreamResponse<ResponseStreamEvent> stream = openai.responses().createStreaming(story(40))) {
            for (ResponseStreamEvent event : (Iterable<ResponseStreamEvent>) stream.stream()::iterator) {
                event.validate();
                if (event.isOutputTextDelta())
                    deltas.append(event.asOutputTextDelta().delta());
                if (event.isCompleted()) last = event.asCompleted().response();
                if (event.isIncomplete()) last = event.asIncomplete().response();
            }
        }
        assertThat(deltas.toString()).isEqualTo(text);
        assertThat(last).isNotNull();
        assertThat(last.id()).isNotEqualTo(whole.id());
        assertThat(last.output()
                        .getFirst()
                        .asMessage()
                        .content()
                        .getFirst()
                        .asOutputText()
                        .text())
                .isEqualTo(text);
        // The same counts (how many of the prompt's tokens a slot kept from the first run may differ).
        assertThat(last.usage().orElseThrow().inputTokens())
                .isEqualTo(whole.usage().orElseThrow().inputTokens());
        assertThat(last.usage().orElseThrow().outputTokens())
                .isEqualTo(whole.usage().orElseThrow().outputTokens());

        // As bytes: named events in order, numbered from 0, and no [DONE].
        List<JsonNode> events = events(served.loopback()
                .post("/v1/responses", body(story(40)).put("stream", true).toString())
                .body());
        assertThat(events)
                .extracting(e -> e.path("type").asText())
                .startsWith(
                        "response.created",
                        "response.in_progress",
                        "response.output_item.added",
                        "response.content_part.added",
                        "response.output_text.delta")
                .endsWith(
                        "response.output_text.done",
                        "response.content_part.done",
                        "response.output_item.done",
                        whole.status().orElseThrow() == ResponseStatus.COMPLETED
                                ? "response.completed"
                                : "response.incomplete");
        for (int i = 0; i < events.size(); i++)
            assertThat(events.get(i).path("sequence_number").asInt()).isEqualTo(i);
        JsonNode created = events.getFirst().path("response");
        assertThat(created.path("status").asText()).isEqualTo("in_progress");
        assertThat(created.path("output")).isEmpty();
        String itemId = events.get(2).path("item").path("id").asText();
        assertThat(events.subList(3, events.size() - 1))
                .allSatisfy(e -> assertThat(e.path("item_id").asText(itemId)).isEqualTo(itemId));
        assertThat(events.get(events.size() - 4).path("text").asText()).isEqualTo(text);
    }

    @Test
    void aRequiredCallIsAFunctionCallItemWholeAndStreamed() throws Exception {
        for (long seed = 1; seed <= 3; seed++) {
            ObjectNode request = JSON.createObjectNode()
                    .put("model", "demo")
                    .put("input", "What is the weather in Paris this week?")
                    .put("tool_choice", "required")
                    .put("parallel_tool_calls", false)
                    .put("temperature", 1.0)
                    .put("seed", seed)
                    .put("max_output_tokens", 200);
            ObjectNode tool = request.putArray("tools").addObject();
            tool.put("type", "function").put("name", "get_weather").put("description", "The weather in a city.");
            tool.set("parameters", JSON.readTree(WEATHER));

            HttpResponse<String> answer = served.loopback().post("/v1/responses", request.toString());
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            Response response = ObjectMappers.jsonMapper().readValue(answer.body(), Response.class);
            response.validate();
            assertThat(response.status().orElseThrow()).isEqualTo(ResponseStatus.COMPLETED);
            assertThat(response.output()).hasSize(1);
            for (var item : response.output()) {
                var call = item.asFunctionCall();
                assertThat(call.id().orElseThrow()).matches("fc_[0-9a-f]{48}");
                assertThat(call.callId()).matches("call_[A-Za-z0-9]{24}");
                assertThat(call.name()).isEqualTo("get_weather");
                assertValid(WEATHER, JSON.readTree(call.arguments()));
            }
            assertThat(JSON.readTree(answer.body())
                            .path("tools")
                            .path(0)
                            .path("name")
                            .asText())
                    .isEqualTo("get_weather");

            // Streamed, the same seed makes the same calls, their arguments in deltas.
            List<JsonNode> events = events(served.loopback()
                    .post(
                            "/v1/responses",
                            request.deepCopy().put("stream", true).toString())
                    .body());
            var arguments = new StringBuilder();
            List<String> done = new ArrayList<>();
            for (JsonNode event : events) {
                ObjectMappers.jsonMapper()
                        .treeToValue(event, ResponseStreamEvent.class)
                        .validate();
                switch (event.path("type").asText()) {
                    case "response.function_call_arguments.delta" ->
                        arguments.append(event.path("delta").asText());
                    case "response.function_call_arguments.done" -> {
                        assertThat(event.path("arguments").asText()).isEqualTo(arguments.toString());
                        done.add(arguments.toString());
                        arguments.setLength(0);
                    }
                    default -> {}
                }
            }
            assertThat(done)
                    .isEqualTo(response.output().stream()
                            .map(item -> item.asFunctionCall().arguments())
                            .toList());
            assertThat(events.getLast().path("type").asText()).isEqualTo("response.completed");

            // The next turn, as a client without stored responses sends it: the output items as they came back
            // (ids, statuses and all), then each call's result.
            JsonNode first = JSON.readTree(answer.body());
            ObjectNode next = request.deepCopy().put("tool_choice", "none");
            ArrayNode input = next.putArray("input");
            input.addObject().put("role", "user").put("content", "What is the weather in Paris this week?");
            for (JsonNode item : first.path("output")) {
                input.add(item);
                input.addObject()
                        .put("type", "function_call_output")
                        .put("call_id", item.path("call_id").asText())
                        .put("output", "Sunny, 21 C");
            }
            HttpResponse<String> second = served.loopback().post("/v1/responses", next.toString());
            assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
            JsonNode secondBody = JSON.readTree(second.body());
            assertThat(secondBody.at("/output/0/type").asText()).isEqualTo("message");
            assertThat(secondBody.at("/usage/input_tokens").asInt())
                    .isGreaterThan(first.at("/usage/input_tokens").asInt());

            // The same turn continuing the kept first response: only the results are sent, the answer is the same.
            ObjectNode chained =
                    next.deepCopy().put("previous_response_id", first.path("id").asText());
            ArrayNode results = chained.putArray("input");
            for (JsonNode item : first.path("output"))
                results.addObject()
                        .put("type", "function_call_output")
                        .put("call_id", item.path("call_id").asText())
                        .put("output", "Sunny, 21 C");
            HttpResponse<String> third = served.loopback().post("/v1/responses", chained.toString());
            assertThat(third.statusCode()).as(third.body()).isEqualTo(200);
            JsonNode thirdBody = JSON.readTree(third.body());
            assertThat(thirdBody.at("/output/0/content/0/text").asText())
                    .isEqualTo(secondBody.at("/output/0/content/0/text").asText());
            assertThat(thirdBody.path("usage")).isEqualTo(secondBody.path("usage"));
        }
    }

    @Test
    void earlierCallsAndTheirResultsAreReadAsTheChatReadsThem() throws Exception {
        String arguments = "{\"city\":\"Paris\",\"days\":2}";
        ObjectNode responses = JSON.createObjectNode().put("model", "demo").put("max_output_tokens", 1);
        responses.put("instructions", "Answer briefly.");
        var input = responses.putArray("input");
        input.addObject().put("role", "user").put("content", "What is the weather in Paris?");
        input.addObject()
                .put("type", "reasoning")
                .putArray("summary")
                .addObject()
                .put("type", "summary_text")
                .put("text", "The user wants the weather.");
        input.addObject()
                .put("type", "function_call")
                .put("call_id", "call_1")
                .put("name", "get_weather")
                .put("arguments", arguments);
        input.addObject()
                .put("type", "function_call_output")
                .put("call_id", "call_1")
                .put("output", "Sunny, 21 C");
        var parts = input.addObject().put("role", "user").putArray("content");
        parts.addObject().put("type", "input_text").put("text", "And ");
        parts.addObject().put("type", "input_text").put("text", "tomorrow?");

        ObjectNode chat = JSON.createObjectNode().put("model", "demo").put("max_completion_tokens", 1);
        var messages = chat.putArray("messages");
        messages.addObject().put("role", "system").put("content", "Answer briefly.");
        messages.addObject().put("role", "user").put("content", "What is the weather in Paris?");
        ObjectNode assistant = messages.addObject().put("role", "assistant");
        assistant.putNull("content");
        assistant.put("reasoning_content", "The user wants the weather.");
        assistant
                .putArray("tool_calls")
                .addObject()
                .put("id", "call_1")
                .put("type", "function")
                .putObject("function")
                .put("name", "get_weather")
                .put("arguments", arguments);
        messages.addObject().put("role", "tool").put("tool_call_id", "call_1").put("content", "Sunny, 21 C");
        messages.addObject().put("role", "user").put("content", "And tomorrow?");

        HttpResponse<String> answered = served.loopback().post("/v1/responses", responses.toString());
        assertThat(answered.statusCode()).as(answered.body()).isEqualTo(200);
        HttpResponse<String> chatted = served.loopback().post("/v1/chat/completions", chat.toString());
        assertThat(chatted.statusCode()).as(chatted.body()).isEqualTo(200);
        int prompt = JSON.readTree(chatted.body())
                .path("usage")
                .path("prompt_tokens")
                .asInt();
        assertThat(prompt).isGreaterThan(20);
        assertThat(JSON.readTree(answered.body())
                        .path("usage")
                        .path("input_tokens")
                        .asInt())
                .isEqualTo(prompt);
    }

    @Test
    void inputTokensAreCountedAsTheResponseReadsThem() throws Exception {
        Response response = openai.responses().create(story(4));
        var counted = openai.responses()
                .inputTokens()
                .count(InputTokenCountParams.builder()
                        .model("demo")
                        .instructions("Tell a story.")
                        .input("Once upon a time")
                        .build());
        counted.validate();
        assertThat(counted.inputTokens())
                .isEqualTo(response.usage().orElseThrow().inputTokens())
                .isGreaterThan(5);

        // With tools, and continuing a kept response: the conversation and the definitions count too.
        ObjectNode request = JSON.createObjectNode()
                .put("model", "demo")
                .put("previous_response_id", response.id())
                .put("input", "What is the weather in Paris?")
                .put("max_output_tokens", 2);
        ObjectNode tool = request.putArray("tools").addObject();
        tool.put("type", "function").put("name", "get_weather").put("description", "The weather in a city.");
        tool.set("parameters", JSON.readTree(WEATHER));
        JsonNode answered = JSON.readTree(
                served.loopback().post("/v1/responses", request.toString()).body());
        HttpResponse<String> count = served.loopback().post("/v1/responses/input_tokens", request.toString());
        assertThat(count.statusCode()).as(count.body()).isEqualTo(200);
        assertThat(JSON.readTree(count.body()))
                .isEqualTo(JSON.createObjectNode()
                        .put("object", "response.input_tokens")
                        .put("input_tokens", answered.at("/usage/input_tokens").asInt()));
        assertThat(answered.at("/usage/input_tokens").asLong()).isGreaterThan(counted.inputTokens() + 20);

        // Counting keeps nothing, and a request that cannot be read is the same 400 as for a response.
        HttpResponse<String> missing = served.loopback().post("/v1/responses/input_tokens", "{\"model\":\"demo\"}");
        assertThat(missing.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(missing.body()).at("/error/param").asText()).isEqualTo("input");
    }

    @Test
    void includedLogprobsAreTheChatsLogprobsWholeAndStreamed() throws Exception {
        ObjectNode request = JSON.createObjectNode()
                .put("model", "demo")
                .put("input", "Once upon a time")
                .put("max_output_tokens", 8)
                .put("temperature", 0)
                .put("top_logprobs", 2);
        request.putArray("include").add("message.output_text.logprobs");
        HttpResponse<String> answer = served.loopback().post("/v1/responses", request.toString());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        ObjectMappers.jsonMapper().readValue(answer.body(), Response.class).validate();
        JsonNode logprobs = JSON.readTree(answer.body()).at("/output/0/content/0/logprobs");

        String chat = "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                + "\"max_completion_tokens\":8,\"temperature\":0,\"logprobs\":true,\"top_logprobs\":2}";
        JsonNode expected = JSON.readTree(
                        served.loopback().post("/v1/chat/completions", chat).body())
                .at("/choices/0/logprobs/content");
        assertThat(logprobs).hasSize(8);
        assertSameLogprobs(logprobs, expected);
        assertThat(logprobs.path(0).path("top_logprobs")).hasSize(2);

        List<JsonNode> events = events(served.loopback()
                .post("/v1/responses", request.deepCopy().put("stream", true).toString())
                .body());
        var streamed = JSON.createArrayNode();
        JsonNode done = null;
        for (JsonNode event : events) {
            if (event.path("type").asText().equals("response.output_text.delta"))
                streamed.addAll((ArrayNode) event.path("logprobs"));
            if (event.path("type").asText().equals("response.output_text.done")) done = event.path("logprobs");
        }
        assertThat(done).isEqualTo(streamed);
        assertSameLogprobs(streamed, expected);

        // Without asking, none.
        request.remove("include");
        JsonNode plain = JSON.readTree(
                served.loopback().post("/v1/responses", request.toString()).body());
        assertThat(plain.at("/output/0/content/0/logprobs")).isEmpty();
    }

    /**
     * The same tokens and alternatives, their log-probabilities within rounding: a prompt read whole or from a slot's
     * cells decodes in batches of other shapes, which moves the last digits.
     */
    private static void assertSameLogprobs(JsonNode actual, JsonNode expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i).path("token")).isEqualTo(expected.get(i).path("token"));
            assertThat(actual.get(i).path("bytes")).isEqualTo(expected.get(i).path("bytes"));
            assertThat(actual.get(i).path("logprob").asDouble())
                    .isCloseTo(expected.get(i).path("logprob").asDouble(), org.assertj.core.data.Offset.offset(1e-3));
            JsonNode top = actual.get(i).path("top_logprobs");
            assertThat(top).hasSameSizeAs(expected.get(i).path("top_logprobs"));
            for (int k = 0; k < top.size(); k++)
                assertThat(top.get(k).path("token"))
                        .isEqualTo(expected.get(i).path("top_logprobs").get(k).path("token"));
        }
    }

    @Test
    void aGatewayPassesTheUpstreamsOwnResponsesOnWholeAndStreamed() throws Exception {
        var options = ClientOptions.builder(name -> null)
                .baseUrl(served.server().baseUrl("127.0.0.1"))
                .apiKey("test")
                .maxRetries(0)
                .build();
        String body = "{\"model\":\"demo\",\"input\":\"Once upon a time\",\"max_output_tokens\":12,\"temperature\":0}";
        try (var gateway = ParleyServer.start(ProxyEngine.connect(options, List.of()), "127.0.0.1", 0);
                HttpClient http = HttpClient.newHttpClient()) {
            String through = gateway.baseUrl("127.0.0.1") + "/responses";
            JsonNode direct =
                    JSON.readTree(served.loopback().post("/v1/responses", body).body());
            var whole = http.send(
                    HttpRequest.newBuilder(URI.create(through))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
            JsonNode relayed = JSON.readTree(whole.body());
            assertThat(relayed.at("/output/0/content/0/text")).isEqualTo(direct.at("/output/0/content/0/text"));
            assertThat(relayed.path("usage").path("input_tokens"))
                    .isEqualTo(direct.path("usage").path("input_tokens"));
            var count = http.send(
                    HttpRequest.newBuilder(URI.create(through + "/input_tokens"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(count.statusCode()).as(count.body()).isEqualTo(200);
            assertThat(JSON.readTree(count.body()).path("input_tokens"))
                    .isEqualTo(direct.path("usage").path("input_tokens"));

            var streamed = http.send(
                    HttpRequest.newBuilder(URI.create(through))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body.replace("}", ",\"stream\":true}")))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(streamed.statusCode()).isEqualTo(200);
            List<JsonNode> events = events(streamed.body()); // named, numbered, no [DONE]: as the upstream sent them
            assertThat(events.getFirst().path("type").asText()).isEqualTo("response.created");
            assertThat(events.getLast().at("/response/output/0/content/0/text"))
                    .isEqualTo(direct.at("/output/0/content/0/text"));
        }
    }

    @Test
    void aJsonSchemaFormatGivesJsonOfThatSchema() throws Exception {
        String schema = """
                {"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer",
                 "minimum":0,"maximum":120}},"required":["name","age"],"additionalProperties":false}""";
        ObjectNode request = JSON.createObjectNode()
                .put("model", "demo")
                .put("input", "Describe a person.")
                .put("max_output_tokens", 200);
        ObjectNode format = request.putObject("text").putObject("format");
        format.put("type", "json_schema").put("name", "person").put("strict", true);
        format.set("schema", JSON.readTree(schema));
        HttpResponse<String> answer = served.loopback().post("/v1/responses", request.toString());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        JsonNode response = JSON.readTree(answer.body());
        assertThat(response.path("text").path("format").path("name").asText()).isEqualTo("person");
        String text = response.path("output")
                .path(0)
                .path("content")
                .path(0)
                .path("text")
                .asText();
        assertValid(schema, JSON.readTree(text));
    }

    @Test
    void whatCannotBeServedIsA400NamingTheParameter() throws Exception {
        String input = "\"input\":\"Hi\"";
        record Case(String body, String param, String code) {}
        List<Case> cases = List.of(
                new Case("{\"model\":\"demo\"}", "input", "missing_required_parameter"),
                new Case(
                        "{\"model\":\"demo\"," + input + ",\"previous_response_id\":\"resp_1\"}",
                        "previous_response_id",
                        "previous_response_not_found"),
                new Case(
                        "{\"model\":\"demo\"," + input + ",\"previous_response_id\":\"resp_" + "x".repeat(100_000)
                                + "\"}",
                        "previous_response_id",
                        "previous_response_not_found"),
                new Case(
                        "{\"model\":\"demo\"," + input + ",\"previous_response_id\":5}",
                        "previous_response_id",
                        "invalid_type"),
                new Case("{\"model\":\"demo\"," + input + ",\"store\":\"yes\"}", "store", "invalid_type"),
                new Case("{\"model\":\"demo\"," + input + ",\"metadata\":[1]}", "metadata", "invalid_type"),
                new Case(
                        "{\"model\":\"demo\"," + input + ",\"metadata\":{\"team\":7}}",
                        "metadata.team",
                        "invalid_type"),
                new Case(
                        "{\"model\":\"demo\"," + input + ",\"metadata\":{\"team\":\"" + "x".repeat(513) + "\"}}",
                        "metadata.team",
                        "string_above_max_length"),
                new Case("{\"model\":\"demo\"," + input + ",\"conversation\":5}", "conversation", "invalid_type"),
                new Case("{\"model\":\"demo\"," + input + ",\"background\":1}", "background", "invalid_type"),
                new Case("{\"model\":\"demo\"," + input + ",\"truncation\":\"middle\"}", "truncation", "invalid_value"),
                new Case(
                        "{\"model\":\"demo\"," + input + ",\"tools\":[{\"type\":\"web_search\"}]}",
                        "tools[0].type",
                        "unsupported_value"),
                new Case(
                        "{\"model\":\"demo\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_image\","
                                + "\"image_url\":\"https://example.com/a.png\"}]}]}",
                        "input[0].content[0].type",
                        "unsupported_value"),
                new Case(
                        "{\"model\":\"demo\",\"input\":[{\"type\":\"item_reference\",\"id\":\"msg_1\"}]}",
                        "input[0].id",
                        "invalid_value"),
                new Case(
                        "{\"model\":\"demo\",\"input\":[{\"role\":\"robot\",\"content\":\"Hi\"}]}",
                        "input[0].role",
                        "invalid_value"),
                new Case(
                        "{\"model\":\"demo\",\"input\":[{\"type\":\"function_call_output\",\"output\":\"x\"}]}",
                        "input[0].call_id",
                        "missing_required_parameter"),
                new Case("{\"model\":\"demo\"," + input + ",\"max_output_tokens\":-1}", "max_output_tokens", null),
                new Case("{\"model\":\"demo\"," + input + ",\"temperature\":3}", "temperature", null),
                new Case(
                        "{\"model\":\"demo\"," + input + ",\"text\":{\"format\":{\"type\":\"yaml\"}}}",
                        "text.format.type",
                        "invalid_value"),
                new Case(
                        "{\"model\":\"demo\"," + input
                                + ",\"include\":[\"message.output_text.logprobs\",\"file_search_call.results\"]}",
                        "include[1]",
                        "unsupported_value"),
                // Rules of the chat a request becomes, named as this API names things: a result without its call
                // is input[0] (the instructions came first), a schema is text.format's.
                new Case(
                        "{\"model\":\"demo\",\"instructions\":\"Be brief.\",\"input\":[{\"type\":\"function_call_output\","
                                + "\"call_id\":\"c\",\"output\":\"x\"}]}",
                        "input[0].role",
                        "invalid_value"),
                new Case(
                        "{\"model\":\"demo\"," + input
                                + ",\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"s\","
                                + "\"schema\":{\"type\":\"array\",\"minItems\":5,\"maxItems\":2}}}}",
                        "text.format",
                        "invalid_value"),
                new Case("{\"model\":\"nope\"," + input + "}", null, "model_not_found"));
        for (Case c : cases) {
            HttpResponse<String> answer = served.loopback().post("/v1/responses", c.body());
            JsonNode error = JSON.readTree(answer.body()).path("error");
            int status = c.code() != null && c.code().equals("model_not_found") ? 404 : 400;
            assertThat(answer.statusCode()).as(c.body() + " → " + answer.body()).isEqualTo(status);
            assertThat(error.path("param").isNull() ? null : error.path("param").asText())
                    .as(c.body())
                    .isEqualTo(c.param());
            if (c.code() != null)
                assertThat(error.path("code").asText()).as(c.body()).isEqualTo(c.code());
            assertThat(error.path("message").asText())
                    .as(c.body())
                    .isNotBlank()
                    .hasSizeLessThan(1_000)
                    .doesNotContain("response_format", "max_completion_tokens", "'messages");
        }

        // Through the SDK, a typed error.
        try {
            openai.responses()
                    .create(ResponseCreateParams.builder()
                            .model("demo")
                            .input("Hi")
                            .previousResponseId("resp_1")
                            .build());
            throw new AssertionError("accepted");
        } catch (BadRequestException e) {
            assertThat(e.getMessage()).contains("Previous response with id 'resp_1' not found.");
        }
        assertThatThrownBy(() -> openai.responses().retrieve("resp_1"))
                .isInstanceOf(com.openai.errors.NotFoundException.class);

        // Every refusal left the engine as it was.
        assertThat(openai.responses().create(story(4)).status().orElseThrow()).isEqualTo(ResponseStatus.INCOMPLETE);
    }

    /** The text of a response's first output item, a message. */
    static String text(Response response) {
        return response.output()
                .getFirst()
                .asMessage()
                .content()
                .getFirst()
                .asOutputText()
                .text();
    }

    /** The JSON of a request the SDK builds. */
    private static ObjectNode body(ResponseCreateParams params) {
        return (ObjectNode) ObjectMappers.jsonMapper().valueToTree(params._body());
    }

    /** A stream's named events: each event line names what its data's {@code type} says; no {@code [DONE]}. */
    static List<JsonNode> events(String body) throws Exception {
        assertThat(body).endsWith("\n\n").doesNotContain("[DONE]");
        List<JsonNode> events = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (event.equals(": keep-alive")) continue;
            String[] lines = event.split("\n");
            assertThat(lines).hasSize(2);
            assertThat(lines[0]).startsWith("event: ");
            assertThat(lines[1]).startsWith("data: ");
            JsonNode data = JSON.readTree(lines[1].substring("data: ".length()));
            assertThat(data.path("type").asText()).isEqualTo(lines[0].substring("event: ".length()));
            events.add(data);
        }
        return events;
    }
}
