package dev.parley.api;

import java.util.ArrayList;
import java.util.List;

/**
 * The answer of {@code /v1/embeddings}: {@code object} is {@code list}, {@code data} holds one {@link Embedding}
 * per input, in the order of the inputs.
 */
public record EmbeddingList(String object, List<Embedding> data, String model, EmbeddingList.Usage usage) {

    /** The vectors of the inputs, in order, for {@code promptTokens} tokens of input in all. */
    public static EmbeddingList of(String model, List<float[]> vectors, int promptTokens, boolean base64) {
        List<Embedding> data = new ArrayList<>(vectors.size());
        for (int i = 0; i < vectors.size(); i++) data.add(Embedding.of(i, vectors.get(i), base64));
        return new EmbeddingList("list", data, model, Usage.of(promptTokens));
    }

    /** {@code usage} of an embeddings request: input tokens only, so both counts are the same. */
    public record Usage(int promptTokens, int totalTokens) {
        public static Usage of(int promptTokens) {
            return new Usage(promptTokens, promptTokens);
        }
    }
}
