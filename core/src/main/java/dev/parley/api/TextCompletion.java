package dev.parley.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/**
 * A {@code text_completion}: the answer of the legacy Completions endpoint, and also each event of its
 * stream (which repeats one {@code id} and {@code created}). {@code usage} is null on stream events.
 */
public record TextCompletion(
        String id,
        String object,
        long created,
        String model,
        List<Choice> choices,
        Usage usage,
        String systemFingerprint) {

    public static final String OBJECT = "text_completion";

    public static TextCompletion of(String id, long created, String model, List<Choice> choices, Usage usage) {
        return new TextCompletion(id, OBJECT, created, model, choices, usage, null);
    }

    /** The text of the first choice. */
    public String text() {
        return choices.isEmpty() ? "" : choices.getFirst().text();
    }

    /**
     * One generated text. {@code logprobs} and {@code finishReason} are always written, as {@code null}
     * when absent, as OpenAI does.
     */
    public record Choice(
            String text,
            int index,
            @JsonInclude(JsonInclude.Include.ALWAYS) CompletionLogprobs logprobs,
            @JsonInclude(JsonInclude.Include.ALWAYS) String finishReason) {

        public static Choice of(String text, int index, String finishReason) {
            return new Choice(text, index, null, finishReason);
        }
    }

    /** The legacy log-probability arrays, one entry per token of {@code text}. */
    public record CompletionLogprobs(
            List<String> tokens,
            List<Double> tokenLogprobs,
            List<Map<String, Double>> topLogprobs,
            List<Integer> textOffset) {}
}
