package dev.parley.api;

import com.fasterxml.jackson.annotation.JsonAlias;
import java.util.List;

/**
 * One message of a conversation ({@code messages[i]}), or the assistant's reply ({@code choices[i].message}).
 *
 * <p>{@code role} is kept as the string that was sent, so that an unknown role can be reported precisely
 * by validation rather than failing inside the JSON reader. {@code content} is null for an assistant
 * message that only calls tools; {@code name}, {@code toolCalls}, {@code toolCallId}, {@code functionCall}
 * and {@code refusal} are null when absent. {@code reasoningContent} ({@code reasoning_content}) is the
 * reasoning a model wrote before its answer, set apart from {@code content} (null for none): servers of
 * reasoning models send it, and chat templates render it back in later turns; read from {@code reasoning} too, the
 * name newer vLLM releases and OpenRouter give it.
 */
public record ChatMessage(
        String role,
        Content content,
        String name,
        List<ToolCall> toolCalls,
        String toolCallId,
        FunctionCall functionCall,
        String refusal,
        @JsonAlias("reasoning") String reasoningContent) {

    public static final String SYSTEM = "system";
    public static final String DEVELOPER = "developer";
    public static final String USER = "user";
    public static final String ASSISTANT = "assistant";
    public static final String TOOL = "tool";
    public static final String FUNCTION = "function";

    /** Every role OpenAI accepts, in the order its error messages list them. */
    public static final List<String> ROLES = List.of(SYSTEM, ASSISTANT, USER, FUNCTION, TOOL, DEVELOPER);

    /** A message without reasoning. */
    public ChatMessage(
            String role,
            Content content,
            String name,
            List<ToolCall> toolCalls,
            String toolCallId,
            FunctionCall functionCall,
            String refusal) {
        this(role, content, name, toolCalls, toolCallId, functionCall, refusal, null);
    }

    public static ChatMessage of(String role, String content) {
        return new ChatMessage(role, Content.of(content), null, null, null, null, null);
    }

    public static ChatMessage system(String content) {
        return of(SYSTEM, content);
    }

    public static ChatMessage user(String content) {
        return of(USER, content);
    }

    public static ChatMessage assistant(String content) {
        return of(ASSISTANT, content);
    }

    public static ChatMessage tool(String toolCallId, String content) {
        return new ChatMessage(TOOL, Content.of(content), null, null, toolCallId, null, null);
    }

    public ChatMessage withName(String name) {
        return new ChatMessage(role, content, name, toolCalls, toolCallId, functionCall, refusal, reasoningContent);
    }

    /** This message with {@code reasoning} as its reasoning (null for none). */
    public ChatMessage withReasoning(String reasoning) {
        return new ChatMessage(role, content, name, toolCalls, toolCallId, functionCall, refusal, reasoning);
    }

    /** The text of the content, or the empty string when there is none. */
    public String text() {
        return content == null ? "" : content.text();
    }
}
