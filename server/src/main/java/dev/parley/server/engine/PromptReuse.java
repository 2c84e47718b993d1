package dev.parley.server.engine;

/**
 * What an engine's KV cells saved it in reading prompts, since it started: prompt tokens found in cells instead of
 * read ({@code cachedTokens}, as {@code usage.prompt_tokens_details.cached_tokens} adds up), of those the ones
 * loaded from the host-memory prompt cache ({@code restoredTokens}), the bytes that cache holds now, and the bytes of
 * sliding-window cells or recurrent states kept where the slots' prompts ended ({@code checkpointBytes}, models with
 * either only).
 */
public record PromptReuse(long cachedTokens, long restoredTokens, long cacheBytes, long checkpointBytes) {
    /** An engine that keeps no cells: a gateway, an embedding model. */
    public static final PromptReuse NONE = new PromptReuse(0, 0, 0, 0);

    /** Both engines' together. */
    public PromptReuse plus(PromptReuse other) {
        return new PromptReuse(
                cachedTokens + other.cachedTokens,
                restoredTokens + other.restoredTokens,
                cacheBytes + other.cacheBytes,
                checkpointBytes + other.checkpointBytes);
    }
}
