package dev.parley.api;

/**
 * One tool call of an assistant message ({@code tool_calls[i]}). In a stream delta, {@code index} says
 * which call a piece belongs to and the other fields may be null; in a whole message {@code index} is null.
 */
public record ToolCall(Integer index, String id, String type, FunctionCall function) {
    public static ToolCall function(String id, String name, String arguments) {
        return new ToolCall(null, id, "function", new FunctionCall(name, arguments));
    }
}
