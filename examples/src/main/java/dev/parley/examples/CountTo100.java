package dev.parley.examples;

import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Json;
import dev.parley.api.TextCompletion;
import dev.parley.client.ChatStream;
import dev.parley.client.CompletionStream;
import dev.parley.client.ParleyClient;

/**
 * How much sooner a streamed answer starts: asks for a count to 100 once whole and once streamed, timing
 * each chunk as it arrives, then streams a legacy completion of "1,2,3,". Connects with OPENAI_BASE_URL
 * and OPENAI_API_KEY; PARLEY_MODEL picks the chat model (default gpt-3.5-turbo) and
 * PARLEY_COMPLETION_MODEL the legacy one (default: the chat model).
 */
public final class CountTo100 {
    public static void main(String[] args) {
        String model = System.getenv().getOrDefault("PARLEY_MODEL", "gpt-3.5-turbo");
        String completionModel = System.getenv().getOrDefault("PARLEY_COMPLETION_MODEL", model);
        var request = ChatCompletionRequest.builder(model)
                .messages(ChatMessage.user(
                        "Count to 100, with a comma between each number and no newlines. E.g., 1, 2, 3, ..."))
                .temperature(0.0)
                .build();
        try (var client = ParleyClient.fromEnv()) {
            long start = System.nanoTime();
            var whole = client.chat(request);
            System.out.printf("Full response received %.2f seconds after request%n", seconds(start));
            System.out.printf("Full response received:%n%s%n%n", whole.text());

            start = System.nanoTime();
            StringBuilder reply = new StringBuilder();
            try (ChatStream stream = client.stream(request)) {
                for (ChatCompletionChunk chunk : stream) {
                    if (chunk.choices().isEmpty()) continue;
                    var delta = chunk.choices().getFirst().delta();
                    System.out.printf(
                            "Message received %.2f seconds after request: %s%n", seconds(start), describe(delta));
                    if (delta.content() != null) reply.append(delta.content());
                }
            }
            System.out.printf("Full response received %.2f seconds after request%n", seconds(start));
            System.out.printf("Full conversation received: %s%n%n", reply);

            start = System.nanoTime();
            StringBuilder text = new StringBuilder();
            var legacy = CompletionRequest.of(completionModel, "1,2,3,")
                    .withMaxTokens(193)
                    .withTemperature(0.0);
            try (CompletionStream stream = client.streamCompletion(legacy)) {
                for (TextCompletion event : stream) {
                    if (event.choices().isEmpty()) continue;
                    System.out.printf("Text received: %s (%.2f seconds after request)%n", event.text(), seconds(start));
                    text.append(event.text());
                }
            }
            System.out.printf("Full response received %.2f seconds after request%n", seconds(start));
            System.out.printf("Full text received: %s%n", text);
        }
    }

    private static String describe(ChatCompletionChunk.Delta delta) {
        if (delta.role() != null) return "{\"role\": \"" + delta.role() + "\"}";
        if (delta.content() != null) return "{\"content\": " + Json.write(delta.content()) + "}";
        return "{}";
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
