package dev.parley.examples;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.client.ParleyClient;
import java.util.ArrayList;
import java.util.List;

/**
 * A task in the first user message, asked twice: with a system message and without one. Connects with
 * OPENAI_BASE_URL and OPENAI_API_KEY; PARLEY_MODEL picks the model (default gpt-3.5-turbo).
 */
public final class Blackbeard {
    public static void main(String[] args) {
        String model = System.getenv().getOrDefault("PARLEY_MODEL", "gpt-3.5-turbo");
        var task = ChatMessage.user("Explain asynchronous programming in the style of the pirate Blackbeard.");
        try (var client = ParleyClient.fromEnv()) {
            for (boolean withSystem : new boolean[] {true, false}) {
                List<ChatMessage> messages = new ArrayList<>();
                if (withSystem) messages.add(ChatMessage.system("You are a helpful assistant."));
                messages.add(task);
                var answer = client.chat(ChatCompletionRequest.builder(model)
                        .messages(messages)
                        .temperature(0.0)
                        .build());
                System.out.println(withSystem ? "# with a system message" : "# without a system message");
                System.out.println(answer.text());
                System.out.println();
            }
        }
    }
}
