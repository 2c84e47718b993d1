package dev.parley.api;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * A {@code chat.completion.chunk}: one server-sent event of a streaming chat answer. Every chunk of a
 * stream has the same {@code id} and {@code created}. {@code usage} is set only on the last chunk of a
 * stream that asked for it ({@code stream_options.include_usage}), whose {@code choices} are empty.
 */
public record ChatCompletionChunk(
        String id,
        String object,
        long created,
        String model,
        List<ChunkChoice> choices,
        Usage usage,
        String systemFingerprint,
        String serviceTier) {

    public static final String OBJECT = "chat.completion.chunk";

    public static ChatCompletionChunk of(String id, long created, String model, List<ChunkChoice> choices) {
        return new ChatCompletionChunk(id, OBJECT, created, model, choices, null, null, null);
    }

    public static ChatCompletionChunk usage(String id, long created, String model, Usage usage) {
        return new ChatCompletionChunk(id, OBJECT, created, model, List.of(), usage, null, null);
    }

    /** The content text this chunk adds to its first choice, or the empty string. */
    public String deltaText() {
        if (choices.isEmpty()) return "";
        String content = choices.getFirst().delta().content();
        return content == null ? "" : content;
    }

    /**
     * What one chunk adds to choice {@code index}. {@code finishReason} is written as {@code null} until
     * the last chunk of that choice, as OpenAI does.
     */
    public record ChunkChoice(
            int index,
            Delta delta,
            Logprobs logprobs,
            @JsonInclude(JsonInclude.Include.ALWAYS) String finishReason) {

        public static ChunkChoice of(int index, Delta delta, String finishReason) {
            return new ChunkChoice(index, delta, null, finishReason);
        }
    }

    /**
     * A piece of the assistant message: the first delta carries {@code role}, later ones pieces of
     * {@code content} or {@code tool_calls}; the last one is usually empty ({@code {}}).
     */
    public record Delta(
            String role,
            String content,
            List<ToolCall> toolCalls,
            FunctionCall functionCall,
            String refusal,
            @JsonAlias("reasoning") String reasoningContent) {

        public static final Delta EMPTY = new Delta(null, null, null, null, null);

        /** A delta without reasoning. */
        public Delta(String role, String content, List<ToolCall> toolCalls, FunctionCall functionCall, String refusal) {
            this(role, content, toolCalls, functionCall, refusal, null);
        }

        public static Delta role(String role) {
            return new Delta(role, null, null, null, null);
        }

        public static Delta content(String content) {
            return new Delta(null, content, null, null, null);
        }

        /** A piece of the reasoning a model writes before its answer ({@code reasoning_content}, or {@code reasoning}). */
        public static Delta reasoning(String reasoning) {
            return new Delta(null, null, null, null, null, reasoning);
        }
    }
}
