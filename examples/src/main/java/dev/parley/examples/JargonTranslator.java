package dev.parley.examples;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.client.ParleyClient;
import java.util.List;

/**
 * Few-shot prompting: faked example messages teach the model to turn corporate jargon into plain English,
 * first as a user/assistant conversation, then as system messages named {@code example_user} and
 * {@code example_assistant}. Connects with OPENAI_BASE_URL and OPENAI_API_KEY; PARLEY_MODEL picks the
 * model (default gpt-3.5-turbo).
 */
public final class JargonTranslator {
    static final String QUESTION =
            "This late pivot means we don't have time to boil the ocean for the client deliverable.";

    static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("You are a helpful, pattern-following assistant."),
            ChatMessage.user("Help me translate the following corporate jargon into plain English."),
            ChatMessage.assistant("Sure, I'd be happy to!"),
            ChatMessage.user("New synergies will help drive top-line growth."),
            ChatMessage.assistant("Things working well together will increase revenue."),
            ChatMessage.user(
                    "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."),
            ChatMessage.assistant("Let's talk later when we're less busy about how to do better."),
            ChatMessage.user(QUESTION));

    static final List<ChatMessage> NAMED_EXAMPLES = List.of(
            ChatMessage.system(
                    "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."),
            ChatMessage.system("New synergies will help drive top-line growth.").withName("example_user"),
            ChatMessage.system("Things working well together will increase revenue.")
                    .withName("example_assistant"),
            ChatMessage.system(
                            "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.")
                    .withName("example_user"),
            ChatMessage.system("Let's talk later when we're less busy about how to do better.")
                    .withName("example_assistant"),
            ChatMessage.user(QUESTION));

    public static void main(String[] args) {
        String model = System.getenv().getOrDefault("PARLEY_MODEL", "gpt-3.5-turbo");
        try (var client = ParleyClient.fromEnv()) {
            for (var messages : List.of(CONVERSATION, NAMED_EXAMPLES)) {
                var answer = client.chat(ChatCompletionRequest.builder(model)
                        .messages(messages)
                        .temperature(0.0)
                        .build());
                System.out.println(messages == CONVERSATION ? "# as a conversation" : "# with named example messages");
                System.out.println(answer.text());
                System.out.printf("(%d prompt tokens)%n%n", answer.usage().promptTokens());
            }
        }
    }
}
