package dev.parley.api;

import com.fasterxml.jackson.annotation.JsonFormat;
import java.util.List;
import java.util.Map;

/**
 * A legacy {@code POST /v1/completions} body. Every component but {@code model} and {@code prompt} is
 * optional and null when absent. {@code logprobs} here is a count (0–5) of alternatives per token, not a
 * flag as in chat; {@code stop} reads a single string as a one-element list.
 */
public record CompletionRequest(
        String model,
        Prompt prompt,
        String suffix,
        Integer maxTokens,
        Double temperature,
        Double topP,
        Integer n,
        Boolean stream,
        StreamOptions streamOptions,
        Integer logprobs,
        Boolean echo,

        @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        List<String> stop,

        Double presencePenalty,
        Double frequencyPenalty,
        Integer bestOf,
        Map<String, Double> logitBias,
        Long seed,
        String user) {

    /** The legacy endpoint's default output cap, as at OpenAI. */
    public static final int DEFAULT_MAX_TOKENS = 16;

    public static CompletionRequest of(String model, String prompt) {
        return new CompletionRequest(
                model,
                Prompt.of(prompt),
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                null);
    }

    /** This request for another model (an alias resolved, a fallback). */
    public CompletionRequest withModel(String model) {
        return new CompletionRequest(
                model,
                prompt,
                suffix,
                maxTokens,
                temperature,
                topP,
                n,
                stream,
                streamOptions,
                logprobs,
                echo,
                stop,
                presencePenalty,
                frequencyPenalty,
                bestOf,
                logitBias,
                seed,
                user);
    }

    public CompletionRequest withMaxTokens(Integer maxTokens) {
        return new CompletionRequest(
                model,
                prompt,
                suffix,
                maxTokens,
                temperature,
                topP,
                n,
                stream,
                streamOptions,
                logprobs,
                echo,
                stop,
                presencePenalty,
                frequencyPenalty,
                bestOf,
                logitBias,
                seed,
                user);
    }

    public CompletionRequest withTemperature(Double temperature) {
        return new CompletionRequest(
                model,
                prompt,
                suffix,
                maxTokens,
                temperature,
                topP,
                n,
                stream,
                streamOptions,
                logprobs,
                echo,
                stop,
                presencePenalty,
                frequencyPenalty,
                bestOf,
                logitBias,
                seed,
                user);
    }

    public CompletionRequest withStream(Boolean stream) {
        return new CompletionRequest(
                model,
                prompt,
                suffix,
                maxTokens,
                temperature,
                topP,
                n,
                stream,
                streamOptions,
                logprobs,
                echo,
                stop,
                presencePenalty,
                frequencyPenalty,
                bestOf,
                logitBias,
                seed,
                user);
    }

    public boolean streaming() {
        return Boolean.TRUE.equals(stream);
    }

    /** {@code n}, or its default of 1. */
    public int choices() {
        return n == null ? 1 : n;
    }

    /** {@code max_tokens}, or the legacy default of 16. */
    public int outputLimit() {
        return maxTokens == null ? DEFAULT_MAX_TOKENS : maxTokens;
    }
}
