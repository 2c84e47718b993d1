package dev.parley.client;

import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.Usage;

/**
 * Counts the tokens of a streamed answer whose server sent no {@code usage} (it was not asked for with
 * {@code stream_options.include_usage}, or the server ignores it). Meant to be backed by
 * {@code dev.parley.tokens}: the prompt tokens of {@code request.messages()} and the completion tokens
 * of the accumulated answer. Must be thread-safe when the client is shared.
 */
@FunctionalInterface
public interface UsageCounter {
    Usage count(ChatCompletionRequest request, ChatCompletion answer);

    /**
     * Counts as OpenAI's tokenizers do, for the request's model ({@link dev.parley.tokens.ModelCatalog}
     * resolution; unknown models count with {@code cl100k_base}): the prompt exactly as the API bills it,
     * the answer as the tokens of its text and tool calls. Thread-safe.
     */
    static UsageCounter tiktoken() {
        return TiktokenUsage.INSTANCE;
    }
}
