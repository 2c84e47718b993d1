package dev.parley.server.engine.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.server.engine.grammar.GrammarBuilder;
import dev.parley.server.engine.grammar.PythonLiteral;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Values as Gemma 4 writes a call's arguments ({@code call:name{city:<|"|>Paris<|"|>,days:3}}): a string between
 * {@code <|"|>} marks, a number or boolean as JSON writes it, an object's members {@code key:value} in key order with
 * the keys bare, an array's items between brackets, all without spaces.
 */
final class GemmaValues {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    /** What opens and closes a string. */
    static final String QUOTE = "<|\"|>";

    private GemmaValues() {}

    // ---- writing ----

    /** An object's members, {@code key:value} joined by commas in key order, as the arguments of a call. */
    static String members(JsonNode object) {
        StringBuilder out = new StringBuilder();
        TreeMap<String, JsonNode> sorted = new TreeMap<>();
        object.properties().forEach(member -> sorted.put(member.getKey(), member.getValue()));
        sorted.forEach((key, value) -> {
            if (!out.isEmpty()) out.append(',');
            out.append(key).append(':').append(write(value));
        });
        return out.toString();
    }

    static String write(JsonNode value) {
        return switch (value.getNodeType()) {
            case STRING -> QUOTE + value.asText() + QUOTE;
            case OBJECT -> "{" + members(value) + "}";
            case ARRAY -> {
                List<String> items = new ArrayList<>();
                value.forEach(item -> items.add(write(item)));
                yield "[" + String.join(",", items) + "]";
            }
            case NULL -> "None"; // as the template writes Python's None
            default -> value.toString();
        };
    }

    // ---- the grammar ----

    /**
     * The grammar of an object's members: {@code schema}'s properties in key order, the required ones always and the
     * others optionally, with commas between those written.
     */
    static String members(GrammarBuilder builder, JsonNode schema, String hint) {
        JsonNode properties = schema.path("properties");
        if (!properties.isObject()) return "";
        TreeMap<String, JsonNode> sorted = new TreeMap<>();
        properties.properties().forEach(member -> sorted.put(member.getKey(), member.getValue()));
        return ArgumentGrammar.members(
                builder,
                sorted,
                ArgumentGrammar.required(schema),
                ",",
                hint,
                (key, value) -> GrammarBuilder.literal(key + ":") + " " + value(builder, value, hint + "-" + key));
    }

    /**
     * A value's grammar: a string as raw text between the marks (its {@code enum}, {@code const} and length
     * honoured), an object with properties as its members in braces, an array of a schema as its items in brackets
     * (its {@code minItems} and {@code maxItems} honoured), a number, integer or boolean as the JSON its schema
     * accepts, null as {@code None}; listed values ({@code const}, {@code enum}) as written; each of a union's
     * ({@code anyOf}, {@code oneOf}, a list of types) choices; anything else any Gemma value.
     */
    static String value(GrammarBuilder builder, JsonNode schema, String hint) {
        String type = schema.path("type").asText("");
        String quote = GrammarBuilder.literal(QUOTE);
        if (ToolSyntax.isString(schema)) {
            String choices = ArgumentGrammar.choices(schema, text -> QUOTE + text + QUOTE);
            if (choices != null) return choices;
            String raw = builder.rawString(schema, hint);
            if (raw != null) return quote + " " + raw + " " + quote;
            return quote + " " + ArgumentGrammar.rawText(schema, textChar(builder), "[^<]") + " " + quote;
        }
        List<String> choices = new ArrayList<>();
        if (schema.has("const")) choices.add(GrammarBuilder.literal(write(schema.get("const"))));
        else if (schema.path("enum").isArray() && !schema.get("enum").isEmpty())
            schema.get("enum").forEach(listed -> choices.add(GrammarBuilder.literal(write(listed))));
        else if (schema.path("anyOf").isArray() || schema.path("oneOf").isArray()) {
            JsonNode options = schema.has("anyOf") ? schema.get("anyOf") : schema.get("oneOf");
            for (int i = 0; i < options.size(); i++) choices.add(value(builder, options.get(i), hint + "-" + i));
        } else if (schema.path("type").isArray()) {
            for (JsonNode one : schema.get("type"))
                choices.add(
                        value(builder, ((ObjectNode) schema.deepCopy()).set("type", one), hint + "-" + one.asText()));
        }
        if (!choices.isEmpty()) return "( " + String.join(" | ", choices) + " )";
        if (type.equals("null")) return GrammarBuilder.literal("None");
        if (type.equals("object") && schema.path("properties").isObject()) {
            String members = members(builder, schema, hint);
            return GrammarBuilder.literal("{") + (members.isEmpty() ? "" : " " + members) + " "
                    + GrammarBuilder.literal("}");
        }
        if (type.equals("array") && schema.path("items").isObject()) {
            String item = builder.rule(hint + "-item", value(builder, schema.get("items"), hint + "-i"));
            int min = schema.path("minItems").asInt(0);
            int max = schema.path("maxItems").asInt(-1);
            String more = "( " + GrammarBuilder.literal(",") + " " + item + " )";
            String items;
            if (max == 0) items = "";
            else if (min == 0) items = "( " + item + " " + more + (max > 0 ? "{0," + (max - 1) + "}" : "*") + " )?";
            else items = item + " " + more + "{" + (min - 1) + "," + (max > 0 ? max - 1 : "") + "}";
            return GrammarBuilder.literal("[") + (items.isEmpty() ? "" : " " + items) + " "
                    + GrammarBuilder.literal("]");
        }
        if (List.of("number", "integer", "boolean").contains(type)) return builder.value(schema, hint);
        return any(builder);
    }

    /** A character of a string: anything but the start of the closing mark. */
    private static String textChar(GrammarBuilder builder) {
        return builder.rule("gemma-char", "[^<] | \"<\" [^|] | \"<|\" [^\"] | \"<|\\\"\" [^|] | \"<|\\\"|\" [^>]");
    }

    /** Any Gemma value, for a schema that does not narrow it. */
    private static String any(GrammarBuilder builder) {
        String quote = GrammarBuilder.literal(QUOTE);
        String string = quote + " " + textChar(builder) + "* " + quote;
        String number = builder.value(JSON.objectNode().put("type", "number"), "gemma-number");
        String value = "gemma-value"; // the rule's own name, which its body refers to
        String key = "[A-Za-z_] [A-Za-z0-9_]*";
        String member = key + " \":\" " + value;
        return builder.rule(
                value,
                string + " | " + number + " | \"true\" | \"false\" | \"None\" | \"{\" ( " + member + " ( \",\" "
                        + member + " )* )? \"}\" | \"[\" ( " + value + " ( \",\" " + value + " )* )? \"]\"");
    }

    // ---- reading ----

    /** The members {@code key:value,…} from {@code at} up to {@code end} as an object; null when they do not read. */
    static ObjectNode readMembers(String text, int at, int end) {
        var reader = new Reader(text.substring(0, end));
        reader.at = at;
        ObjectNode members = reader.members('\0');
        return members != null && reader.at == end ? members : null;
    }

    private static final class Reader {
        private final String text;
        private int at;
        private int depth; // objects and arrays open, up to PythonLiteral.MAX_DEPTH

        Reader(String text) {
            this.text = text;
        }

        /**
         * Members up to {@code close} (or the end, for {@code \0}), the reader left on {@code close}; null when they do
         * not read (each member is followed by a comma or the close, so that the reader always moves on).
         */
        ObjectNode members(char close) {
            ObjectNode object = JSON.objectNode();
            while (at < text.length() && text.charAt(at) != close) {
                int colon = text.indexOf(':', at);
                if (colon < 0) return null;
                String key = text.substring(at, colon).strip();
                if (key.startsWith(QUOTE) && key.endsWith(QUOTE) && key.length() >= 2 * QUOTE.length())
                    key = key.substring(QUOTE.length(), key.length() - QUOTE.length());
                at = colon + 1;
                JsonNode value = value();
                if (value == null) return null;
                object.set(key, value);
                if (at < text.length() && text.charAt(at) == ',') at++;
                else if (at < text.length() && text.charAt(at) != close) return null;
            }
            return object;
        }

        /** An object, the reader on its '{'; null when it does not read. */
        private ObjectNode object() {
            at++;
            ObjectNode object = members('}');
            if (object == null || at >= text.length()) return null;
            at++;
            return object;
        }

        /** An array, the reader on its '['; null when it does not read. */
        private ArrayNode array() {
            at++;
            ArrayNode array = JSON.arrayNode();
            while (at < text.length() && text.charAt(at) != ']') {
                JsonNode item = value();
                if (item == null) return null;
                array.add(item);
                if (at < text.length() && text.charAt(at) == ',') at++;
                else if (at < text.length() && text.charAt(at) != ']') return null; // never stuck on a '}'
            }
            if (at >= text.length()) return null;
            at++;
            return array;
        }

        JsonNode value() {
            if (text.startsWith(QUOTE, at)) {
                int end = text.indexOf(QUOTE, at + QUOTE.length());
                if (end < 0) return null;
                String string = text.substring(at + QUOTE.length(), end);
                at = end + QUOTE.length();
                return JSON.textNode(string);
            }
            if (at >= text.length()) return null;
            char c = text.charAt(at);
            if (c == '{' || c == '[') {
                if (depth == PythonLiteral.MAX_DEPTH) return null;
                depth++;
                JsonNode nested = c == '{' ? object() : array();
                depth--;
                return nested;
            }
            int end = at;
            while (end < text.length() && ",}]".indexOf(text.charAt(end)) < 0) end++;
            if (end == at) return null; // no value where one should be
            String word = text.substring(at, end).strip();
            at = end;
            if (word.equals("None")) return JSON.nullNode();
            JsonNode json = ToolCallParser.parse(word);
            return json != null && json.isValueNode() ? json : JSON.textNode(word);
        }
    }
}
