package dev.parley.batch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Prompt;
import dev.parley.tokens.ChatPrompt;
import dev.parley.tokens.TokenCounter;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tokens a request is expected to cost against a tokens-per-minute limit, as servers reserve them:
 * the prompt counted with {@code dev.parley.tokens} (messages, tools and functions for chat; a Responses API
 * request's {@code instructions} and {@code input} by {@link TokenCounter#countInput}), plus the output cap ({@code
 * max_completion_tokens}, else {@code max_tokens}; {@code max_output_tokens}) times {@code n}. A chat or Responses
 * request without a cap is reserved at {@link #DEFAULT_COMPLETION_TOKENS}; the estimate is settled against the real
 * {@code usage} afterwards either way.
 *
 * <p>Thread-safe.
 */
final class Estimator {
    /** The output reserved for a chat request with no cap; the legacy endpoint's own default. */
    static final int DEFAULT_COMPLETION_TOKENS = CompletionRequest.DEFAULT_MAX_TOKENS;

    /**
     * The memory each model's counter may keep counts of recent long texts in: a batch's requests often share a
     * system prompt, tool definitions or few-shot examples.
     */
    private static final long COUNT_MEMORY_BYTES = 8L << 20;

    /** The counter every model is counted with, or null to count each by its own. */
    private final TokenCounter shared;

    private final Map<String, TokenCounter> counters = new ConcurrentHashMap<>();

    /** @param encoding the encoding to count every model with; null to count each by its own */
    Estimator(String encoding) {
        // an unknown name fails here, not mid-run
        this.shared =
                encoding == null ? null : TokenCounter.forEncoding(encoding).remembering(COUNT_MEMORY_BYTES);
    }

    long estimate(BatchRequest request) {
        TokenCounter counter = shared != null
                ? shared
                : counters.computeIfAbsent(
                        request.model(), model -> TokenCounter.forModel(model).remembering(COUNT_MEMORY_BYTES));
        return switch (request) {
            case BatchRequest.Chat(ChatCompletionRequest chat) -> {
                long prompt = counter.count(ChatPrompt.of(chat));
                int output = chat.outputLimit() == null ? DEFAULT_COMPLETION_TOKENS : chat.outputLimit();
                yield prompt + (long) output * chat.choices();
            }
            case BatchRequest.Completion(CompletionRequest completion) -> {
                long prompt = switch (completion.prompt()) {
                    case Prompt.Texts(var texts) ->
                        texts.stream().mapToLong(counter::count).sum();
                    case Prompt.Tokens(var tokens) ->
                        tokens.stream().mapToLong(java.util.List::size).sum();
                };
                yield prompt
                        + (long) completion.outputLimit()
                                * completion.choices()
                                * completion.prompt().size();
            }
            case BatchRequest.Responses(var body) -> {
                long input = counter.countInput(body.get("input")) + counter.countInput(body.get("instructions"));
                JsonNode cap = body.get("max_output_tokens"); // checked: absent, null or a whole number from 1
                yield input + (cap == null || cap.isNull() ? DEFAULT_COMPLETION_TOKENS : cap.asLong());
            }
        };
    }
}
