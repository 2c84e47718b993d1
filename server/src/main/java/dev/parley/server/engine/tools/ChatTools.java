package dev.parley.server.engine.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.Content;
import dev.parley.api.FunctionDefinition;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Tool;
import dev.parley.api.ToolChoice;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tools of a chat request, whichever way it named them: {@code tools} with {@code tool_choice} and {@code
 * parallel_tool_calls}, or the legacy {@code functions} with {@code function_call} (one call at most).
 *
 * @param definitions every function the model is told of, in order
 * @param params where each definition's parameters were given, for errors
 * @param choice {@code none}, {@code auto}, {@code required} or one function
 * @param parallel whether the model may call more than one at once
 */
public record ChatTools(
        List<FunctionDefinition> definitions, List<String> params, ToolChoice choice, boolean parallel) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static ChatTools of(ChatCompletionRequest request) {
        List<FunctionDefinition> definitions = new ArrayList<>();
        List<String> params = new ArrayList<>();
        if (request.tools() != null && !request.tools().isEmpty()) {
            for (int i = 0; i < request.tools().size(); i++) {
                Tool tool = request.tools().get(i);
                definitions.add(tool.function());
                params.add("tools[" + i + "].function.parameters");
            }
            ToolChoice choice = request.toolChoice() == null ? ToolChoice.AUTO : request.toolChoice();
            return new ChatTools(definitions, params, choice, !Boolean.FALSE.equals(request.parallelToolCalls()));
        }
        if (request.functions() != null && !request.functions().isEmpty()) {
            for (int i = 0; i < request.functions().size(); i++) {
                definitions.add(request.functions().get(i));
                params.add("functions[" + i + "].parameters");
            }
            return new ChatTools(definitions, params, functionCall(request.functionCall(), definitions), false);
        }
        return new ChatTools(List.of(), List.of(), ToolChoice.NONE, false);
    }

    /** {@code function_call}: {@code "none"}, {@code "auto"} (the default) or {@code {"name": …}}. */
    private static ToolChoice functionCall(JsonNode call, List<FunctionDefinition> definitions) {
        if (call == null || call.isNull()) return ToolChoice.AUTO;
        if (call.isTextual() && (call.asText().equals("none") || call.asText().equals("auto")))
            return new ToolChoice.Mode(call.asText());
        String name = call.path("name").isTextual() ? call.get("name").asText() : null;
        if (name == null || definitions.stream().noneMatch(f -> f.name().equals(name))) {
            throw InvalidRequestException.of(
                    "function_call",
                    "invalid_value",
                    "Invalid value for 'function_call': expected 'none', 'auto' or the name of a function in 'functions'.");
        }
        return ToolChoice.function(name);
    }

    /** How DeepSeek V3.1 is told to write its calls, after its tools. */
    private static final String DEEPSEEK_FORM =
            "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>tool name<｜tool▁sep｜>arguments<｜tool▁call▁end｜>{{more calls}}"
                    + "<｜tool▁calls▁end｜>\nwhere the tool name is one of the tools above, the arguments are JSON valid for"
                    + " that tool's Parameters, and more calls follow each other with nothing between them.";

    /** How DeepSeek R1 is told to write its calls, after its tools. */
    private static final String DEEPSEEK_R1_FORM =
            "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>tool name\n```json\narguments\n```"
                    + "<｜tool▁call▁end｜>{{more calls, each on a line of its own}}<｜tool▁calls▁end｜>\nwhere the tool name"
                    + " is one of the tools above and the arguments are JSON valid for that tool's Parameters.";

    /** The tools as DeepSeek's model card lays them out ({@code ## Tools}, a {@code ###} section each), then {@code form}. */
    private String deepSeekTools(String form) {
        StringBuilder text = new StringBuilder("## Tools\nThese are the tools you can use:\n");
        for (FunctionDefinition function : definitions) {
            text.append("\n### ").append(function.name()).append('\n');
            if (function.description() != null)
                text.append("Description: ").append(function.description()).append("\n\n");
            JsonNode parameters = function.parameters() == null ? JSON.createObjectNode() : function.parameters();
            text.append("Parameters: ").append(parameters).append('\n');
        }
        return text.append("\nTo use tools, write exactly:\n").append(form).toString();
    }

    /** The tools as JSON, and the {@link ToolSyntax#GENERIC} answer to call them (or to answer in words). */
    private String genericTools(boolean wordsToo) {
        StringBuilder text = new StringBuilder("You can call these tools:\n");
        for (JsonNode tool : json()) text.append(tool.get("function")).append('\n');
        text.append("To call tools, answer with only a JSON object: "
                + "{\"tool_calls\": [{\"name\": <tool name>, \"arguments\": <arguments object>}]}.");
        if (wordsToo) text.append(" To answer in words instead, answer {\"response\": <your answer>}.");
        return text.toString();
    }

    /** Whether the model may call a function at all. */
    public boolean calling() {
        return !definitions.isEmpty() && !choice.equals(ToolChoice.NONE);
    }

    /** Whether the answer must be a call ({@code required} or a named function). */
    public boolean required() {
        return choice instanceof ToolChoice.Function || choice.equals(ToolChoice.REQUIRED);
    }

    /** The functions the model may call: all, or the one named. */
    public List<FunctionDefinition> callable() {
        if (!(choice instanceof ToolChoice.Function(var name))) return definitions;
        return definitions.stream().filter(f -> f.name().equals(name)).toList();
    }

    /** Where each of {@link #callable()}'s parameters were given. */
    public List<String> params() {
        if (!(choice instanceof ToolChoice.Function(var name))) return params;
        List<String> named = new ArrayList<>();
        for (int i = 0; i < definitions.size(); i++)
            if (definitions.get(i).name().equals(name)) named.add(params.get(i));
        return named;
    }

    /** The parameters schema of each of {@code functions} that has one, by name. */
    public static Map<String, JsonNode> parameters(List<FunctionDefinition> functions) {
        Map<String, JsonNode> parameters = new HashMap<>();
        functions.forEach(f -> {
            if (f.parameters() != null) parameters.put(f.name(), f.parameters());
        });
        return parameters;
    }

    /** The definitions as a chat template reads {@code tools}: OpenAI's {@code tools} array. */
    public ArrayNode json() {
        ArrayNode tools = JSON.createArrayNode();
        for (FunctionDefinition function : definitions) {
            ObjectNode tool = tools.addObject().put("type", "function");
            ObjectNode body = tool.putObject("function").put("name", function.name());
            if (function.description() != null) body.put("description", function.description());
            if (function.parameters() != null) body.set("parameters", function.parameters());
        }
        return tools;
    }

    /**
     * {@code messages} with the tools described in the system message (added first when there is none), for a
     * chat template that does not show the model its tools itself: in DeepSeek's layout with its call form for
     * {@link ToolSyntax#DEEPSEEK} and {@link ToolSyntax#DEEPSEEK_R1}, else with {@link ToolSyntax#GENERIC}'s.
     *
     * @param wordsToo whether the model may answer in words instead of calling
     */
    public List<ChatMessage> inSystemMessage(List<ChatMessage> messages, boolean wordsToo, ToolSyntax syntax) {
        String text = switch (syntax) {
            case DEEPSEEK -> deepSeekTools(DEEPSEEK_FORM);
            case DEEPSEEK_R1 -> deepSeekTools(DEEPSEEK_R1_FORM);
            default -> genericTools(wordsToo);
        };
        List<ChatMessage> out = new ArrayList<>(messages.size() + 1);
        if (!messages.isEmpty() && messages.getFirst().role().equals(ChatMessage.SYSTEM)) {
            ChatMessage system = messages.getFirst();
            String joined = system.text().isEmpty() ? text.toString() : system.text() + "\n\n" + text;
            out.add(new ChatMessage(
                    ChatMessage.SYSTEM,
                    Content.of(joined),
                    system.name(),
                    system.toolCalls(),
                    system.toolCallId(),
                    system.functionCall(),
                    system.refusal()));
            out.addAll(messages.subList(1, messages.size()));
        } else {
            out.add(ChatMessage.system(text.toString()));
            out.addAll(messages);
        }
        return out;
    }
}
