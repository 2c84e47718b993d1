package dev.parley.server.engine;

import dev.parley.api.InvalidRequestException;
import java.util.List;

/**
 * The tokens a model reads for a text or a chat prompt.
 *
 * @param count how many tokens there are; for a chat prompt, what its usage reports as {@code prompt_tokens}
 * @param tokens each token's id and the bytes of text it stands for, in order; null when only the count is known
 *     (a chat prompt counted by the published rules of a model whose prompt format is not itself published)
 */
public record Tokenized(int count, List<Token> tokens) {

    /**
     * One token: its id and the bytes of text it stands for (a control token's own text, such as {@code <s>}). A
     * character that spans tokens is split between their pieces, so a piece alone need not be valid UTF-8.
     */
    public record Token(int id, byte[] piece) {}

    /** Tokens whose count is their number. */
    public static Tokenized of(List<Token> tokens) {
        return new Tokenized(tokens.size(), List.copyOf(tokens));
    }

    /** A count without the tokens. */
    public static Tokenized counted(int count) {
        return new Tokenized(count, null);
    }

    /**
     * 400 {@code context_length_exceeded} for a text or prompt ({@code param}) of {@code tokens} where the model
     * reads at most {@code limit}; {@code atLeast} when it was refused before it was tokenized, on a lower bound.
     */
    public static InvalidRequestException tooLong(String param, int limit, long tokens, boolean atLeast) {
        return InvalidRequestException.of(
                param,
                "context_length_exceeded",
                "This model's maximum context length is %d tokens. However, your %s resulted in %s%d tokens. Please reduce the length of the %s."
                        .formatted(limit, param, atLeast ? "at least " : "", tokens, param));
    }

    /** Checks token ids to turn back into text: no more than {@code limit}, none negative. */
    public static void requireIds(int[] ids, int limit) {
        if (ids.length > limit) {
            throw InvalidRequestException.of(
                    "tokens",
                    "array_above_max_length",
                    "Invalid 'tokens': array too long. Expected an array with maximum length %d, but got an array with length %d instead."
                            .formatted(limit, ids.length));
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0) {
                throw InvalidRequestException.of(
                        "tokens[%d]".formatted(i),
                        "invalid_value",
                        "Invalid 'tokens[%d]': %d is not a token id.".formatted(i, ids[i]));
            }
        }
    }
}
