package dev.parley.batch;

/** Which endpoint an input line goes to. */
public enum Endpoint {
    /** By the line: the Batch API's {@code url}, else {@code messages} for chat, {@code prompt} for legacy. */
    AUTO,
    /** {@code /chat/completions} for every line. */
    CHAT,
    /** {@code /completions} (legacy) for every line. */
    COMPLETIONS
}
