package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.chat.completions.StructuredChatCompletion;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tools and structured outputs through OpenAI's own Java SDK, against the demo model: a 260K-parameter model that
 * knows nothing of JSON, so whatever valid JSON and valid calls come back are the grammar's doing. Every answer is
 * checked with an independent JSON Schema validator, over many seeds.
 */
@Timeout(300)
class ToolsAndStructuredOutputsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SchemaRegistry VALIDATORS =
            SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static final long SEEDS = 6;

    static final String WEATHER = """
            {"type":"object","properties":{
              "city":{"type":"string","maxLength":16},
              "unit":{"enum":["celsius","fahrenheit"]},
              "days":{"type":"integer","minimum":1,"maximum":7}},
             "required":["city","days"],"additionalProperties":false}""";
    static final String ADD = """
            {"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},
             "required":["a","b"],"additionalProperties":false}""";

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

    static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    static ChatCompletionFunctionTool tool(String name, String description, String parameters) {
        Map<String, Object> schema = JSON.convertValue(json(parameters), Map.class);
        var params = FunctionParameters.builder();
        schema.forEach((key, value) -> params.putAdditionalProperty(key, JsonValue.from(value)));
        return ChatCompletionFunctionTool.builder()
                .function(FunctionDefinition.builder()
                        .name(name)
                        .description(description)
                        .parameters(params.build())
                        .build())
                .build();
    }

    static ChatCompletionCreateParams.Builder weatherQuestion(long seed) {
        return ChatCompletionCreateParams.builder()
                .model("demo")
                .addUserMessage("What is the weather in Paris this week?")
                .addTool(tool("get_weather", "The weather in a city for some days.", WEATHER))
                .addTool(tool("add", "Adds two numbers.", ADD))
                .seed(seed)
                .temperature(1.0)
                .maxCompletionTokens(160);
    }

    static void assertValid(String schema, JsonNode value) {
        Schema validator = VALIDATORS.getSchema(json(schema));
        assertThat(validator.validate(value, c -> c.executionConfig(e -> e.formatAssertionsEnabled(true))))
                .as("%s against %s", value, schema)
                .isEmpty();
    }

    /** Each call's name is a tool's and its arguments validate against that tool's parameters. */
    static List<ChatCompletionMessageFunctionToolCall> assertValidCalls(ChatCompletion completion) {
        ChatCompletion.Choice choice = completion.choices().getFirst();
        assertThat(choice.finishReason().asString()).isEqualTo("tool_calls");
        return assertValidCalls(choice);
    }

    static List<ChatCompletionMessageFunctionToolCall> assertValidCalls(ChatCompletion.Choice choice) {
        List<ChatCompletionMessageFunctionToolCall> calls = choice.message().toolCalls().orElseThrow().stream()
                .map(ChatCompletionMessageToolCall::asFunction)
                .toList();
        assertThat(calls).isNotEmpty();
        for (var call : calls) {
            assertThat(call.id()).matches("call_[A-Za-z0-9]{24}");
            String name = call.function().name();
            assertThat(name).isIn("get_weather", "add");
            assertValid(name.equals("add") ? ADD : WEATHER, json(call.function().arguments()));
        }
        return calls;
    }

    @Test
    void aRequiredCallIsAlwaysAValidCall() {
        for (long seed = 1; seed <= SEEDS; seed++) {
            var completion = openai.chat()
                    .completions()
                    .create(weatherQuestion(seed)
                            .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                            .parallelToolCalls(false)
                            .build());
            assertThat(assertValidCalls(completion)).hasSize(1);
            assertThat(completion.choices().getFirst().message().content()).isEmpty();
        }
    }

    @Test
    void parallelCallsAreEachValid() {
        for (long seed = 1; seed <= SEEDS; seed++) {
            var choice = openai.chat()
                    .completions()
                    .create(weatherQuestion(seed)
                            .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                            .build())
                    .choices()
                    .getFirst();
            // This model never tires of calling: it may still be writing another call when its tokens run out,
            // and that last call is then cut short, as OpenAI's are at the length limit.
            String finish = choice.finishReason().asString();
            assertThat(finish).isIn("tool_calls", "length");
            var calls = choice.message().toolCalls().orElseThrow();
            if (finish.equals("length") && calls.size() > 1) calls = calls.subList(0, calls.size() - 1);
            assertValidCalls(choice.toBuilder()
                    .message(choice.message().toBuilder().toolCalls(calls).build())
                    .build());
        }
    }

    @Test
    void aNamedFunctionIsTheOneCalled() {
        for (long seed = 1; seed <= SEEDS; seed++) {
            var completion = openai.chat()
                    .completions()
                    .create(weatherQuestion(seed)
                            .toolChoice(ChatCompletionNamedToolChoice.builder()
                                    .function(ChatCompletionNamedToolChoice.Function.builder()
                                            .name("add")
                                            .build())
                                    .build())
                            .parallelToolCalls(false)
                            .build());
            assertThat(assertValidCalls(completion))
                    .singleElement()
                    .satisfies(call -> assertThat(call.function().name()).isEqualTo("add"));
        }
    }

    @Test
    void theToolsCountInThePrompt() {
        var plain = openai.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model("demo")
                        .addUserMessage("What is the weather in Paris this week?")
                        .maxCompletionTokens(1)
                        .build());
        var withTools = openai.chat()
                .completions()
                .create(weatherQuestion(1).maxCompletionTokens(1).build());

        assertThat(withTools.usage().orElseThrow().promptTokens())
                .isGreaterThan(plain.usage().orElseThrow().promptTokens() + 100);
    }

    @Test
    void aStreamedCallReassemblesToTheSameCall() {
        var params = weatherQuestion(7)
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                .parallelToolCalls(false)
                .build();
        List<ChatCompletionMessageFunctionToolCall> whole =
                assertValidCalls(openai.chat().completions().create(params));

        Map<Long, String[]> streamed = new TreeMap<>(); // index → id, name, arguments
        String finish = null;
        try (StreamResponse<ChatCompletionChunk> stream =
                openai.chat().completions().createStreaming(params)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                for (var choice : chunk.choices()) {
                    if (choice.finishReason().isPresent())
                        finish = choice.finishReason().get().asString();
                    for (var piece : choice.delta().toolCalls().orElse(List.of())) {
                        String[] call = streamed.computeIfAbsent(piece.index(), i -> new String[] {null, null, ""});
                        if (piece.id().isPresent()) call[0] = piece.id().get();
                        piece.function().ifPresent(f -> {
                            if (f.name().isPresent()) call[1] = f.name().get();
                            call[2] += f.arguments().orElse("");
                        });
                    }
                }
            }
        }

        assertThat(finish).isEqualTo("tool_calls");
        assertThat(streamed).hasSameSizeAs(whole);
        int i = 0;
        for (String[] call : streamed.values()) {
            assertThat(call[0]).matches("call_[A-Za-z0-9]{24}");
            assertThat(call[1]).isEqualTo(whole.get(i).function().name());
            assertThat(json(call[2])).isEqualTo(json(whole.get(i).function().arguments()));
            i++;
        }
    }

    @Test
    void aToolLoopCompletes() {
        var first = openai.chat()
                .completions()
                .create(weatherQuestion(3)
                        .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                        .parallelToolCalls(false)
                        .build());
        var call = assertValidCalls(first).getFirst();

        var answer = openai.chat()
                .completions()
                .create(weatherQuestion(3)
                        .addMessage(first.choices().getFirst().message())
                        .addMessage(ChatCompletionToolMessageParam.builder()
                                .toolCallId(call.id())
                                .content("{\"sky\": \"sunny\", \"celsius\": 21}")
                                .build())
                        .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE)
                        .build());

        ChatCompletion.Choice choice = answer.choices().getFirst();
        assertThat(choice.message().toolCalls().orElse(List.of())).isEmpty();
        assertThat(choice.message().content())
                .hasValueSatisfying(text -> assertThat(text).isNotEmpty());
        assertThat(choice.finishReason().asString()).isIn("stop", "length");
        // The call and its result are in the prompt.
        assertThat(answer.usage().orElseThrow().promptTokens())
                .isGreaterThan(first.usage().orElseThrow().promptTokens() + 10);
    }

    @Test
    void jsonObjectAnswersAreJsonObjects() {
        for (long seed = 1; seed <= SEEDS; seed++) {
            var completion = openai.chat()
                    .completions()
                    .create(ChatCompletionCreateParams.builder()
                            .model("demo")
                            .addUserMessage("Describe a cat in JSON.")
                            .responseFormat(ResponseFormatJsonObject.builder().build())
                            .seed(seed)
                            .temperature(1.0)
                            .maxCompletionTokens(300)
                            .build());
            var choice = completion.choices().getFirst();
            assertThat(choice.finishReason().asString()).isEqualTo("stop");
            assertThat(json(choice.message().content().orElseThrow()).isObject())
                    .isTrue();
        }
    }

    static final String PERSON = """
            {"type":"object","properties":{
              "name":{"type":"string","minLength":1,"maxLength":12},
              "age":{"type":"integer","minimum":0,"maximum":120},
              "pet":{"anyOf":[{"$ref":"#/$defs/pet"},{"type":"null"}]},
              "tags":{"type":"array","items":{"enum":["kind","brave","shy"]},"minItems":1,"maxItems":3},
              "born":{"type":"string","format":"date"},
              "score":{"type":"number","minimum":0,"maximum":1}},
             "required":["name","age","pet","tags","born","score"],"additionalProperties":false,
             "$defs":{"pet":{"type":"object","properties":{"kind":{"const":"cat"},"lives":{"type":"integer","minimum":1,"maximum":9}},
                             "required":["kind","lives"],"additionalProperties":false}}}""";

    @Test
    void jsonSchemaAnswersValidateAgainstTheSchema() {
        Map<String, Object> schema = JSON.convertValue(json(PERSON), Map.class);
        var properties = ResponseFormatJsonSchema.JsonSchema.Schema.builder();
        schema.forEach((key, value) -> properties.putAdditionalProperty(key, JsonValue.from(value)));
        for (long seed = 1; seed <= SEEDS; seed++) {
            var completion = openai.chat()
                    .completions()
                    .create(ChatCompletionCreateParams.builder()
                            .model("demo")
                            .addUserMessage("Tell me about someone.")
                            .responseFormat(ResponseFormatJsonSchema.builder()
                                    .jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                                            .name("person")
                                            .strict(true)
                                            .schema(properties.build())
                                            .build())
                                    .build())
                            .seed(seed)
                            .temperature(1.0)
                            .maxCompletionTokens(400)
                            .build());
            var choice = completion.choices().getFirst();
            assertThat(choice.finishReason().asString()).isEqualTo("stop");
            assertValid(PERSON, json(choice.message().content().orElseThrow()));
        }
    }

    /** A typed answer, as openai-java's structured-output helper derives its schema from a class. */
    public static class Toy {
        public Shape shape;
        public int count;
        public boolean broken;
    }

    public enum Shape {
        BALL,
        BLOCK,
        DOLL
    }

    @Test
    void theSdksTypedStructuredOutputParses() {
        List<Toy> toys = new ArrayList<>();
        for (long seed : LongStream.rangeClosed(1, SEEDS).toArray()) {
            StructuredChatCompletion<Toy> completion = openai.chat()
                    .completions()
                    .create(ChatCompletionCreateParams.builder()
                            .model("demo")
                            .addUserMessage("Which toy?")
                            .responseFormat(Toy.class)
                            .seed(seed)
                            .temperature(1.0)
                            .maxCompletionTokens(200)
                            .build());
            toys.add(completion.choices().getFirst().message().content().orElseThrow());
        }
        assertThat(toys).allSatisfy(toy -> assertThat(toy.shape).isNotNull());
    }

    @Test
    void aSchemaFeatureTheGrammarCannotHonourIsA400NamingIt() {
        var params = ChatCompletionCreateParams.builder()
                .model("demo")
                .addUserMessage("Hi")
                .responseFormat(ResponseFormatJsonSchema.builder()
                        .jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                                .name("odd")
                                .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                                        .putAdditionalProperty("type", JsonValue.from("integer"))
                                        .putAdditionalProperty("multipleOf", JsonValue.from(7))
                                        .build())
                                .build())
                        .build())
                .build();

        assertThatThrownBy(() -> openai.chat().completions().create(params))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(400);
                    assertThat(e.param()).hasValue("response_format");
                    assertThat(e.getMessage()).contains("multipleOf");
                });
    }

    @Test
    void legacyFunctionsAreAnsweredWithAFunctionCall() throws Exception {
        {
            var loopback = served.loopback();
            String body = "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Add 2 and 3\"}],"
                    + "\"functions\":[{\"name\":\"add\",\"parameters\":" + ADD + "}],"
                    + "\"function_call\":{\"name\":\"add\"},\"max_tokens\":200,\"seed\":4}";

            var response = loopback.post("/v1/chat/completions", body);

            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            JsonNode choice = json(response.body()).get("choices").get(0);
            assertThat(choice.get("finish_reason").asText()).isEqualTo("function_call");
            assertThat(choice.get("message").has("tool_calls")).isFalse();
            assertThat(choice.get("message").get("function_call").get("name").asText())
                    .isEqualTo("add");
            assertValid(
                    ADD,
                    json(choice.get("message")
                            .get("function_call")
                            .get("arguments")
                            .asText()));

            var streamed =
                    loopback.post("/v1/chat/completions", body.replace("{\"model\"", "{\"stream\":true,\"model\""));
            StringBuilder arguments = new StringBuilder();
            String finish = null;
            for (String data : Loopback.events(streamed.body())) {
                if (data.equals("[DONE]")) break;
                JsonNode chunk = json(data).get("choices").get(0);
                if (!chunk.get("finish_reason").isNull())
                    finish = chunk.get("finish_reason").asText();
                JsonNode call = chunk.get("delta").get("function_call");
                if (call != null && call.has("arguments"))
                    arguments.append(call.get("arguments").asText());
            }
            assertThat(finish).isEqualTo("function_call");
            assertThat(json(arguments.toString()))
                    .isEqualTo(json(choice.get("message")
                            .get("function_call")
                            .get("arguments")
                            .asText()));
        }
    }

    @Test
    void imagesAreRefusedByATextModelNamingThePart() throws Exception {
        {
            var loopback = served.loopback();
            var response = loopback.post(
                    "/v1/chat/completions",
                    "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is this?\"},"
                            + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.png\"}}]}]}");

            assertThat(response.statusCode()).isEqualTo(400);
            JsonNode error = json(response.body()).get("error");
            assertThat(error.get("param").asText()).isEqualTo("messages.[0].content.[1].type");
            assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
            assertThat(error.get("message").asText()).contains("image_url");
        }
    }

    @Test
    void audioOutputIsRefusedByATextModelAndUnknownModalitiesByAnyModel() throws Exception {
        var loopback = served.loopback();
        String chat = "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],";

        var audio = loopback.post("/v1/chat/completions", chat + "\"modalities\":[\"text\",\"audio\"]}");
        var video = loopback.post("/v1/chat/completions", chat + "\"modalities\":[\"video\"]}");
        var text = loopback.post("/v1/chat/completions", chat + "\"modalities\":[\"text\"]}");

        assertThat(audio.statusCode()).isEqualTo(400);
        JsonNode error = json(audio.body()).get("error");
        assertThat(error.get("param").asText()).isEqualTo("modalities");
        assertThat(error.get("message").asText())
                .isEqualTo("Invalid 'modalities': model demo writes text only, not audio.");
        assertThat(video.statusCode()).isEqualTo(400);
        assertThat(json(video.body()).at("/error/param").asText()).isEqualTo("modalities[0]");
        assertThat(text.statusCode()).isEqualTo(200);
    }
}
