package dev.parley.server.engine.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.FunctionCall;
import dev.parley.api.FunctionDefinition;
import dev.parley.api.InvalidRequestException;
import dev.parley.server.engine.grammar.GrammarBuilder;
import dev.parley.server.engine.grammar.JsonGrammar;
import dev.parley.server.engine.grammar.PythonLiteral;
import dev.parley.server.engine.grammar.SchemaException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * How a family of models writes tool calls, read from its chat template: the text around each call, where its
 * name and arguments go, and the text that tells a call has begun (for {@code tool_choice: auto}, where the model
 * may also answer in words).
 */
public enum ToolSyntax {
    /** Hermes, Qwen 2.5/3, Granite 4 and most others: {@code <tool_call>\n{"name": …, "arguments": …}\n</tool_call>}. */
    HERMES("<tool_call>", false),
    /**
     * Qwen3-Coder, Qwen 3.5, Nemotron 3, StepFun 3.5: {@code <tool_call>\n<function=name>\n<parameter=key>\nvalue\n
     * </parameter>\n…</function>\n</tool_call>}, a string parameter's value as raw text, others as JSON.
     */
    XML("<tool_call>", false),
    /**
     * GLM 4.5–4.7, Laguna, Ling 3, Spark 2.5: {@code <tool_call>name\n<arg_key>key</arg_key>\n<arg_value>value
     * </arg_value>\n…</tool_call>}, a string's value as raw text, others as JSON; the newlines are optional (some
     * of these templates write them, some do not).
     */
    ARG_KEY("<tool_call>", false),
    /**
     * Seed-OSS: {@code <seed:tool_call>\n<function=name>\n<parameter=key>value</parameter>\n…</function>\n
     * </seed:tool_call>}, values as in {@link #XML}.
     */
    SEED("<seed:tool_call>", false),
    /**
     * MiniMax M2: {@code <minimax:tool_call>\n<invoke name="name">\n<parameter name="key">value</parameter>\n…
     * </invoke>\n…</minimax:tool_call>}, values as in {@link #XML}.
     */
    MINIMAX("<minimax:tool_call>", false),
    /**
     * MiniMax M3: {@code ]<]minimax[>[<tool_call>\n]<]minimax[>[<invoke name="name">]<]minimax[>[<key>value
     * ]<]minimax[>[</key>…]<]minimax[>[</invoke>\n…]<]minimax[>[</tool_call>}, every tag after the marker {@code
     * ]<]minimax[>[}, objects and arrays as nested elements ({@link NestedXml}).
     */
    MINIMAX_M3("]<]minimax[>[<tool_call>", false),
    /**
     * DeepSeek V3.2: {@code <｜DSML｜function_calls>\n<｜DSML｜invoke name="name">\n<｜DSML｜parameter name="key"
     * string="true">value</｜DSML｜parameter>\n…</｜DSML｜invoke>\n…</｜DSML｜function_calls>}, {@code string} telling
     * a raw-text string from a JSON value.
     */
    DSML_FUNCTION_CALLS("<｜DSML｜function_calls>", false),
    /** DeepSeek V4: as {@link #DSML_FUNCTION_CALLS}, in {@code <｜DSML｜tool_calls>}. */
    DSML_TOOL_CALLS("<｜DSML｜tool_calls>", false),
    /**
     * Hunyuan 3: {@code <tool_calls:opensource>\n<tool_call:opensource>name<tool_sep:opensource>\n<arg_key:opensource>
     * key</arg_key:opensource>\n<arg_value:opensource>value</arg_value:opensource>\n…</tool_call:opensource>\n…
     * </tool_calls:opensource>}, values as in {@link #XML}.
     */
    HUNYUAN("<tool_calls:opensource>", false),
    /**
     * Kimi K2: {@code <|tool_calls_section_begin|><|tool_call_begin|>functions.name:0<|tool_call_argument_begin|>{…}
     * <|tool_call_end|>…<|tool_calls_section_end|>}, the number after the name counting the conversation's calls.
     */
    KIMI("<|tool_calls_section_begin|>", false),
    /**
     * Kimi K3's XTML: {@code <|open|>tools<|sep|><|open|>call tool="name" index="1"<|sep|><|open|>argument key="key"
     * type="string"<|sep|>value<|close|>argument<|sep|>…<|close|>call<|sep|>…<|close|>tools<|sep|>}, the calls
     * numbered from 1, each value's JSON type named, a string's value as raw text.
     */
    XTML("<|open|>tools<|sep|>", false),
    /**
     * DeepSeek V3.1: {@code <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>name<｜tool▁sep｜>{…}<｜tool▁call▁end｜>…
     * <｜tool▁calls▁end｜>}. Its template does not show the model its tools: they go into the system message, with
     * this form.
     */
    DEEPSEEK("<｜tool▁calls▁begin｜>", false),
    /**
     * DeepSeek R1 and its distills: {@code <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n
     * ```json\n{…}\n```<｜tool▁call▁end｜>\n…<｜tool▁calls▁end｜>}. Tools go into the system message as for {@link
     * #DEEPSEEK} unless the template shows them.
     */
    DEEPSEEK_R1("<｜tool▁calls▁begin｜>", false),
    /**
     * Command R7B, Command A: {@code <|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "name", "parameters":
     * {…}},\n    …\n]<|END_ACTION|>}, the calls numbered from 0.
     */
    COMMAND_R("<|START_ACTION|>", false),
    /** Granite 3.3: {@code <|tool_call|>[{"name": …, "arguments": …}, …]}. */
    GRANITE("<|tool_call|>", false),
    /** Apertus: {@code <|tools_prefix|>[{"name": {…}}, …]<|tools_suffix|>}, each call an object of one member. */
    APERTUS("<|tools_prefix|>", false),
    /** Nemotron Nano 2: {@code <TOOLCALL>[{"name": …, "arguments": …}, …]</TOOLCALL>}. */
    NEMOTRON("<TOOLCALL>", false),
    /** Apriel 1.5 and 1.6: {@code <tool_calls>[{"name": …, "arguments": …}, …]</tool_calls>}. */
    APRIEL("<tool_calls>", false),
    /** MiniMax M1: {@code <tool_calls>\n{"name": …, "arguments": …}\n…\n</tool_calls>}, a call a line. */
    MINIMAX_M1("<tool_calls>", false),
    /**
     * LFM2 and LFM2.5: {@code <|tool_call_start|>[name(key="value", n=1, flag=True), …]<|tool_call_end|>}, the
     * arguments as Python keyword arguments.
     */
    LFM2("<|tool_call_start|>", false),
    /**
     * Gemma 4: {@code <|tool_call>call:name{key:value,…}<tool_call|>} per call, the arguments in key order, a string
     * between {@code <|"|>} marks ({@link GemmaValues}).
     */
    GEMMA4("<|tool_call>", false),
    /**
     * MiniCPM 5: {@code <function name="name"><param name="key">value</param>…</function>} per call, a string as raw
     * text (in {@code <![CDATA[…]]>} when it holds {@code <}, {@code &} or a line break), any other value as a Python
     * literal.
     */
    MINICPM("<function name=\"", false),
    /** Llama 3.1–3.3: one JSON object {@code {"name": …, "parameters": …}} as the whole answer. */
    LLAMA3("{", true),
    /** Mistral Nemo and earlier: {@code [TOOL_CALLS][{"name": …, "arguments": …}, …]}. */
    MISTRAL_ARRAY("[TOOL_CALLS]", false),
    /** Mistral Small 3.2, Devstral, Ministral 3: {@code [TOOL_CALLS]name[ARGS]{…}} per call. */
    MISTRAL_ARGS("[TOOL_CALLS]", false),
    /**
     * gpt-oss: a call is a message to the tool, {@code to=functions.name<|channel|>commentary json<|message|>{…}},
     * ended by {@code <|call|>} (an end-of-generation token), so one call per answer; the recipient may also come
     * after the channel ({@code <|channel|>commentary to=functions.name <|constrain|>json<|message|>}).
     */
    HARMONY("to=functions.", false),
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
        if (template.contains("<tool_call>\\n<function=") && template.contains("<parameter=")) return XML;
        if (template.contains("<|channel|>") && template.contains("<|call|>")) return HARMONY;
        if (template.contains("<tool_call>") && template.contains("<arg_key>")) return ARG_KEY;
        if (template.contains(SEED.trigger)) return SEED;
        if (template.contains(MINIMAX.trigger) && template.contains("<invoke name=")) return MINIMAX;
        if (template.contains("']<]minimax[>['") && template.contains("<invoke name=")) return MINIMAX_M3;
        // DeepSeek's templates build the DSML tags from a variable: '<' + dsml_token + 'function_calls>'.
        if (template.contains("'｜DSML｜'")) {
            if (template.contains("'function_calls>")) return DSML_FUNCTION_CALLS;
            if (template.contains("'tool_calls>")) return DSML_TOOL_CALLS;
        }
        // Hunyuan's templates build their tags with a suffix: '<tool_calls{}>'.format(HYTK), HYTK = ':opensource'.
        if (template.contains("'<tool_calls{}>'") && template.contains("HYTK = ':opensource'")) return HUNYUAN;
        // Kimi K3's template writes its tags with macros: open_tag('call', …) is '<|open|>call …<|sep|>'.
        if (template.contains("'<|open|>'") && template.contains("open_tag('call'")) return XTML;
        if (template.contains(KIMI.trigger)) return KIMI;
        if (template.contains(DEEPSEEK.trigger) && template.contains("<｜tool▁sep｜>"))
            return template.contains("```json") ? DEEPSEEK_R1 : DEEPSEEK; // R1 fences its arguments
        if (template.contains(GRANITE.trigger)) return GRANITE;
        if (template.contains("<TOOLCALL>[")) return NEMOTRON;
        if (template.contains("'<|tools_prefix|>'")) return APERTUS;
        if (template.contains("'<function name=\"'") && template.contains("<param name=")) return MINICPM;
        if (template.contains("<tool_calls>[")) return APRIEL;
        if (template.contains("<tool_calls>\\n")) return MINIMAX_M1;
        if (template.contains("'<|tool_call>call:'")) return GEMMA4;
        if (template.contains(COMMAND_R.trigger)) return COMMAND_R;
        // Liquid's templates list the tools after "List of tools: ", some inside <|tool_list_start|>.
        if (template.contains(LFM2.trigger) || template.contains("List of tools: ")) return LFM2;
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

    /**
     * Whether every call begins with the {@link #trigger}; in the others, but for {@link #GENERIC}, the trigger opens
     * a list of calls.
     */
    private boolean triggerOpensEachCall() {
        return switch (this) {
            case HERMES, XML, ARG_KEY, SEED, LLAMA3, MISTRAL_ARGS, HARMONY, GEMMA4, MINICPM -> true;
            default -> false;
        };
    }

    /**
     * How deep a call's JSON object lies in what the parser scans from the trigger on: inside the list in the JSON
     * lists ({@code [{…}, …]}), inside {@code {"tool_calls": [ ]}} in {@link #GENERIC}, at the top in the others.
     */
    int callDepth() {
        if (this == GENERIC) return 2;
        return !triggerOpensEachCall() && listOpen().startsWith("[") ? 1 : 0;
    }

    /**
     * The text before a call's name in the syntaxes whose call is a name between two markers and then its arguments'
     * JSON ({@link #MISTRAL_ARGS}, {@link #KIMI}, {@link #DEEPSEEK}, {@link #DEEPSEEK_R1}); null in the others.
     */
    String nameOpen() {
        return switch (this) {
            case MISTRAL_ARGS -> "[TOOL_CALLS]";
            case KIMI -> "<|tool_call_begin|>";
            case DEEPSEEK -> "<｜tool▁call▁begin｜>";
            case DEEPSEEK_R1 -> "<｜tool▁call▁begin｜>function<｜tool▁sep｜>";
            default -> null;
        };
    }

    /** The text between a call's name and its arguments, in the syntaxes that have a {@link #nameOpen}. */
    String nameClose() {
        return switch (this) {
            case MISTRAL_ARGS -> "[ARGS]";
            case KIMI -> "<|tool_call_argument_begin|>";
            case DEEPSEEK -> "<｜tool▁sep｜>";
            case DEEPSEEK_R1 -> "\n```json\n";
            default -> null;
        };
    }

    /** The function's name in what is written between {@link #nameOpen} and {@link #nameClose}. */
    String functionName(String written) {
        if (this != KIMI) return written;
        String name = written.startsWith("functions.") ? written.substring("functions.".length()) : written;
        int colon = name.lastIndexOf(':');
        boolean numbered = colon > 0
                && colon < name.length() - 1
                && name.substring(colon + 1).chars().allMatch(Character::isDigit);
        return numbered ? name.substring(0, colon) : name;
    }

    /** The text that ends a list of calls, in the syntaxes whose {@link #trigger} opens one. */
    private String sectionEnd() {
        return switch (this) {
            case KIMI -> "<|tool_calls_section_end|>";
            case DEEPSEEK, DEEPSEEK_R1 -> "<｜tool▁calls▁end｜>";
            case MINIMAX -> "</minimax:tool_call>";
            case MINIMAX_M3 -> "]<]minimax[>[</tool_call>";
            case DSML_FUNCTION_CALLS -> "</｜DSML｜function_calls>";
            case DSML_TOOL_CALLS -> "</｜DSML｜tool_calls>";
            case HUNYUAN -> "</tool_calls:opensource>";
            case XTML -> "<|close|>tools<|sep|>";
            case LFM2 -> "]<|tool_call_end|>";
            case COMMAND_R -> "\n]<|END_ACTION|>";
            case MISTRAL_ARRAY, GRANITE -> "]";
            case NEMOTRON -> "]</TOOLCALL>";
            case APERTUS -> "]<|tools_suffix|>";
            case APRIEL -> "]</tool_calls>";
            case MINIMAX_M1 -> "\n</tool_calls>";
            default -> throw new IllegalStateException(this + " has no list of calls");
        };
    }

    /** Whether a string parameter is written as raw text and the call's arguments are no JSON object. */
    boolean rawText() {
        return switch (this) {
            case XML, ARG_KEY, SEED, MINIMAX, DSML_FUNCTION_CALLS, DSML_TOOL_CALLS, HUNYUAN, XTML, MINICPM -> true;
            default -> false;
        };
    }

    /**
     * Whether a call's arguments are markup that the parser reads into JSON ({@link #rawText}, MiniMax M3's nested
     * XML, Gemma 4's values), not JSON as written.
     */
    boolean markupArguments() {
        return rawText() || this == MINIMAX_M3 || this == GEMMA4;
    }

    /** The key of a call's arguments in its JSON. */
    String argumentsKey() {
        return this == LLAMA3 || this == COMMAND_R ? "parameters" : "arguments";
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
        var builder = new GrammarBuilder(true, this == LFM2 || this == MINICPM);
        List<String> calls = new ArrayList<>();
        List<String> firsts = new ArrayList<>();
        for (int i = 0; i < functions.size(); i++) {
            FunctionDefinition function = functions.get(i);
            String unwritable = unwritable(parameters(function), this == MINIMAX_M3 || this == GEMMA4 ? 8 : 1);
            if (unwritable != null) {
                throw InvalidRequestException.of(
                        params.get(i),
                        "invalid_value",
                        "Invalid schema for function '%s': %s cannot be written in this model's tool-call syntax."
                                .formatted(function.name(), unwritable));
            }
            String arguments;
            try {
                arguments = argumentsGrammar(builder, function);
            } catch (SchemaException e) {
                throw InvalidRequestException.of(
                        params.get(i),
                        "invalid_value",
                        "Invalid schema for function '%s': %s".formatted(function.name(), e.getMessage()));
            }
            calls.add(call(function.name(), arguments, ""));
            firsts.add(call(function.name(), arguments, afterTrigger && triggerOpensEachCall() ? trigger : ""));
        }
        String call = builder.rule("call", String.join(" | ", calls));
        String first = afterTrigger ? builder.rule("first-call", String.join(" | ", firsts)) : call;
        String body = switch (this) {
            case HERMES, XML, SEED, MINICPM -> repeated(first, call, "\n", parallel);
            case ARG_KEY -> parallel ? first + " (\"\\n\"? " + call + ")*" : first;
            case LLAMA3 -> first;
            case MISTRAL_ARGS, GEMMA4 -> repeated(first, call, "", parallel);
            // The template writes a space before the recipient; the grammar takes the call with or without it.
            case HARMONY -> afterTrigger ? first : GrammarBuilder.literal(" ") + "? " + first;
            case GENERIC -> {
                String calling = GrammarBuilder.literal("{\"tool_calls\": [") + " "
                        + repeated(call, call, ", ", parallel) + " " + GrammarBuilder.literal("]}");
                if (!wordsToo) yield calling;
                String text = builder.value(JSON.objectNode().put("type", "string"), "response");
                yield calling + " | " + GrammarBuilder.literal("{\"response\": ") + " " + text + " "
                        + GrammarBuilder.literal("}");
            }
            // The others: a list of calls after the trigger.
            default ->
                (afterTrigger ? "" : GrammarBuilder.literal(trigger) + " ")
                        + (listOpen().isEmpty() ? "" : GrammarBuilder.literal(listOpen()) + " ")
                        + repeated(call, call, listSeparator(), parallel) + " "
                        + GrammarBuilder.literal(sectionEnd());
        };
        return builder.build(body);
    }

    /**
     * What of {@code schema} (down to {@code depth} levels of objects and arrays) this syntax's markup cannot hold,
     * since the parser would read something else; null when it holds it all. A property name: in the raw-text forms,
     * one holding what ends a name there or with spaces around it, which the parser trims; in MiniMax M3's elements,
     * one holding a {@code <} or {@code >}; in Gemma 4's, one holding a colon; in LFM2's, one that is no Python
     * identifier. In the raw-text forms, a listed string value ({@code enum}, {@code const}) holding the markup that
     * ends a value, since it is written as it is.
     */
    private String unwritable(JsonNode schema, int depth) {
        if (depth == 0) return null;
        for (var property : schema.path("properties").properties()) {
            String key = property.getKey();
            if (rawText() && isString(property.getValue())) {
                String closing = parameterMarkup(key, "string")[1].strip();
                JsonNode listed = property.getValue().has("enum")
                        ? property.getValue().get("enum")
                        : property.getValue().path("const");
                for (JsonNode value : listed.isArray() ? listed : List.of(listed))
                    if (value.asText("").contains(closing))
                        return "the value '%s' of '%s'".formatted(value.asText(), key);
            }
            boolean trimmed = key.equals(key.strip());
            boolean writable = switch (this) {
                case XML, SEED -> trimmed && !key.contains(">");
                case ARG_KEY, HUNYUAN -> trimmed && !key.contains("<");
                case MINIMAX, DSML_FUNCTION_CALLS, DSML_TOOL_CALLS, MINICPM, XTML -> trimmed && !key.contains("\"");
                case MINIMAX_M3 -> !key.isEmpty() && !key.contains("<") && !key.contains(">");
                case GEMMA4 -> trimmed && !key.isEmpty() && !key.contains(":");
                case LFM2 -> key.matches("[A-Za-z_][A-Za-z0-9_]*");
                default -> true;
            };
            if (!writable) return "the property name '" + key + "'";
            String inner = unwritable(property.getValue(), depth - 1);
            if (inner != null) return inner;
        }
        JsonNode items = schema.path("items");
        return items.isObject() ? unwritable(items, depth - 1) : null;
    }

    /** The grammar of a call's arguments for {@code function}'s parameters schema, in this syntax's notation. */
    private String argumentsGrammar(GrammarBuilder builder, FunctionDefinition function) {
        JsonNode schema = parameters(function);
        if (rawText()) return rawTextParameters(builder, schema);
        return switch (this) {
            case LFM2 -> keywordArguments(builder, schema, function.name());
            case MINIMAX_M3 -> NestedXml.MINIMAX.members(builder, schema, function.name());
            case GEMMA4 -> GemmaValues.members(builder, schema, function.name());
            default -> builder.value(schema, "arguments");
        };
    }

    /** One call of {@code name}, its opening text without {@code written}, which the model has written already. */
    private String call(String name, String arguments, String written) {
        String rest = callOpen(name).substring(written.length());
        // Kimi and Command R number their calls: any number is taken.
        String afterNumber = afterNumber(name);
        String numbered = afterNumber == null ? "" : "[0-9]{1,4} " + GrammarBuilder.literal(afterNumber) + " ";
        return (rest.isEmpty() ? "" : GrammarBuilder.literal(rest) + " ")
                + numbered
                + arguments
                + (callClose().isEmpty() ? "" : " " + GrammarBuilder.literal(callClose()));
    }

    /** In the syntaxes that number each call, the text between its number and its arguments; null in the others. */
    private String afterNumber(String name) {
        return switch (this) {
            case KIMI -> nameClose();
            case XTML -> "\"<|sep|>";
            case COMMAND_R -> "\", \"tool_name\": " + JSON.textNode(name) + ", \"" + argumentsKey() + "\": ";
            default -> null;
        };
    }

    /** The number of a list's first call, in the syntaxes that number them. */
    private int firstNumber() {
        return this == XTML ? 1 : 0;
    }

    /** What follows the trigger before the first call, in the syntaxes whose trigger opens a list of calls. */
    private String listOpen() {
        return switch (this) {
            case COMMAND_R -> "[\n    ";
            case MINIMAX, MINIMAX_M1, MINIMAX_M3, DSML_FUNCTION_CALLS, DSML_TOOL_CALLS, HUNYUAN -> "\n";
            case KIMI, XTML, DEEPSEEK, DEEPSEEK_R1 -> "";
            default -> "["; // the JSON and Python lists
        };
    }

    /** What separates two calls in a list that follows the trigger. */
    private String listSeparator() {
        return switch (this) {
            case COMMAND_R -> ",\n    ";
            case MINIMAX_M1, DEEPSEEK_R1 -> "\n";
            case KIMI, XTML, DEEPSEEK, MINIMAX, MINIMAX_M3, DSML_FUNCTION_CALLS, DSML_TOOL_CALLS, HUNYUAN -> "";
            default -> ", ";
        };
    }

    /** The text of a call of {@code name} before its arguments (or, where calls are numbered, before the number). */
    private String callOpen(String name) {
        String quoted = JSON.textNode(name).toString();
        return switch (this) {
            case HERMES -> "<tool_call>\n{\"name\": " + quoted + ", \"arguments\": ";
            case XML -> "<tool_call>\n<function=" + name + ">\n";
            case ARG_KEY -> "<tool_call>" + name;
            case SEED -> "<seed:tool_call>\n<function=" + name + ">\n";
            case MINIMAX -> "<invoke name=\"" + name + "\">\n";
            case MINIMAX_M3 -> "]<]minimax[>[<invoke name=\"" + name + "\">";
            case DSML_FUNCTION_CALLS, DSML_TOOL_CALLS -> "<｜DSML｜invoke name=\"" + name + "\">\n";
            case HUNYUAN -> "<tool_call:opensource>" + name + "<tool_sep:opensource>\n";
            case LLAMA3 -> "{\"name\": " + quoted + ", \"parameters\": ";
            case MISTRAL_ARGS, DEEPSEEK, DEEPSEEK_R1 -> nameOpen() + name + nameClose();
            case KIMI -> nameOpen() + "functions." + name + ":";
            case HARMONY -> "to=functions." + name + "<|channel|>commentary json<|message|>";
            case LFM2 -> name + "(";
            case APERTUS -> "{" + quoted + ": ";
            case MINICPM -> "<function name=\"" + name + "\">";
            case GEMMA4 -> "<|tool_call>call:" + name + "{";
            case XTML -> "<|open|>call tool=\"" + name + "\" index=\"";
            case COMMAND_R -> "{\"tool_call_id\": \"";
            case MISTRAL_ARRAY, GRANITE, NEMOTRON, APRIEL, MINIMAX_M1, GENERIC ->
                "{\"name\": " + quoted + ", \"arguments\": ";
        };
    }

    /** The text after a call's arguments. */
    private String callClose() {
        return switch (this) {
            case HERMES -> "}\n</tool_call>";
            case XML -> "</function>\n</tool_call>";
            case ARG_KEY -> "</tool_call>";
            case SEED -> "</function>\n</seed:tool_call>";
            case MINIMAX -> "</invoke>\n";
            case MINIMAX_M3 -> "]<]minimax[>[</invoke>\n";
            case DSML_FUNCTION_CALLS, DSML_TOOL_CALLS -> "</｜DSML｜invoke>\n";
            case HUNYUAN -> "</tool_call:opensource>\n";
            case MISTRAL_ARGS, HARMONY -> "";
            case KIMI -> "<|tool_call_end|>";
            case XTML -> "<|close|>call<|sep|>";
            case DEEPSEEK -> "<｜tool▁call▁end｜>";
            case DEEPSEEK_R1 -> "\n```<｜tool▁call▁end｜>";
            case LFM2 -> ")";
            case MINICPM -> "</function>";
            case GEMMA4 -> "}<tool_call|>";
            case LLAMA3, MISTRAL_ARRAY, GRANITE, NEMOTRON, APERTUS, APRIEL, MINIMAX_M1, COMMAND_R, GENERIC -> "}";
        };
    }

    /**
     * Calls as a model of this family writes them, for a chat template that does not render earlier calls itself:
     * the text the grammar of {@link #grammar} accepts and the {@link ToolCallParser} reads back into the same calls.
     * Arguments that are no JSON object are written as given in the JSON forms, and as none in the others. In the
     * forms that write strings as raw text, a value is raw text where its parameter's schema in {@code parameters} (by
     * function name) is a string's, as the grammar has it, and JSON where it is not; with no schema, where it is a
     * string.
     */
    public String written(List<FunctionCall> calls, Map<String, JsonNode> parameters) {
        List<String> each = new ArrayList<>(calls.size());
        for (int i = 0; i < calls.size(); i++)
            each.add(writtenCall(i, calls.get(i), parameters.get(calls.get(i).name())));
        return switch (this) {
            case HERMES, XML, ARG_KEY, SEED, LLAMA3, MINICPM -> String.join("\n", each);
            case MISTRAL_ARGS, GEMMA4 -> String.join("", each);
            case HARMONY -> String.join("<|call|>", each);
            case GENERIC -> "{\"tool_calls\": [" + String.join(", ", each) + "]}";
            default -> trigger + listOpen() + String.join(listSeparator(), each) + sectionEnd();
        };
    }

    /** {@link #written(List, Map)} without the functions' schemas. */
    public String written(List<FunctionCall> calls) {
        return written(calls, Map.of());
    }

    private String writtenCall(int index, FunctionCall call, JsonNode schema) {
        String name = call.name() == null ? "" : call.name();
        JsonNode arguments = ToolCallParser.parse(call.arguments() == null ? "" : call.arguments());
        StringBuilder out = new StringBuilder(callOpen(name));
        String afterNumber = afterNumber(name);
        if (afterNumber != null) out.append(firstNumber() + index).append(afterNumber);
        if (arguments != null && arguments.isObject()) out.append(writtenArguments(arguments, schema));
        else if (!markupArguments() && this != LFM2) out.append(call.arguments()); // as given, JSON or not
        else if (this == ARG_KEY) out.append('\n');
        return out.append(callClose()).toString();
    }

    /** A call's arguments, a JSON object, in this syntax's notation, as {@link #argumentsGrammar} spells them. */
    private String writtenArguments(JsonNode arguments, JsonNode schema) {
        if (rawText()) {
            StringBuilder out = new StringBuilder(this == ARG_KEY ? "\n" : "");
            for (var member : arguments.properties()) {
                JsonNode value = member.getValue();
                JsonNode property =
                        schema == null ? null : schema.path("properties").get(member.getKey());
                boolean raw = value.isTextual() && (property == null || isString(property));
                String[] markup = parameterMarkup(member.getKey(), raw ? "string" : typeOf(value, this == XTML));
                String text = valueText(value, raw);
                if (raw && (this == SEED || this == MINIMAX)) {
                    // Their reader drops a line break next to the markup, as these models may write one there; a
                    // string with one at an end keeps it, and a string ending in "<" is no closing tag.
                    if (text.startsWith("\n")) text = "\n" + text;
                    if (text.endsWith("\n") || text.endsWith("<")) text += "\n";
                }
                out.append(markup[0]).append(text).append(markup[1]);
            }
            return out.toString();
        }
        return switch (this) {
            case GEMMA4 -> GemmaValues.members(arguments);
            case MINIMAX_M3 -> NestedXml.MINIMAX.write(arguments, schema);
            case LFM2 -> {
                var keywords = new StringJoiner(", ");
                arguments
                        .properties()
                        .forEach(
                                member -> keywords.add(member.getKey() + "=" + PythonLiteral.write(member.getValue())));
                yield keywords.toString();
            }
            default -> PythonLiteral.json(arguments);
        };
    }

    /**
     * The parameters of a call in a {@link #rawText} form, each in the schema's order, the required ones always and
     * the others optionally: in {@link #XML} {@code <parameter=key>\nvalue\n</parameter>\n}, in {@link #SEED}
     * {@code <parameter=key>value</parameter>\n}, in {@link #MINIMAX} {@code <parameter name="key">value</parameter>
     * \n}, in DeepSeek's DSML {@code <｜DSML｜parameter name="key" string="true">value</｜DSML｜parameter>\n}, in
     * {@link #HUNYUAN} {@code <arg_key:opensource>key</arg_key:opensource>\n<arg_value:opensource>value
     * </arg_value:opensource>\n}, in {@link #ARG_KEY} {@code <arg_key>key</arg_key>\n<arg_value>value</arg_value>
     * \n} after an optional newline, each of its newlines optional. A string's value is raw text without {@code </} (its {@code enum},
     * {@code const}, length, {@code format} and {@code pattern} honoured), any other value the JSON its schema accepts.
     */
    private String rawTextParameters(GrammarBuilder builder, JsonNode schema) {
        StringBuilder out = new StringBuilder(this == ARG_KEY ? "\"\\n\"?" : "");
        JsonNode properties = schema.path("properties");
        if (!properties.isObject()) return out.toString();
        List<String> required = ArgumentGrammar.required(schema);
        for (var property : properties.properties()) {
            String key = property.getKey();
            String value = this == MINICPM
                    ? cdataValue(builder, property.getValue(), key)
                    : xmlValue(builder, property.getValue(), key);
            List<String> opens = new ArrayList<>();
            List<String> types = this == XTML
                    ? types(property.getValue())
                    : List.of(isString(property.getValue()) ? "string" : "json");
            for (String type : types) opens.add(loose(parameterMarkup(key, type)[0]));
            String open = opens.size() == 1 ? opens.getFirst() : "( " + String.join(" | ", opens) + " )";
            String piece = open + " " + value + " " + loose(parameterMarkup(key, "string")[1]);
            if (!out.isEmpty()) out.append(' ');
            out.append(required.contains(key) ? piece : "( " + piece + " )?");
        }
        return out.toString();
    }

    /**
     * The JSON type of a value as {@link #XTML} names it; a string written as JSON is {@code "json"} in the other forms
     * (DeepSeek's DSML then says {@code string="false"}).
     */
    private static String typeOf(JsonNode value, boolean xtml) {
        return switch (value.getNodeType()) {
            case STRING -> xtml ? "string" : "json";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case OBJECT -> "object";
            case ARRAY -> "array";
            default -> "null";
        };
    }

    /**
     * The JSON types a parameter's value may have, as {@link #XTML} names them: its schema's {@code type}s, or any when
     * it names none ({@code anyOf}, {@code enum}, no type at all).
     */
    private static List<String> types(JsonNode schema) {
        if (isString(schema)) return List.of("string");
        List<String> types = new ArrayList<>();
        JsonNode type = schema.path("type");
        for (JsonNode one : type.isArray() ? type : List.of(type)) {
            String name = one.asText().equals("integer") ? "number" : one.asText();
            if (List.of("string", "number", "boolean", "object", "array", "null")
                            .contains(name)
                    && !types.contains(name)) types.add(name);
        }
        return types.isEmpty() ? List.of("string", "number", "boolean", "object", "array", "null") : types;
    }

    /**
     * The text before a parameter's value and the text after it, in a {@link #rawText} form, for a value of
     * {@code type} ({@link #typeOf}); in all but {@link #XTML} and DeepSeek's DSML the type is not written.
     */
    private String[] parameterMarkup(String key, String type) {
        boolean string = type.equals("string");
        return switch (this) {
            case XML -> new String[] {"<parameter=" + key + ">\n", "\n</parameter>\n"};
            case SEED -> new String[] {"<parameter=" + key + ">", "</parameter>\n"};
            case MINIMAX -> new String[] {"<parameter name=\"" + key + "\">", "</parameter>\n"};
            case HUNYUAN ->
                new String[] {
                    "<arg_key:opensource>" + key + "</arg_key:opensource>\n<arg_value:opensource>",
                    "</arg_value:opensource>\n"
                };
            case DSML_FUNCTION_CALLS, DSML_TOOL_CALLS ->
                new String[] {"<｜DSML｜parameter name=\"" + key + "\" string=\"" + string + "\">", "</｜DSML｜parameter>\n"
                };
            case ARG_KEY -> new String[] {"<arg_key>" + key + "</arg_key>\n<arg_value>", "</arg_value>\n"};
            case MINICPM -> new String[] {"<param name=\"" + key + "\">", "</param>"};
            case XTML ->
                new String[] {
                    "<|open|>argument key=\"" + key + "\" type=\"" + type + "\"<|sep|>", "<|close|>argument<|sep|>"
                };
            default -> throw new IllegalStateException(this + " writes its arguments as JSON");
        };
    }

    /** Markup text as a grammar expression; in {@link #ARG_KEY}, whose templates differ there, each newline optional. */
    private String loose(String markup) {
        if (this != ARG_KEY) return GrammarBuilder.literal(markup);
        List<String> parts = new ArrayList<>();
        String[] lines = markup.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) parts.add("\"\\n\"?");
            if (!lines[i].isEmpty()) parts.add(GrammarBuilder.literal(lines[i]));
        }
        return String.join(" ", parts);
    }

    /**
     * The arguments of an {@link #LFM2} call, Python keyword arguments in the schema's order ({@code key=value, …}),
     * the required ones always and the others optionally, each value a Python literal its schema accepts.
     */
    private static String keywordArguments(GrammarBuilder builder, JsonNode schema, String function) {
        JsonNode properties = schema.path("properties");
        if (!properties.isObject()) return "";
        Map<String, JsonNode> members = new LinkedHashMap<>();
        properties.properties().forEach(member -> members.put(member.getKey(), member.getValue()));
        return ArgumentGrammar.members(
                builder,
                members,
                ArgumentGrammar.required(schema),
                ", ",
                function,
                (key, value) -> GrammarBuilder.literal(key + "=") + " " + builder.value(value, function + "-" + key));
    }

    /** A value as a {@link #rawText} form writes it: {@code raw} text, or JSON (MiniCPM: a Python literal). */
    private String valueText(JsonNode value, boolean raw) {
        if (this != MINICPM) return raw ? value.asText() : PythonLiteral.json(value);
        if (!raw) return PythonLiteral.write(value);
        String text = value.asText();
        boolean wrapped = text.contains("<") || text.contains("&") || text.contains("\n");
        return wrapped ? "<![CDATA[" + text + "]]>" : text;
    }

    /**
     * A {@link #MINICPM} value's grammar: a string as plain text without {@code <}, {@code &} or a line break, or
     * in {@code <![CDATA[…]]>} (its {@code enum}, {@code const} and length honoured as in {@link #xmlValue}), any
     * other as the Python literal its schema accepts.
     */
    private static String cdataValue(GrammarBuilder builder, JsonNode schema, String key) {
        boolean spelled = schema.has("const") || schema.has("enum") || schema.has("format") || schema.has("pattern");
        if (isString(schema) && spelled) {
            // Listed values as written, or in CDATA (as a value with markup in it is written for the history).
            String choices = ArgumentGrammar.choices(schema, text -> text);
            String wrapped = ArgumentGrammar.choices(schema, text -> "<![CDATA[" + text + "]]>");
            if (choices != null) return "( " + choices + " | " + wrapped + " )";
        }
        if (!isString(schema) || spelled) return xmlValue(builder, schema, key);
        String plain = "[^<&\\n]" + ArgumentGrammar.length(schema);
        String cdata = ArgumentGrammar.rawText(
                schema, builder.rule("cdata-char", "[^\\]] | \"]\" [^\\]] | \"]]\" [^>]"), "[^\\]]");
        return "( " + plain + " | " + GrammarBuilder.literal("<![CDATA[") + " " + cdata + " "
                + GrammarBuilder.literal("]]>") + " )";
    }

    private static String xmlValue(GrammarBuilder builder, JsonNode schema, String key) {
        if (!isString(schema)) return builder.value(schema, key);
        String choices = ArgumentGrammar.choices(schema, text -> text);
        if (choices != null) return choices;
        String raw = builder.rawString(schema, key);
        if (raw != null) return raw;
        return ArgumentGrammar.rawText(schema, builder.rule("xml-char", "[^<] | \"<\" [^/]"), "[^<]");
    }

    /** Whether a parameter's values are strings, so that the {@link #rawText} forms write them as raw text. */
    static boolean isString(JsonNode schema) {
        JsonNode type = schema.path("type");
        if (type.isTextual()) return type.asText().equals("string");
        if (!type.isMissingNode()) return false;
        JsonNode values = schema.has("enum") ? schema.get("enum") : schema.path("const");
        if (values.isTextual()) return true;
        if (!values.isArray() || values.isEmpty()) return false;
        for (JsonNode value : values) if (!value.isTextual()) return false;
        return true;
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
