package dev.parley.server.engine.llama;

import java.util.Optional;

/**
 * How llama.cpp pools the token embeddings of one sequence into one vector ({@code enum llama_pooling_type}):
 * their mean, the first token's ({@code [CLS]}, BERT-style), or the last token's (decoder embedding models such
 * as Qwen3-Embedding, which read the whole input causally and sum it up in the final token).
 */
public enum Pooling {
    MEAN(1),
    CLS(2),
    LAST(3);

    /** The value of {@code enum llama_pooling_type} and of the GGUF key {@code <arch>.pooling_type}. */
    final int value;

    Pooling(int value) {
        this.value = value;
    }

    /**
     * The pooling a GGUF's {@code <arch>.pooling_type} names; empty for none, a reranker's {@code rank} (4) or
     * anything unknown, none of which gives one vector per input.
     */
    static Optional<Pooling> of(long value) {
        for (Pooling pooling : values()) if (pooling.value == value) return Optional.of(pooling);
        return Optional.empty();
    }
}
