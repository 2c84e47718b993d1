package dev.parley.tokens;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatMessage;
import java.util.List;

/**
 * Counts tokens the way one model (or one encoding) does: text, chat messages, and whole prompts with
 * function definitions.
 *
 * <p>Message counts follow OpenAI's {@code num_tokens_from_messages} exactly (127 and 129 for the cookbook's
 * example under gpt-3.5-turbo-0301 and gpt-4); prompts with {@code tools} or {@code functions} add the
 * definitions rendered as OpenAI shows them to the model, a TypeScript namespace, which reproduces the
 * prompt_tokens OpenAI reported in the published examples. Counts of parts the model sees in a form nobody
 * has published (tool calls, images of unknown size) are estimates; each method says which.
 *
 * <p>Thread-safe. Creating a counter loads its encoding on first use.
 */
public interface TokenCounter {

    /** A counter for {@code model}, resolved by {@link ModelCatalog#lookup}, which also gives the warning. */
    static TokenCounter forModel(String model) {
        return ModelCatalog.standard().counter(model);
    }

    /**
     * A counter for a bare encoding, counting messages with {@link MessageRules#STANDARD}.
     *
     * @throws IllegalArgumentException if no encoding has that name
     */
    static TokenCounter forEncoding(String encoding) {
        return new MessageCounter(Encodings.byName(encoding), MessageRules.STANDARD);
    }

    static TokenCounter of(ModelInfo model) {
        return new MessageCounter(Encodings.byName(model.encoding()), model.rules());
    }

    Encoding encoding();

    /**
     * This counter, keeping the counts of the long texts it counted lately (in about {@code memoryBytes}, the texts
     * used least recently going first): for a caller that counts the same texts again and again, as a server does
     * with the earlier messages of a conversation, the system prompt of every request, or the tool definitions.
     * Counts are the same as this counter's.
     */
    default TokenCounter remembering(long memoryBytes) {
        return new MessageCounter(new RememberedCounts(encoding(), memoryBytes), rules());
    }

    MessageRules rules();

    /** Tokens of {@code text}; special tokens spelled in it count as ordinary text. */
    int count(String text);

    /**
     * Tokens of an {@code input} as the Responses API and the embeddings endpoint take it, an estimate for limits:
     * texts counted, token ids one each, lists item by item, anything else (a message, a call and the like) by its
     * JSON text. Null and absent count none.
     */
    default long countInput(JsonNode input) {
        if (input == null || input.isNull() || input.isMissingNode()) return 0;
        if (input.isTextual()) return count(input.asText());
        if (input.isNumber()) return 1;
        if (input.isArray()) {
            long tokens = 0;
            for (JsonNode item : input) tokens += countInput(item);
            return tokens;
        }
        return count(input.toString());
    }

    /**
     * Prompt tokens of {@code messages}, reply priming included: for each message the rules' per-message
     * tokens plus the tokens of its role, content and name (and the name adjustment), then the priming.
     * Assistant {@code function_call}s count as name + arguments + 3, as measured against OpenAI by the
     * openai-chat-tokens project; {@code tool_calls} are counted the same way per call, which is an
     * estimate. Images count by OpenAI's tile rule (see {@link #count(ChatPrompt)}).
     */
    int count(List<ChatMessage> messages);

    /**
     * Prompt tokens of a whole request: {@link #count(List)} plus, when there are {@code tools} or
     * {@code functions}, their TypeScript-namespace rendering and its fixed overhead (9, less 4 when a
     * system message exists, whose content then gains a newline). Image parts cost 85 tokens at
     * {@code detail: low}; otherwise 85 + 170 per 512-pixel tile after OpenAI's scaling, with the size
     * read from a {@code data:} URI (PNG, GIF, JPEG), or, for images that would have to be fetched, the most
     * a high-detail image can cost (1445), so that an estimate for rate limiting errs high.
     */
    int count(ChatPrompt prompt);
}
