package dev.parley.examples;

import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.Json;
import dev.parley.client.ParleyClient;

/**
 * The cookbook's first chat call: a system message and a knock-knock joke in progress. Prints the whole
 * response object, then just the reply. Connects with OPENAI_BASE_URL and OPENAI_API_KEY; PARLEY_MODEL
 * picks the model (default gpt-3.5-turbo).
 */
public final class KnockKnock {
    public static void main(String[] args) {
        String model = System.getenv().getOrDefault("PARLEY_MODEL", "gpt-3.5-turbo");
        try (var client = ParleyClient.fromEnv()) {
            ChatCompletion response = client.chat(ChatCompletionRequest.builder(model)
                    .messages(
                            ChatMessage.system("You are a helpful assistant."),
                            ChatMessage.user("Knock knock."),
                            ChatMessage.assistant("Who's there?"),
                            ChatMessage.user("Orange."))
                    .temperature(0.0)
                    .build());
            System.out.println(Json.pretty(response));
            System.out.println(response.choices().getFirst().message().text());
        }
    }
}
