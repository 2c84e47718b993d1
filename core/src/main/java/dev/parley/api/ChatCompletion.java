package dev.parley.api;

import java.util.List;

/**
 * A {@code chat.completion}: the whole answer to a non-streaming chat request. {@code usage},
 * {@code systemFingerprint} and {@code serviceTier} are null when the server did not send them.
 */
public record ChatCompletion(
        String id,
        String object,
        long created,
        String model,
        List<Choice> choices,
        Usage usage,
        String systemFingerprint,
        String serviceTier) {

    public static final String OBJECT = "chat.completion";

    public static ChatCompletion of(String id, long created, String model, List<Choice> choices, Usage usage) {
        return new ChatCompletion(id, OBJECT, created, model, choices, usage, null, null);
    }

    /** The text of the first choice, the way most callers want the answer. */
    public String text() {
        return choices.isEmpty() ? "" : choices.getFirst().message().text();
    }

    /**
     * One generated message. {@code finishReason} is {@code stop}, {@code length}, {@code tool_calls},
     * {@code content_filter} or {@code function_call}; {@code logprobs} is null unless asked for.
     */
    public record Choice(int index, ChatMessage message, Logprobs logprobs, String finishReason) {
        public static Choice of(int index, ChatMessage message, String finishReason) {
            return new Choice(index, message, null, finishReason);
        }
    }
}
