package dev.parley.tokens;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.FunctionDefinition;
import dev.parley.api.Tool;
import java.util.List;

/**
 * What of a chat request costs prompt tokens: its messages and the definitions the model is shown.
 *
 * @param messages {@code messages}
 * @param tools {@code tools}; empty when the request has none
 * @param functions the legacy {@code functions}; empty when the request has none
 */
public record ChatPrompt(List<ChatMessage> messages, List<Tool> tools, List<FunctionDefinition> functions) {

    public ChatPrompt {
        messages = List.copyOf(messages);
        tools = tools == null ? List.of() : List.copyOf(tools);
        functions = functions == null ? List.of() : List.copyOf(functions);
    }

    public static ChatPrompt of(List<ChatMessage> messages) {
        return new ChatPrompt(messages, List.of(), List.of());
    }

    /** The parts of a chat request that are billed as prompt tokens. */
    public static ChatPrompt of(ChatCompletionRequest request) {
        return new ChatPrompt(request.messages(), request.tools(), request.functions());
    }

    public ChatPrompt withTools(List<Tool> tools) {
        return new ChatPrompt(messages, tools, functions);
    }

    public ChatPrompt withFunctions(List<FunctionDefinition> functions) {
        return new ChatPrompt(messages, tools, functions);
    }

    /** Whether the model is shown function definitions, from {@code tools} or {@code functions}. */
    public boolean hasDefinitions() {
        return !tools.isEmpty() || !functions.isEmpty();
    }
}
