package dev.parley.api;

/**
 * Token counts of one request, as in the {@code usage} object. The details objects are null when the
 * server did not send them.
 */
public record Usage(
        int promptTokens,
        int completionTokens,
        int totalTokens,
        PromptTokensDetails promptTokensDetails,
        CompletionTokensDetails completionTokensDetails) {

    public static Usage of(int promptTokens, int completionTokens) {
        return new Usage(promptTokens, completionTokens, promptTokens + completionTokens, null, null);
    }

    /** The sum of both counts; details are dropped, since they need not add up across servers. */
    public Usage plus(Usage other) {
        return of(promptTokens + other.promptTokens, completionTokens + other.completionTokens);
    }

    /** {@code usage.prompt_tokens_details}; each count is null when not reported. */
    public record PromptTokensDetails(Integer cachedTokens, Integer audioTokens) {}

    /** {@code usage.completion_tokens_details}; each count is null when not reported. */
    public record CompletionTokensDetails(
            Integer reasoningTokens,
            Integer audioTokens,
            Integer acceptedPredictionTokens,
            Integer rejectedPredictionTokens) {}
}
