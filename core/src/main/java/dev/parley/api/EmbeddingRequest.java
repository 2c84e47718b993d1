package dev.parley.api;

/**
 * A request for {@code /v1/embeddings}.
 *
 * @param input one of OpenAI's four forms: a string, an array of strings, an array of token ids, or an array of
 *     arrays of token ids; each element is one input, answered by one vector
 * @param encodingFormat {@code float} or {@code base64}; null for {@code float}
 * @param dimensions the length the vectors should have; null for the model's own
 * @param user an end-user id; null when absent
 */
public record EmbeddingRequest(String model, Prompt input, String encodingFormat, Integer dimensions, String user) {
    public static final String FLOAT = "float";
    public static final String BASE64 = "base64";

    /** A request for the vectors of {@code input} as floats. */
    public static EmbeddingRequest of(String model, Prompt input) {
        return new EmbeddingRequest(model, input, null, null, null);
    }

    /** Whether the vectors are to be sent as base64 of their little-endian float32 bytes. */
    public boolean base64() {
        return BASE64.equals(encodingFormat);
    }
}
