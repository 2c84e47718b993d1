package dev.parley.server.engine.llama;

/**
 * One message for {@link LlamaModel#applyChatTemplate}: a role ({@code system}, {@code user},
 * {@code assistant}, …) and its text content.
 */
public record ChatTurn(String role, String content) {
    public static ChatTurn system(String content) {
        return new ChatTurn("system", content);
    }

    public static ChatTurn user(String content) {
        return new ChatTurn("user", content);
    }

    public static ChatTurn assistant(String content) {
        return new ChatTurn("assistant", content);
    }
}
