package dev.parley.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.Json;
import dev.parley.api.ToolCall;
import dev.parley.api.Usage;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatAccumulatorTest {

    static ChatCompletionChunk chunk(String choicesJson) {
        return Json.read(
                "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\",\"choices\":"
                        + choicesJson + "}",
                ChatCompletionChunk.class);
    }

    @Test
    void mergesToolCallPiecesByIndex() {
        var accumulator = new ChatAccumulator()
                .add(
                        chunk(
                                "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                                        + "{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]"))
                .add(
                        chunk(
                                "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]"))
                .add(
                        chunk(
                                "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]"))
                .add(
                        chunk(
                                "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]"))
                .add(chunk("[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]"));
        var choice = accumulator.completion().choices().getFirst();
        assertThat(choice.finishReason()).isEqualTo("tool_calls");
        assertThat(choice.message().content()).isNull();
        assertThat(choice.message().toolCalls())
                .containsExactly(
                        ToolCall.function("call_a", "get_weather", "{\"city\":\"Paris\"}"),
                        ToolCall.function("call_b", "get_time", "{}"));
    }

    @Test
    void joinsTheReasoningApartFromTheAnswerUnderEitherName() {
        for (String name : List.of("reasoning_content", "reasoning")) {
            var accumulator = new ChatAccumulator()
                    .add(chunk("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"" + name
                            + "\":\"Add \"},\"finish_reason\":null}]"))
                    .add(chunk("[{\"index\":0,\"delta\":{\"" + name + "\":\"them.\"},\"finish_reason\":null}]"))
                    .add(chunk("[{\"index\":0,\"delta\":{\"content\":\"Four\"},\"finish_reason\":\"stop\"}]"));
            var message = accumulator.completion().choices().getFirst().message();
            assertThat(message.text()).as(name).isEqualTo("Four");
            assertThat(message.reasoningContent()).as(name).isEqualTo("Add them.");
        }
        // Written back as OpenAI-compatible servers of reasoning models read it.
        assertThat(Json.write(dev.parley.api.ChatMessage.assistant("Four").withReasoning("Add them.")))
                .isEqualTo("{\"role\":\"assistant\",\"content\":\"Four\",\"reasoning_content\":\"Add them.\"}");
    }

    @Test
    void keepsChoicesApartByIndexAndTakesUsageFromTheUsageChunk() {
        var accumulator = new ChatAccumulator()
                .add(chunk("[{\"index\":1,\"delta\":{\"role\":\"assistant\",\"content\":\"B\"},\"finish_reason\":null},"
                        + "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"A\"},\"finish_reason\":null}]"))
                .add(chunk("[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}]"))
                .add(chunk("[{\"index\":1,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]"))
                .add(Json.read(
                        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"m\",\"choices\":[],"
                                + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}",
                        ChatCompletionChunk.class));
        var completion = accumulator.completion();
        assertThat(completion.id()).isEqualTo("c1");
        assertThat(completion.object()).isEqualTo("chat.completion");
        assertThat(completion.created()).isEqualTo(5);
        assertThat(completion.choices())
                .extracting(c -> c.index(), c -> c.message().text(), c -> c.finishReason())
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(0, "Aa", "stop"),
                        org.assertj.core.groups.Tuple.tuple(1, "Bb", "length"));
        assertThat(completion.usage()).isEqualTo(Usage.of(3, 4));
    }

    @Test
    void concatenatesRefusalsAndLegacyFunctionCalls() {
        var completion = new ChatAccumulator()
                .add(
                        chunk(
                                "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"refusal\":\"I can't \"},\"finish_reason\":null}]"))
                .add(chunk("[{\"index\":0,\"delta\":{\"refusal\":\"help.\"},\"finish_reason\":\"stop\"}]"))
                .completion();
        assertThat(completion.choices().getFirst().message().refusal()).isEqualTo("I can't help.");
        var called = new ChatAccumulator()
                .add(
                        chunk(
                                "[{\"index\":0,\"delta\":{\"function_call\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}},\"finish_reason\":null}]"))
                .add(
                        chunk(
                                "[{\"index\":0,\"delta\":{\"function_call\":{\"arguments\":\":1}\"}},\"finish_reason\":\"function_call\"}]"))
                .completion();
        assertThat(called.choices().getFirst().message().functionCall().arguments())
                .isEqualTo("{\"a\":1}");
        assertThat(called.choices().getFirst().message().functionCall().name()).isEqualTo("f");
    }

    @Test
    void anEmptyStreamIsAnEmptyAnswer() {
        var completion = new ChatAccumulator().completion();
        assertThat(completion.choices()).isEmpty();
        assertThat(completion.usage()).isNull();
        assertThat(List.of(completion.text())).containsExactly("");
    }
}
