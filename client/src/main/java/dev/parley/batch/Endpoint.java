package dev.parley.batch;

/** Which endpoint an input line goes to. */
public enum Endpoint {
    /**
     * By the line: the Batch API's {@code url}, else {@code messages} for chat, {@code prompt} for legacy, {@code
     * input} for the Responses API.
     */
    AUTO,
    /** {@code /chat/completions} for every line. */
    CHAT,
    /** {@code /completions} (legacy) for every line. */
    COMPLETIONS,
    /** {@code /responses} (OpenAI's Responses API) for every line. */
    RESPONSES
}
