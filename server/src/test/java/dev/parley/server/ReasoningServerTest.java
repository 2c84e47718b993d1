package dev.parley.server;

import static dev.parley.server.Loopback.chunks;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.Json;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.testkit.GgufVocabulary;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reasoning models through {@code /v1/chat/completions}: models that write known tokens (bigram weights, Qwen's
 * vocabulary) under published templates of reasoning models, so that the split of their text into {@code
 * reasoning_content} and {@code content} is known in advance.
 */
class ReasoningServerTest {
    @TempDir
    static Path dir;

    /**
     * After the line's end that ends Qwen's generation prompt, the model writes {@code <think>\nAdding.</think>\n\nFour}
     * in these pieces, then ends its turn: ten tokens of reasoning (its tags included), one of answer; after a prompt
     * that opened the reasoning already, the last seven of them.
     */
    private static final String[] SCRIPT = {
        "Ċ", "<", "think", ">Ċ", "Add", "ing", ".", "</", "th", "ink", ">ĊĊ", "Four", "<|im_end|>"
    };

    /** The model of {@link #SCRIPT}, with {@code template} as its chat template, written to {@code name} in {@code dir}. */
    static Path scripted(Path dir, String name, String template) {
        GgufVocabulary qwen = Served.vocabulary("ggml-vocab-qwen2.gguf");
        GgufWriter writer = GgufWriter.qwen3()
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .headDim(32)
                .contextLength(1024)
                .vocabulary(qwen)
                .chatTemplate(Served.template(template))
                .type(TensorType.Q8_0)
                .seed(5);
        for (int i = 0; i + 1 < SCRIPT.length; i++) writer.successor(qwen.id(SCRIPT[i]), qwen.id(SCRIPT[i + 1]));
        return writer.write(dir.resolve(name));
    }

    private static String ask(String extra) {
        return ask("What is 2 + 2?", extra);
    }

    private static String ask(String question, String extra) {
        return "{\"model\":\"thinker\",\"messages\":[{\"role\":\"user\",\"content\":\"" + question + "\"}],"
                + "\"max_tokens\":40" + extra + "}";
    }

    @Test
    void aThinkingAnswerComesBackWithItsReasoningApart() throws Exception {
        // Qwen3's template: the model opens its reasoning itself.
        try (Served served = Served.of(scripted(dir, "qwen3.gguf", "Qwen-Qwen3-0.6B.jinja"), "thinker", 256)) {
            assertReasoningApart(served, 10);
        }
    }

    @Test
    void theResponsesApiGivesTheReasoningAsAnItemOfItsOwnBeforeTheMessage() throws Exception {
        try (Served served =
                Served.of(scripted(dir, "qwen3-responses.gguf", "Qwen-Qwen3-0.6B.jinja"), "thinker", 256)) {
            String ask = "{\"model\":\"thinker\",\"input\":\"What is 2 + 2?\",\"max_output_tokens\":40%s}";
            var response = served.loopback().post("/v1/responses", ask.formatted(""));
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            JsonNode body = Json.tree(response.body());
            assertThat(body.path("status").asText()).isEqualTo("completed");
            JsonNode output = body.path("output");
            assertThat(output).hasSize(2);
            assertThat(output.path(0).path("type").asText()).isEqualTo("reasoning");
            assertThat(output.path(0).path("id").asText()).startsWith("rs_");
            assertThat(output.path(0).path("content").path(0).path("type").asText())
                    .isEqualTo("reasoning_text");
            assertThat(output.path(0).path("content").path(0).path("text").asText())
                    .isEqualTo("Adding.");
            assertThat(output.path(1).path("type").asText()).isEqualTo("message");
            assertThat(output.path(1).path("content").path(0).path("text").asText())
                    .isEqualTo("Four");
            assertThat(body.path("usage")
                            .path("output_tokens_details")
                            .path("reasoning_tokens")
                            .asInt())
                    .isEqualTo(10);

            // Streamed: the reasoning item, its text in deltas, done before the message begins.
            var streamed = served.loopback().post("/v1/responses", ask.formatted(",\"stream\":true"));
            assertThat(streamed.statusCode()).isEqualTo(200);
            List<String> types = new ArrayList<>();
            var reasoning = new StringBuilder();
            JsonNode last = null;
            for (String event : streamed.body().split("\n\n")) {
                if (event.startsWith(":")) continue;
                last = Json.tree(event.substring(event.indexOf("\ndata: ") + "\ndata: ".length()));
                String type = last.path("type").asText();
                types.add(type);
                if (type.equals("response.reasoning_text.delta"))
                    reasoning.append(last.path("delta").asText());
            }
            assertThat(reasoning.toString()).isEqualTo("Adding.");
            assertThat(types.indexOf("response.reasoning_text.done"))
                    .isPositive()
                    .isLessThan(types.indexOf("response.output_text.delta"));
            assertThat(last.path("type").asText()).isEqualTo("response.completed");
            JsonNode streamedOutput = last.path("response").path("output");
            assertThat(streamedOutput
                            .path(0)
                            .path("content")
                            .path(0)
                            .path("text")
                            .asText())
                    .isEqualTo("Adding.");
            assertThat(streamedOutput
                            .path(1)
                            .path("content")
                            .path(0)
                            .path("text")
                            .asText())
                    .isEqualTo("Four");
        }
    }

    @Test
    void aPromptThatOpensTheReasoningHasTheAnswerStartInsideIt() throws Exception {
        // Qwen 3.5's template ends the prompt with "<think>\n": the model starts inside its reasoning.
        try (Served served = Served.of(scripted(dir, "qwen35.gguf", "Qwen3.5-4B.jinja"), "thinker", 256)) {
            JsonNode prompt = pieces(served, ask(""));
            assertThat(text(prompt)).endsWith("<|im_start|>assistant\n<think>\n");
            assertReasoningApart(served, 7);
        }
    }

    private static void assertReasoningApart(Served served, int reasoningTokens) throws Exception {
        var response = served.loopback().post("/v1/chat/completions", ask(""));
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        JsonNode message = Json.tree(response.body()).path("choices").path(0).path("message");
        assertThat(message.path("content").asText()).isEqualTo("Four");
        assertThat(message.path("reasoning_content").asText()).isEqualTo("Adding.");
        var completion = Json.read(response.body(), ChatCompletion.class);
        assertThat(completion.choices().getFirst().finishReason()).isEqualTo("stop");
        assertThat(completion.choices().getFirst().message().reasoningContent()).isEqualTo("Adding.");
        var usage = completion.usage();
        assertThat(usage.completionTokensDetails().reasoningTokens())
                .isEqualTo(reasoningTokens)
                .isLessThan(usage.completionTokens());

        // Streamed: the reasoning's deltas first, then the answer's, and the same usage.
        var streamed = served.loopback()
                .post("/v1/chat/completions", ask(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertThat(streamed.statusCode()).isEqualTo(200);
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        List<String> order = new ArrayList<>();
        ChatCompletionChunk last = null;
        for (ChatCompletionChunk chunk : chunks(streamed.body())) {
            last = chunk;
            if (chunk.choices().isEmpty()) continue;
            var delta = chunk.choices().getFirst().delta();
            if (delta.reasoningContent() != null) {
                reasoning.append(delta.reasoningContent());
                order.add("reasoning");
            }
            if (delta.content() != null && !delta.content().isEmpty()) {
                content.append(delta.content());
                order.add("content");
            }
        }
        assertThat(reasoning).hasToString("Adding.");
        assertThat(content).hasToString("Four");
        assertThat(order.getFirst()).isEqualTo("reasoning");
        assertThat(order.getLast()).isEqualTo("content");
        assertThat(order.lastIndexOf("reasoning")).isLessThan(order.indexOf("content"));
        assertThat(last.usage().completionTokensDetails().reasoningTokens()).isEqualTo(reasoningTokens);
    }

    @Test
    void everyChoiceHasItsOwnReasoningAndLogprobsCoverEveryToken() throws Exception {
        try (Served served = Served.of(scripted(dir, "qwen3-n.gguf", "Qwen-Qwen3-0.6B.jinja"), "thinker", 256)) {
            var response = served.loopback().post("/v1/chat/completions", ask(",\"n\":2,\"logprobs\":true"));
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            var completion = Json.read(response.body(), ChatCompletion.class);
            assertThat(completion.choices()).hasSize(2).allSatisfy(choice -> {
                assertThat(choice.message().text()).isEqualTo("Four");
                assertThat(choice.message().reasoningContent()).isEqualTo("Adding.");
                // Every generated token's, the reasoning's included, as llama.cpp's server gives them.
                assertThat(choice.logprobs().content())
                        .hasSize(completion.usage().completionTokens() / 2);
            });
            assertThat(completion.usage().completionTokensDetails().reasoningTokens())
                    .isEqualTo(20);
        }
    }

    @Test
    void aResponseFormatLeavesNoRoomForReasoning() throws Exception {
        // The grammar holds the answer from its first token: what the model writes is the answer, though the prompt
        // opened the reasoning.
        try (Served served = Served.of(scripted(dir, "qwen35-json.gguf", "Qwen3.5-4B.jinja"), "thinker", 256)) {
            var response = served.loopback()
                    .post(
                            "/v1/chat/completions",
                            ask("What is 2 + 2, in JSON?", ",\"response_format\":{\"type\":\"json_object\"}"));
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            JsonNode message =
                    Json.tree(response.body()).path("choices").path(0).path("message");
            assertThat(message.has("reasoning_content")).isFalse();
            assertThat(message.path("content").asText()).startsWith("{");
        }
    }

    @Test
    void earlierReasoningRendersBackAsTheTemplateShowsIt() throws Exception {
        // Qwen 3.5's template shows the reasoning of answers after the last question (a tool loop's steps).
        try (Served served = Served.of(scripted(dir, "qwen35-history.gguf", "Qwen3.5-4B.jinja"), "thinker", 256)) {
            String call = "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                    + "\"function\":{\"name\":\"add\",\"arguments\":\"{\\\"a\\\":2,\\\"b\\\":2}\"}}]";
            String withReasoning = "{\"model\":\"thinker\",\"messages\":["
                    + "{\"role\":\"user\",\"content\":\"What is 2 + 2?\"},"
                    + "{\"role\":\"assistant\",\"content\":\"\",\"reasoning_content\":\"Use the tool.\"," + call + "},"
                    + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"4\"}]}";
            assertThat(text(pieces(served, withReasoning))).contains("<think>\nUse the tool.\n</think>");
            assertThat(text(pieces(served, withReasoning.replace("\"reasoning_content\":\"Use the tool.\",", ""))))
                    .doesNotContain("Use the tool.");
        }
    }

    @Test
    void reasoningCanBeTurnedOffOrTunedThroughTheTemplate() throws Exception {
        try (Served served = Served.of(scripted(dir, "qwen3-off.gguf", "Qwen-Qwen3-0.6B.jinja"), "thinker", 256)) {
            // "none" sets enable_thinking false: Qwen3's template then closes an empty reasoning in the prompt, and
            // the model answers at once.
            for (String off : List.of(
                    ",\"reasoning_effort\":\"none\"", ",\"chat_template_kwargs\":{\"enable_thinking\":false}")) {
                assertThat(text(pieces(served, ask(off)))).endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n");
                var response = served.loopback().post("/v1/chat/completions", ask(off));
                assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                var completion = Json.read(response.body(), ChatCompletion.class);
                assertThat(completion.text()).isEqualTo("Four");
                assertThat(completion.choices().getFirst().message().reasoningContent())
                        .isNull();
                assertThat(completion.usage().completionTokensDetails().reasoningTokens())
                        .isZero();
            }
            // Other efforts reach the template as they are; Qwen3's has no use for them.
            assertThat(text(pieces(served, ask(",\"reasoning_effort\":\"high\""))))
                    .isEqualTo(text(pieces(served, ask(""))));

            // What the template cannot be given is refused, naming the parameter.
            String[][] refused = {
                {",\"reasoning_effort\":\"extreme\"", "reasoning_effort", "invalid_value"},
                {",\"chat_template_kwargs\":[true]", "chat_template_kwargs", "invalid_type"},
                {",\"chat_template_kwargs\":{\"messages\":[]}", "chat_template_kwargs.messages", "invalid_value"},
                {
                    ",\"chat_template_kwargs\":{\"add_generation_prompt\":false}",
                    "chat_template_kwargs.add_generation_prompt",
                    "invalid_value"
                },
                {",\"chat_template_kwargs\":{\"x\":\"<|im_start|>system\"}", "chat_template_kwargs.x", "invalid_value"},
                {",\"chat_template_kwargs\":{\"x\":{\"y\":1}}", "chat_template_kwargs.x", "invalid_value"},
            };
            for (String[] bad : refused) {
                for (String route : List.of("/v1/chat/completions", "/tokenize")) {
                    Loopback.assertError(
                            served.loopback().post(route, ask(bad[0])), 400, "invalid_request_error", bad[1], bad[2]);
                }
            }
        }
    }

    @Test
    void theServersTemplateVariablesAreTheDefaultsRequestsSetNamesOver() throws Exception {
        Path model = scripted(dir, "qwen3-defaults.gguf", "Qwen-Qwen3-0.6B.jinja");
        var off = Json.mapper().createObjectNode().put("enable_thinking", false);
        var server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(model)
                        .withModelId("thinker")
                        .withParallel(1)
                        .withContextPerSequence(256)
                        .withChatTemplateKwargs(off)),
                "127.0.0.1",
                0);
        try (server;
                var loopback = Loopback.to(server)) {
            var plain = Json.read(loopback.post("/v1/chat/completions", ask("")).body(), ChatCompletion.class);
            assertThat(plain.text()).isEqualTo("Four");
            assertThat(plain.choices().getFirst().message().reasoningContent()).isNull();
            for (String on :
                    List.of(",\"reasoning_effort\":\"high\"", ",\"chat_template_kwargs\":{\"enable_thinking\":true}")) {
                var thought =
                        Json.read(loopback.post("/v1/chat/completions", ask(on)).body(), ChatCompletion.class);
                assertThat(thought.text()).as(on).isEqualTo("Four");
                assertThat(thought.choices().getFirst().message().reasoningContent())
                        .as(on)
                        .isEqualTo("Adding.");
            }
        }
        var refused = LlamaEngineOptions.of(model)
                .withChatTemplateKwargs(Json.mapper().createObjectNode().put("bos_token", "x"));
        assertThatThrownBy(() -> LlamaEngine.open(refused))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid 'chat_template_kwargs.bos_token': the server sets 'bos_token' itself.");
    }

    @Test
    void gptOssIsToldItsReasoningEffort() throws Exception {
        try (Served served = Served.of(scripted(dir, "gpt-oss.gguf", "openai-gpt-oss-120b.jinja"), "thinker", 512)) {
            assertThat(text(pieces(served, ask("")))).contains("Reasoning: medium");
            assertThat(text(pieces(served, ask(",\"reasoning_effort\":\"high\""))))
                    .contains("Reasoning: high");
            assertThat(text(pieces(served, ask(",\"chat_template_kwargs\":{\"reasoning_effort\":\"low\"}"))))
                    .contains("Reasoning: low");
        }
    }

    /** The tokens of the prompt a chat request would run, with their text. */
    private static JsonNode pieces(Served served, String request) throws Exception {
        String body = request.replaceFirst("\\{", "{\"with_pieces\":true,");
        var response = served.loopback().post("/tokenize", body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.tree(response.body()).get("tokens");
    }

    private static String text(JsonNode tokens) {
        var text = new StringBuilder();
        tokens.forEach(token -> text.append(token.get("piece").asText()));
        return text.toString();
    }
}
