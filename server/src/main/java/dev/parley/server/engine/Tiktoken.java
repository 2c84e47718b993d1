package dev.parley.server.engine;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.InvalidRequestException;
import dev.parley.tokens.ChatPrompt;
import dev.parley.tokens.Encoding;
import dev.parley.tokens.TokenCounter;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link Engine}'s tokenizer when it has none of its own: the tiktoken encoding and message rules that {@code
 * dev.parley.tokens} picks for the model's name, exact for OpenAI's models and an estimate for others. Text and
 * token lists may be as long as the model's context window, or {@value #UNKNOWN_CONTEXT} tokens when the window is
 * not known.
 *
 * <p>Stateless and thread-safe.
 */
final class Tiktoken {
    /** The most tokens of a model whose context window is not known (the largest window OpenAI offers). */
    static final int UNKNOWN_CONTEXT = 1 << 20;

    private Tiktoken() {}

    static Tokenized tokenize(Engine engine, String model, String text) {
        Encoding encoding = TokenCounter.forModel(model).encoding();
        int[] ids = encoding.encode(text);
        int limit = limit(engine, model);
        if (ids.length > limit) throw Tokenized.tooLong("content", limit, ids.length, false);
        List<Tokenized.Token> tokens = new ArrayList<>(ids.length);
        for (int id : ids) tokens.add(new Tokenized.Token(id, encoding.decodeBytes(new int[] {id})));
        return Tokenized.of(tokens);
    }

    static Tokenized tokenize(Engine engine, ChatCompletionRequest request) {
        int count = TokenCounter.forModel(request.model()).count(ChatPrompt.of(request));
        int limit = limit(engine, request.model());
        if (count > limit) throw Tokenized.tooLong("messages", limit, count, false);
        return Tokenized.counted(count);
    }

    static String detokenize(Engine engine, String model, int[] ids) {
        Tokenized.requireIds(ids, limit(engine, model));
        Encoding encoding = TokenCounter.forModel(model).encoding();
        try {
            return encoding.decode(ids);
        } catch (IllegalArgumentException e) {
            throw InvalidRequestException.of(
                    "tokens", "invalid_value", "Invalid 'tokens': %s.".formatted(e.getMessage()));
        }
    }

    /** The model's context window, or {@link #UNKNOWN_CONTEXT} when the engine does not know it. */
    private static int limit(Engine engine, String model) {
        return engine.models().stream()
                .filter(card -> card.id().equals(model) && card.contextLength() > 0)
                .mapToInt(ModelCard::contextLength)
                .findFirst()
                .orElse(UNKNOWN_CONTEXT);
    }
}
