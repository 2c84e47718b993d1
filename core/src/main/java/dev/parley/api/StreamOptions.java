package dev.parley.api;

/** {@code stream_options}: with {@code include_usage}, a stream ends with a chunk carrying {@code usage}. */
public record StreamOptions(Boolean includeUsage) {
    public static StreamOptions withUsage() {
        return new StreamOptions(true);
    }
}
