package dev.parley.server.engine.llama;

import java.util.ArrayList;
import java.util.List;

/**
 * One token of a {@link LlamaContext#decode} batch.
 *
 * @param token vocabulary id
 * @param position position of the token in its sequence, from 0
 * @param sequenceId sequence the token belongs to, below the context's {@code maxSequences}
 * @param wantLogits whether the decode keeps this token's logits, for {@link LlamaContext#logits} or a
 *     {@link Sampler}
 */
public record BatchToken(int token, int position, int sequenceId, boolean wantLogits) {
    /** A prompt's tokens at positions {@code start, start+1, …}, with logits for the last token only. */
    public static List<BatchToken> prompt(int[] tokens, int start, int sequenceId) {
        List<BatchToken> batch = new ArrayList<>(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            batch.add(new BatchToken(tokens[i], start + i, sequenceId, i == tokens.length - 1));
        }
        return batch;
    }
}
