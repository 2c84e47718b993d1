package dev.parley.server.engine.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.FunctionDefinition;
import dev.parley.api.InvalidRequestException;
import dev.parley.server.engine.grammar.GrammarBuilder;
import dev.parley.server.engine.grammar.JsonGrammar;
import dev.parley.server.engine.grammar.SchemaException;
import java.util.ArrayList;
import java.util.List;

/**
 * How a family of models writes tool calls, read from its chat template: the text around each call, where its
 * name and arguments go, and the text that tells a call has begun (for {@code tool_choice: auto}, where the model
 * may also answer in words).
 */
public enum ToolSyntax {
    /** Hermes, Qwen 2.5/3, Granite 4 and most others: {@code <tool_call>\n{"name": …, "arguments": …}\n</tool_call>}. */
    HERMES("<tool_call>", false),
    /** Llama 3.1–3.3: one JSON object {@code {"name": …, "parameters": …}} as the whole answer. */
    LLAMA3("{", true),
    /** Mistral Nemo and earlier: {@code [TOOL_CALLS][{"name": …, "arguments": …}, …]}. */
    MISTRAL_ARRAY("[TOOL_CALLS]", false),
    /** Mistral Small 3.2, Devstral, Ministral 3: {@code [TOOL_CALLS]name[ARGS]{…}} per call. */
    MISTRAL_ARGS("[TOOL_CALLS]", false),
    /**
     * Templates with no tool syntax of their own: the answer is {@code {"tool_calls": [{"name": …, "arguments": …}]}}
     * or, when the model may answer in words, {@code {"response": "…"}}.
     */
    GENERIC(null, true);

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private final String trigger;
    private final boolean triggerAtStart;

    ToolSyntax(String trigger, boolean triggerAtStart) {
        this.trigger = trigger;
        this.triggerAtStart = triggerAtStart;
    }

    /** The syntax a chat template's source writes tool calls in; {@link #GENERIC} for none (or no template). */
    public static ToolSyntax of(String template) {
        if (template == null) return GENERIC;
        if (template.contains("[TOOL_CALLS]")) return template.contains("[ARGS]") ? MISTRAL_ARGS : MISTRAL_ARRAY;
        if (template.contains("<tool_call>")) return HERMES;
        if (template.contains("<|python_tag|>") || template.contains("<|start_header_id|>ipython")) return LLAMA3;
        return GENERIC;
    }

    /** Whether a chat template shows the model its tools itself; when not, they go into a system message. */
    public static boolean rendersTools(String template) {
        return template != null && template.contains("tools");
    }

    /**
     * The text that starts a call when the model may also answer in words; null when the whole answer is the
     * syntax's JSON ({@link #GENERIC}).
     */
    public String trigger() {
        return trigger;
    }

    /** Whether {@link #trigger} counts only as the first text of the answer (whitespace aside). */
    public boolean triggerAtStart() {
        return triggerAtStart;
    }

    /** The key of a call's arguments in its JSON. */
    String argumentsKey() {
        return this == LLAMA3 ? "parameters" : "arguments";
    }

    /**
     * The grammar of answers that call {@code functions} in this syntax: one call, or with {@code parallel} one or
     * more. With {@code wordsToo} a {@link #GENERIC} answer may be {@code {"response": "…"}} instead.
     *
     * With {@code afterTrigger}, the grammar of what follows the {@link #trigger} (which the model wrote freely).
     *
     * @param params where each function's parameters were given, for errors ({@code tools[2].function.parameters})
     * @throws InvalidRequestException naming the parameters whose schema the grammar cannot honour
     */
    public JsonGrammar grammar(
            List<FunctionDefinition> functions,
            List<String> params,
            boolean parallel,
            boolean wordsToo,
            boolean afterTrigger) {
        var builder = new GrammarBuilder(true);
        List<String> calls = new ArrayList<>();
        List<String> firsts = new ArrayList<>();
        for (int i = 0; i < functions.size(); i++) {
            FunctionDefinition function = functions.get(i);
            String arguments;
            try {
                arguments = builder.value(parameters(function), "arguments");
            } catch (SchemaException e) {
                throw InvalidRequestException.of(
                        params.get(i),
                        "invalid_value",
                        "Invalid schema for function '%s': %s".formatted(function.name(), e.getMessage()));
            }
            calls.add(call(function.name(), arguments, ""));
            firsts.add(call(function.name(), arguments, afterTrigger ? trigger : ""));
        }
        String call = builder.rule("call", String.join(" | ", calls));
        String first = afterTrigger ? builder.rule("first-call", String.join(" | ", firsts)) : call;
        String open = afterTrigger && this == MISTRAL_ARRAY ? "[" : "[TOOL_CALLS][";
        String body = switch (this) {
            case HERMES -> repeated(first, call, "\n", parallel);
            case LLAMA3 -> first;
            case MISTRAL_ARRAY ->
                GrammarBuilder.literal(open) + " " + repeated(call, call, ", ", parallel) + " "
                        + GrammarBuilder.literal("]");
            case MISTRAL_ARGS -> repeated(first, call, "", parallel);
            case GENERIC -> {
                String calling = GrammarBuilder.literal("{\"tool_calls\": [") + " "
                        + repeated(call, call, ", ", parallel) + " " + GrammarBuilder.literal("]}");
                if (!wordsToo) yield calling;
                String text = builder.value(JSON.objectNode().put("type", "string"), "response");
                yield calling + " | " + GrammarBuilder.literal("{\"response\": ") + " " + text + " "
                        + GrammarBuilder.literal("}");
            }
        };
        return builder.build(body);
    }

    /** One call of {@code name}, its opening text without {@code written}, which the model has written already. */
    private String call(String name, String arguments, String written) {
        String quoted = JSON.textNode(name).toString();
        String open = switch (this) {
            case HERMES -> "<tool_call>\n{\"name\": " + quoted + ", \"arguments\": ";
            case LLAMA3 -> "{\"name\": " + quoted + ", \"parameters\": ";
            case MISTRAL_ARGS -> "[TOOL_CALLS]" + name + "[ARGS]";
            case MISTRAL_ARRAY, GENERIC -> "{\"name\": " + quoted + ", \"arguments\": ";
        };
        String close = switch (this) {
            case HERMES -> "}\n</tool_call>";
            case MISTRAL_ARGS -> "";
            case LLAMA3, MISTRAL_ARRAY, GENERIC -> "}";
        };
        String rest = open.substring(written.length());
        return (rest.isEmpty() ? "" : GrammarBuilder.literal(rest) + " ")
                + arguments
                + (close.isEmpty() ? "" : " " + GrammarBuilder.literal(close));
    }

    private static String repeated(String first, String call, String between, boolean parallel) {
        if (!parallel) return first;
        return first + " (" + (between.isEmpty() ? "" : GrammarBuilder.literal(between) + " ") + call + ")*";
    }

    /** A function's parameters schema; none means no arguments, an object with nothing in it. */
    private static JsonNode parameters(FunctionDefinition function) {
        JsonNode parameters = function.parameters();
        if (parameters != null && !parameters.isEmpty()) return parameters;
        ObjectNode empty = JSON.objectNode().put("type", "object");
        empty.putObject("properties");
        empty.put("additionalProperties", false);
        return empty;
    }
}
