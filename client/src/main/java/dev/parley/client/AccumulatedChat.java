package dev.parley.client;

import dev.parley.api.ChatCompletion;

/**
 * A streamed chat answer merged into one {@code chat.completion}. {@code usageCountedLocally} is true when
 * the server sent no usage and {@code completion.usage()} was counted by the client's {@link UsageCounter};
 * {@code completion.usage()} is null when neither the server nor a counter gave one.
 */
public record AccumulatedChat(ChatCompletion completion, boolean usageCountedLocally) {}
