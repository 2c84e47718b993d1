package dev.parley.server.engine.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.parley.api.FunctionCall;
import dev.parley.api.ToolCall;
import dev.parley.server.engine.grammar.PythonLiteral;
import java.security.SecureRandom;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads one choice's text as it is generated and tells its words from its tool calls, in a {@link ToolSyntax}.
 *
 * <p>When the model may answer in words ({@code tool_choice: auto}), text is words until the syntax's trigger
 * appears; text that may be the start of the trigger is held back until it is known not to be. From the trigger
 * on (or from the first token, when a call is required), the text is calls: each call is handed on as a stream
 * delta would carry it, first its index, id and name as soon as they are written, then its arguments, as the model
 * writes them, in pieces. The arguments are the model's own text. The markup around calls is not handed on.
 *
 * <p>Not thread-safe: one parser follows one choice.
 */
public final class ToolCallParser {
    /** Where a choice's words and calls go. */
    public interface Sink {
        void text(String text);

        void call(ToolCall piece);
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory TEXT = JsonNodeFactory.instance;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] ALPHABET =
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

    private final ToolSyntax syntax;
    private final RawText rawText; // where a raw-text form writes a call; null for the others
    private final Map<String, JsonNode> parameters;
    private int nextCall; // raw-text forms, HARMONY: where the next call may begin in the region
    private final int callDepth;
    private final StringBuilder held = new StringBuilder(); // words that may start the trigger
    private final StringBuilder region = new StringBuilder(); // the calls, from the trigger on
    private boolean calling;
    private boolean inList; // LFM2: inside a list of calls, after the trigger
    private boolean wordsOnly; // the trigger can no longer come (it counts only at the start)
    private boolean wordsSent; // words went out before any call
    private int scanned;
    private int depth;
    private boolean inString;
    private boolean escaped;
    private int unitStart = -1;
    private int calls;
    // The arguments of the call being streamed: where they start, how far they are scanned and sent.
    private int argsFrom = -1;
    private String rawTextName; // the raw-text call being read
    private int argsTo;
    private int argsSent;
    private boolean argsClosed;
    private int current;

    /**
     * A call's opening as a model writes it: its name (after Command R's call number), then its arguments key; the
     * arguments value follows.
     */
    private static final Pattern HEADER = Pattern.compile("\\{\\s*(?:\"tool_call_id\"\\s*:\\s*\"[0-9]*\"\\s*,\\s*)?"
            + "\"(?:tool_)?name\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"\\s*,\\s*\"(arguments|parameters)\"\\s*:\\s*");

    /** Apertus's call opening: its name is the key of the call's one member, whose value is the arguments. */
    private static final Pattern NAME_KEY = Pattern.compile("\\{\\s*\"((?:[^\"\\\\]|\\\\.)*)\"\\s*:\\s*");

    /** @param required the answer is calls from its first token (the grammar says so), not words first */
    public ToolCallParser(ToolSyntax syntax, boolean required) {
        this(syntax, required, Map.of());
    }

    /**
     * @param parameters each function's parameters schema by name: the {@link ToolSyntax#rawText} forms write values
     *     as text, and a schema says which are strings and which JSON
     */
    public ToolCallParser(ToolSyntax syntax, boolean required, Map<String, JsonNode> parameters) {
        this.syntax = syntax;
        this.parameters = parameters;
        this.rawText = syntax.markupArguments() ? RawText.of(syntax) : null;
        this.callDepth = syntax.callDepth();
        this.calling = required || syntax.trigger() == null;
    }

    /**
     * Takes the next text. Returns null, or, when this text started the calls, the text from the trigger on: the
     * grammar of the calls applies from there.
     */
    public String append(String text, Sink sink) {
        if (calling) {
            region.append(text);
            scan(sink);
            return null;
        }
        if (wordsOnly) {
            if (!text.isEmpty()) sink.text(text);
            return null;
        }
        held.append(text);
        String trigger = syntax.trigger();
        if (syntax.triggerAtStart()) {
            int first = 0;
            while (first < held.length() && Character.isWhitespace(held.charAt(first))) first++;
            if (first == held.length()) return null; // only whitespace so far
            String rest = held.substring(first);
            if (rest.startsWith(trigger)) return startCalls(first, sink);
            if (trigger.startsWith(rest)) return null;
            wordsOnly = true;
            sink.text(held.toString());
            held.setLength(0);
            return null;
        }
        int at = held.indexOf(trigger);
        if (at >= 0) return startCalls(at, sink);
        int keep = partialTrigger(held, trigger);
        // White space before a call is no answer in words: until words come, it is held with the rest.
        String words = held.substring(0, held.length() - keep);
        if (!words.isEmpty() && (wordsSent || !words.isBlank())) {
            sink.text(words);
            held.delete(0, words.length());
            wordsSent = true;
        }
        return null;
    }

    private String startCalls(int at, Sink sink) {
        String before = held.substring(0, at);
        if (!before.isBlank()) sink.text(before); // whitespace before a call is no answer in words
        String start = held.substring(at);
        held.setLength(0);
        calling = true;
        region.append(start);
        scan(sink);
        return start;
    }

    /**
     * Ends the choice: words still held back are handed on; a call's arguments not yet read are handed on as written;
     * calls that never became valid JSON are handed on as words.
     */
    public void finish(Sink sink) {
        if (!held.isEmpty()) sink.text(held.toString());
        held.setLength(0);
        // A call cut off before its arguments could be read (the length limit): they go on as the model wrote them
        // so far, as the JSON forms' arguments do as they come.
        if ((rawText != null || syntax == ToolSyntax.LFM2) && argsFrom >= 0 && argsFrom < region.length())
            sink.call(new ToolCall(current, null, null, new FunctionCall(null, region.substring(argsFrom))));
        if (calls > 0 || region.isEmpty()) return;
        if (syntax == ToolSyntax.GENERIC) {
            JsonNode answer = parse(region.toString());
            if (answer != null && answer.path("response").isTextual()) {
                sink.text(answer.get("response").asText());
                return;
            }
        }
        sink.text(region.toString());
    }

    /** Whether the choice made any tool call. */
    public boolean called() {
        return calls > 0;
    }

    private void scan(Sink sink) {
        if (rawText != null) {
            scanRawText(sink);
            return;
        }
        if (syntax == ToolSyntax.HARMONY) {
            scanHarmony(sink);
            return;
        }
        if (syntax == ToolSyntax.LFM2) {
            scanPython(sink);
            return;
        }
        for (; scanned < region.length(); scanned++) {
            char c = region.charAt(scanned);
            if (inString) {
                if (escaped) escaped = false;
                else if (c == '\\') escaped = true;
                else if (c == '"') inString = false;
                extendArguments(c, false);
                continue;
            }
            switch (c) {
                case '"' -> inString = true;
                case '{', '[' -> {
                    if (depth == callDepth && c == '{') unitStart = scanned;
                    if (unitStart >= 0 && argsFrom < 0 && depth == argumentsDepth()) startArguments(sink);
                    depth++;
                }
                case '}', ']' -> depth = Math.max(0, depth - 1);
                default -> {}
            }
            extendArguments(c, c == '}' || c == ']');
            if (depth == callDepth && c == '}' && unitStart >= 0) {
                sendArguments(sink);
                if (argsFrom < 0) unit(unitStart, scanned + 1, sink);
                unitStart = -1;
                argsFrom = -1;
            }
        }
        sendArguments(sink);
    }

    /** How a markup form's call body (its parameters) becomes JSON arguments, by the function's parameters schema. */
    private interface Arguments {
        String read(String body, JsonNode schema);

        /** Flat parameters, each a key and a value as {@code form}'s two groups. */
        static Arguments flat(Pattern form) {
            return (body, schema) -> rawTextArguments(form, body, schema, ToolCallParser::jsonValue);
        }
    }

    /**
     * Where a markup form ({@link ToolSyntax#markupArguments}) writes a call: its name after {@code
     * opening}, up to one of {@code nameEnds}; its parameters from {@code afterName} characters past the name's end
     * up to {@code closing}, read by {@code arguments}.
     */
    private record RawText(String opening, String nameEnds, int afterName, String closing, Arguments arguments) {
        static RawText of(ToolSyntax syntax) {
            return switch (syntax) {
                case XML, SEED -> new RawText("<function=", ">", 1, "</function>", Arguments.flat(XML_PARAMETER));
                case ARG_KEY -> new RawText("<tool_call>", "<\n", 0, "</tool_call>", Arguments.flat(ARG_KEY_PARAMETER));
                case MINIMAX -> new RawText("<invoke name=\"", "\"", 2, "</invoke>", Arguments.flat(MINIMAX_PARAMETER));
                case MINIMAX_M3 ->
                    new RawText(
                            "]<]minimax[>[<invoke name=\"",
                            "\"",
                            2,
                            "]<]minimax[>[</invoke>",
                            (body, schema) ->
                                    NestedXml.MINIMAX.read(body, schema).toString());
                case GEMMA4 ->
                    new RawText("<|tool_call>call:", "{", 1, "}<tool_call|>", (body, schema) -> {
                        var arguments = GemmaValues.readMembers(body, 0, body.length());
                        return arguments != null ? arguments.toString() : body;
                    });
                case DSML_FUNCTION_CALLS, DSML_TOOL_CALLS ->
                    new RawText("<｜DSML｜invoke name=\"", "\"", 2, "</｜DSML｜invoke>", Arguments.flat(DSML_PARAMETER));
                case HUNYUAN ->
                    new RawText(
                            "<tool_call:opensource>",
                            "<",
                            "<tool_sep:opensource>".length(),
                            "</tool_call:opensource>",
                            Arguments.flat(HUNYUAN_PARAMETER));
                case MINICPM ->
                    new RawText(
                            "<function name=\"",
                            "\"",
                            2,
                            "</function>",
                            (body, schema) ->
                                    rawTextArguments(MINICPM_PARAMETER, body, schema, ToolCallParser::miniCpmValue));
                case XTML ->
                    new RawText(
                            "<|open|>call tool=\"", "\"", 0, "<|close|>call<|sep|>", Arguments.flat(XTML_PARAMETER));
                default -> throw new IllegalArgumentException(syntax + " writes its arguments as JSON");
            };
        }
    }

    private static final Pattern XML_PARAMETER =
            Pattern.compile("<parameter=([^>]*)>\\n?(.*?)\\n?</parameter>", Pattern.DOTALL);
    private static final Pattern ARG_KEY_PARAMETER =
            Pattern.compile("<arg_key>(.*?)</arg_key>\\s*<arg_value>(.*?)</arg_value>", Pattern.DOTALL);
    private static final Pattern MINIMAX_PARAMETER =
            Pattern.compile("<parameter name=\"([^\"]*)\">\\n?(.*?)\\n?</parameter>", Pattern.DOTALL);
    private static final Pattern HUNYUAN_PARAMETER = Pattern.compile(
            "<arg_key:opensource>(.*?)</arg_key:opensource>\\s*<arg_value:opensource>(.*?)</arg_value:opensource>",
            Pattern.DOTALL);
    private static final Pattern XTML_PARAMETER = Pattern.compile(
            "<\\|open\\|>argument key=\"([^\"]*)\"[^<]*<\\|sep\\|>(.*?)<\\|close\\|>argument<\\|sep\\|>",
            Pattern.DOTALL);
    private static final Pattern DSML_PARAMETER =
            Pattern.compile("<｜DSML｜parameter name=\"([^\"]*)\"[^>]*>(.*?)</｜DSML｜parameter>", Pattern.DOTALL);

    /**
     * A {@link ToolSyntax#rawText} form: a call's header goes out once its name and what ends it are written (the
     * {@code >} of {@code <function=name>}, say), its arguments, as a JSON object, once the call's closing tag is.
     */
    private void scanRawText(Sink sink) {
        while (true) {
            if (argsFrom < 0) {
                int open = region.indexOf(rawText.opening(), nextCall);
                if (open < 0) return;
                int nameFrom = open + rawText.opening().length();
                int end = nameFrom;
                while (end < region.length() && rawText.nameEnds().indexOf(region.charAt(end)) < 0) end++;
                if (end == region.length()) return;
                String name = region.substring(nameFrom, end).strip();
                current = calls++;
                sink.call(new ToolCall(current, newId(), "function", new FunctionCall(name, "")));
                argsFrom = end + rawText.afterName();
                rawTextName = name;
            }
            int close = region.indexOf(rawText.closing(), argsFrom);
            if (close < 0) return;
            String arguments = rawText.arguments().read(region.substring(argsFrom, close), parameters.get(rawTextName));
            sink.call(new ToolCall(current, null, null, new FunctionCall(null, arguments)));
            nextCall = close + rawText.closing().length();
            argsFrom = -1;
        }
    }

    /** A Python call's name and its opening parenthesis; a keyword argument's name and its equals sign. */
    private static final Pattern PYTHON_CALL = Pattern.compile("([A-Za-z0-9_.\\-]+)\\s*\\(");

    private static final Pattern KEYWORD = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)\\s*=");

    /**
     * The {@link ToolSyntax#LFM2} form, a Python list of calls after the trigger: a call's header goes out once its
     * name and {@code (} are written, its keyword arguments, as a JSON object, once its closing {@code )} is.
     */
    private void scanPython(Sink sink) {
        while (true) {
            if (argsFrom < 0) {
                if (!inList) {
                    int open = region.indexOf(syntax.trigger(), nextCall);
                    if (open < 0) return;
                    nextCall = open + syntax.trigger().length();
                    inList = true;
                }
                int at = nextCall;
                while (at < region.length() && "[, \n\t".indexOf(region.charAt(at)) >= 0) at++;
                if (at == region.length()) return;
                if (region.charAt(at) == ']') {
                    inList = false;
                    nextCall = at + 1;
                    continue;
                }
                Matcher call = PYTHON_CALL.matcher(region).region(at, region.length());
                if (!call.lookingAt()) return;
                current = calls++;
                sink.call(new ToolCall(current, newId(), "function", new FunctionCall(call.group(1), "")));
                argsFrom = call.end();
                argsSent = argsFrom;
            }
            if (region.indexOf(")", argsSent) < 0) return; // no call can have ended since the last look
            argsSent = region.length();
            var arguments = JSON.createObjectNode();
            int at = argsFrom;
            while (true) {
                while (at < region.length() && (Character.isWhitespace(region.charAt(at)) || region.charAt(at) == ','))
                    at++;
                if (at >= region.length()) return;
                if (region.charAt(at) == ')') break;
                Matcher keyword = KEYWORD.matcher(region).region(at, region.length());
                if (!keyword.lookingAt()) return;
                PythonLiteral.Read value = PythonLiteral.read(region, keyword.end());
                if (value == null) return;
                arguments.set(keyword.group(1), value.value());
                at = value.end();
            }
            sink.call(new ToolCall(current, null, null, new FunctionCall(null, arguments.toString())));
            nextCall = at + 1;
            argsFrom = -1;
        }
    }

    private static final String MESSAGE = "<|message|>";

    /**
     * The {@link ToolSyntax#HARMONY} form: a call's header goes out once its name and {@code <|message|>} are
     * written, its arguments as they come, up to the next special token's text ({@code <|…|>}) or the end (the
     * {@code <|call|>} that ends it ends the answer).
     */
    private void scanHarmony(Sink sink) {
        while (true) {
            if (argsFrom < 0) {
                int to = region.indexOf(syntax.trigger(), nextCall);
                if (to < 0) return;
                int nameFrom = to + syntax.trigger().length();
                int message = region.indexOf(MESSAGE, nameFrom);
                if (message < 0) return;
                int nameTo = nameFrom;
                while (nameTo < message
                        && !Character.isWhitespace(region.charAt(nameTo))
                        && region.charAt(nameTo) != '<') nameTo++;
                current = calls++;
                sink.call(new ToolCall(
                        current, newId(), "function", new FunctionCall(region.substring(nameFrom, nameTo), "")));
                argsFrom = message + MESSAGE.length();
                argsSent = argsFrom;
            }
            int boundary = region.indexOf("<|", argsSent);
            boolean partial = boundary < 0 && region.length() > argsSent && region.charAt(region.length() - 1) == '<';
            int end = boundary >= 0 ? boundary : region.length() - (partial ? 1 : 0);
            if (end > argsSent) {
                sink.call(new ToolCall(current, null, null, new FunctionCall(null, region.substring(argsSent, end))));
                argsSent = end;
            }
            if (boundary < 0) return;
            nextCall = boundary;
            argsFrom = -1;
        }
    }

    /**
     * The parameters of a raw-text call (each a key and a value, as {@code form}'s two groups) as a JSON object, each
     * value read by {@code read} from its text and whether its schema makes it a string.
     */
    private static String rawTextArguments(
            Pattern form, String body, JsonNode schema, BiFunction<String, Boolean, JsonNode> read) {
        var arguments = JSON.createObjectNode();
        Matcher parameter = form.matcher(body);
        while (parameter.find()) {
            String key = parameter.group(1).strip();
            JsonNode property =
                    schema == null ? null : schema.path("properties").get(key);
            boolean string = property != null && ToolSyntax.isString(property);
            JsonNode value = read.apply(parameter.group(2), string);
            if (!string && value.equals(TEXT.textNode(parameter.group(2)))) {
                // Not a value as it stands: a string inside it may hold the closing markup, which ended it too soon.
                // The value then runs to the first closing markup after its brackets close.
                String closing =
                        body.substring(parameter.end(2), parameter.end()).strip();
                int end = valueEnd(body, parameter.start(2));
                int close = end < parameter.end(2) ? -1 : body.indexOf(closing, end);
                String written = close < 0
                        ? null
                        : body.substring(parameter.start(2), close).strip();
                JsonNode longer = written == null ? null : read.apply(written, false);
                if (longer != null && !longer.equals(TEXT.textNode(written))) {
                    value = longer;
                    parameter.region(close + closing.length(), body.length());
                }
            }
            arguments.set(key, value);
        }
        return arguments.toString();
    }

    /**
     * Where the object, array or string that starts at {@code from} (after white space) ends, its strings (in either
     * quote) and brackets followed; -1 when none starts there or it does not end.
     */
    private static int valueEnd(String text, int from) {
        int at = from;
        while (at < text.length() && Character.isWhitespace(text.charAt(at))) at++;
        int depth = 0;
        char quote = 0;
        for (int i = at; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) {
                    quote = 0;
                    if (depth == 0) return i + 1;
                }
            } else if (c == '"' || c == '\'') quote = c;
            else if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0) return i + 1;
                if (depth < 0) return -1;
            } else if (depth == 0) return -1;
        }
        return -1;
    }

    /** A value in the raw-text forms: a string as written, any other read as JSON (or kept as text when it is none). */
    private static JsonNode jsonValue(String text, boolean string) {
        JsonNode json = string ? null : parse(text);
        return json != null ? json : TEXT.textNode(text);
    }

    private static final Pattern MINICPM_PARAMETER =
            Pattern.compile("<param name=\"([^\"]*)\">(.*?)</param>", Pattern.DOTALL);

    /**
     * A value in MiniCPM 5's form: in {@code <![CDATA[…]]>} that text; a string as written; any other read as a Python
     * literal (or kept as text when it is none).
     */
    private static JsonNode miniCpmValue(String text, boolean string) {
        if (text.startsWith("<![CDATA[") && text.endsWith("]]>"))
            return TEXT.textNode(text.substring("<![CDATA[".length(), text.length() - "]]>".length()));
        PythonLiteral.Read literal = string ? null : PythonLiteral.read(text, 0);
        boolean whole = literal != null && text.substring(literal.end()).isBlank();
        return whole ? literal.value() : TEXT.textNode(text);
    }

    /** The depth at which a call's arguments value opens: inside the call's object, or the unit itself. */
    private int argumentsDepth() {
        return syntax.nameOpen() != null ? callDepth : callDepth + 1;
    }

    /**
     * At the opening of a value inside a call: when what precedes it in the call is its name and the arguments key
     * (as the grammar writes them), the call's header goes out now and its arguments follow as they come.
     */
    private void startArguments(Sink sink) {
        String name;
        if (syntax.nameOpen() != null) {
            int open = region.lastIndexOf(syntax.nameOpen(), scanned);
            int args = region.lastIndexOf(syntax.nameClose(), scanned);
            if (open < 0 || args < open || args + syntax.nameClose().length() != scanned) return;
            name = syntax.functionName(region.substring(open + syntax.nameOpen().length(), args));
        } else {
            Matcher header =
                    (syntax == ToolSyntax.APERTUS ? NAME_KEY : HEADER).matcher(region.subSequence(unitStart, scanned));
            if (!header.matches() || header.groupCount() > 1 && !header.group(2).equals(syntax.argumentsKey())) return;
            JsonNode quoted = parse("\"" + header.group(1) + "\"");
            if (quoted == null) return;
            name = quoted.asText();
        }
        if (name.isEmpty()) return;
        argsFrom = scanned;
        argsSent = scanned;
        argsClosed = false;
        current = calls++;
        sink.call(new ToolCall(current, newId(), "function", new FunctionCall(name, "")));
    }

    /** Counts the character just scanned into the arguments being streamed, up to the end of their value. */
    private void extendArguments(char c, boolean closes) {
        if (argsFrom < 0 || argsClosed || scanned < argsFrom) return;
        argsTo = scanned + 1;
        if (closes && !inString && depth == argumentsDepth()) argsClosed = true;
    }

    /** Hands on the arguments scanned since the last piece. */
    private void sendArguments(Sink sink) {
        if (argsFrom < 0 || argsTo <= argsSent) return;
        sink.call(new ToolCall(current, null, null, new FunctionCall(null, region.substring(argsSent, argsTo))));
        argsSent = argsTo;
    }

    /** A complete call whose header was not in the expected form: read as JSON, in any key order. */
    private void unit(int from, int to, Sink sink) {
        JsonNode node = parse(region.substring(from, to));
        if (node == null || !node.isObject() || syntax.nameOpen() != null) return;
        JsonNode named = node.has("tool_name") ? node.get("tool_name") : node.path("name");
        String name = named.isTextual() ? named.asText() : null;
        JsonNode arguments = node.has(syntax.argumentsKey()) ? node.get(syntax.argumentsKey()) : node.get("arguments");
        if (syntax == ToolSyntax.APERTUS && node.size() == 1) {
            name = node.fieldNames().next();
            arguments = node.get(name);
        }
        if (name == null || name.isEmpty() || arguments == null) return;
        int index = calls++;
        sink.call(new ToolCall(index, newId(), "function", new FunctionCall(name, "")));
        sink.call(new ToolCall(index, null, null, new FunctionCall(null, arguments.toString())));
    }

    static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /** The length of the longest end of {@code text} that begins {@code trigger}. */
    private static int partialTrigger(CharSequence text, String trigger) {
        for (int n = Math.min(trigger.length() - 1, text.length()); n > 0; n--) {
            boolean match = true;
            for (int i = 0; i < n && match; i++) match = text.charAt(text.length() - n + i) == trigger.charAt(i);
            if (match) return n;
        }
        return 0;
    }

    /** A call id as OpenAI writes them: {@code call_} and 24 letters and digits. */
    static String newId() {
        char[] id = new char[24];
        for (int i = 0; i < id.length; i++) id[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
        return "call_" + new String(id);
    }
}
