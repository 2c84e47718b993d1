package dev.parley.server.engine.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.server.engine.grammar.GrammarBuilder;
import dev.parley.server.engine.grammar.PythonLiteral;
import java.util.ArrayList;
import java.util.List;

/**
 * Arguments as nested XML, as MiniMax M3 writes them: each key an element ({@code <key>value</key>}), an object's
 * members elements inside it, an array's items {@code <item>} elements, a string as raw text, a number or boolean as
 * its JSON text, a null left out. Every tag is preceded by a marker ({@code ]<]minimax[>[}), which a string may not
 * hold.
 */
final class NestedXml {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final String ITEM = "item";

    /** MiniMax M3's: its tags' marker is {@code ]<]minimax[>[}. */
    static final NestedXml MINIMAX = new NestedXml("]<]minimax[>[");

    private final String marker;

    NestedXml(String marker) {
        this.marker = marker;
    }

    // ---- writing ----

    /**
     * {@code arguments}' members as elements, each value as the grammar has it for its part of {@code schema} (the
     * function's parameters; null when not known, then by the value's own type): nested elements for an object with
     * properties and an array of a schema, raw text for a string, JSON for any other (a null is {@code null}).
     */
    String write(JsonNode arguments, JsonNode schema) {
        StringBuilder out = new StringBuilder();
        writeMembers(arguments, schema, out);
        return out.toString();
    }

    private void writeMembers(JsonNode object, JsonNode schema, StringBuilder out) {
        for (var member : object.properties()) {
            JsonNode property =
                    schema == null ? null : schema.path("properties").get(member.getKey());
            element(member.getKey(), member.getValue(), property, out);
        }
    }

    private void element(String tag, JsonNode value, JsonNode schema, StringBuilder out) {
        out.append(marker).append('<').append(tag).append('>');
        String type = schema == null ? "" : schema.path("type").asText("");
        boolean nested = schema == null
                || type.equals("object") && schema.path("properties").isObject()
                || type.equals("array") && schema.path("items").isObject();
        boolean raw = value.isTextual() && (schema == null || ToolSyntax.isString(schema));
        if (value.isObject() && nested) writeMembers(value, schema, out);
        else if (value.isArray() && nested)
            value.forEach(item -> element(ITEM, item, schema == null ? null : schema.get("items"), out));
        else out.append(raw ? value.asText() : value.toString());
        out.append(marker).append("</").append(tag).append('>');
    }

    // ---- the grammar ----

    /**
     * The grammar of an object's members as elements: {@code schema}'s properties in order, the required ones always,
     * the others optionally; each value as {@link #value} spells it.
     */
    String members(GrammarBuilder builder, JsonNode schema, String hint) {
        JsonNode properties = schema.path("properties");
        if (!properties.isObject()) return "";
        List<String> required = ArgumentGrammar.required(schema);
        List<String> pieces = new ArrayList<>();
        for (var property : properties.properties()) {
            String key = property.getKey();
            String piece = elementGrammar(builder, key, property.getValue(), hint + "-" + key);
            pieces.add(required.contains(key) ? piece : "( " + piece + " )?");
        }
        return String.join(" ", pieces);
    }

    private String elementGrammar(GrammarBuilder builder, String tag, JsonNode schema, String hint) {
        return GrammarBuilder.literal(marker + "<" + tag + ">") + " " + value(builder, schema, hint) + " "
                + GrammarBuilder.literal(marker + "</" + tag + ">");
    }

    /**
     * A value's grammar: an object with properties as its members' elements, an array of a schema as {@code <item>}
     * elements (its {@code minItems} and {@code maxItems} honoured), a string as raw text without the marker (its
     * {@code enum}, {@code const} and length honoured; with a {@code maxLength}, without {@code ]}), any other as the
     * JSON its schema accepts.
     */
    private String value(GrammarBuilder builder, JsonNode schema, String hint) {
        String type = schema.path("type").asText("");
        if (ToolSyntax.isString(schema)) {
            String choices = ArgumentGrammar.choices(schema, text -> text);
            if (choices != null) return choices;
            String raw = builder.rawString(schema, hint);
            if (raw != null) return raw;
            // Counted exactly, a bounded string holds no "]" at all.
            if (schema.has("maxLength")) return "[^\\]]" + ArgumentGrammar.length(schema);
            int min = schema.path("minLength").asInt(0);
            // Any text without "]<": a run of "]" is followed by another character than "<", or ends the text.
            String text = builder.rule("nested-char", "[^\\]] | \"]\"+ [^<\\]]");
            return text + "{" + min + ",} \"]\"*";
        }
        if (type.equals("object") && schema.path("properties").isObject()) {
            String members = members(builder, schema, hint);
            return members.isEmpty() ? "" : builder.rule(hint, members);
        }
        if (type.equals("array") && schema.path("items").isObject()) {
            String item = builder.rule(hint + "-item", elementGrammar(builder, ITEM, schema.get("items"), hint + "-i"));
            int min = schema.path("minItems").asInt(0);
            int max = schema.path("maxItems").asInt(-1);
            return item + (max >= 0 ? "{" + min + "," + max + "}" : "{" + min + ",}");
        }
        return builder.value(schema, hint);
    }

    // ---- reading ----

    /** The arguments object of a call's elements, read by the function's parameters schema (null: none known). */
    ObjectNode read(String body, JsonNode schema) {
        var reader = new Reader(body);
        JsonNode value =
                reader.elements(schema != null ? schema : JSON.objectNode().put("type", "object"), false);
        return value instanceof ObjectNode object ? object : JSON.objectNode();
    }

    private final class Reader {
        private final String text;
        private int at;
        private int depth; // elements open, up to PythonLiteral.MAX_DEPTH; deeper ones are read as text

        Reader(String text) {
            this.text = text;
        }

        /**
         * The elements from here to the end of the enclosing one, as an object (or, for an array's schema, or items
         * where no schema tells, an array).
         */
        JsonNode elements(JsonNode schema, boolean inside) {
            ObjectNode object = JSON.objectNode();
            ArrayNode array = JSON.arrayNode();
            boolean items = schema != null ? schema.path("type").asText("").equals("array") : false;
            boolean any = false;
            while (true) {
                int open = text.indexOf(marker + "<", at);
                if (open < 0) break;
                int tagFrom = open + marker.length() + 1;
                if (text.startsWith("/", tagFrom)) break; // the enclosing element closes
                int tagTo = text.indexOf('>', tagFrom);
                if (tagTo < 0) break;
                String tag = text.substring(tagFrom, tagTo);
                at = tagTo + 1;
                if (!any && schema == null) items = tag.equals(ITEM);
                any = true;
                JsonNode child = schema == null
                        ? null
                        : items
                                ? schema.get("items")
                                : schema.path("properties").get(tag);
                JsonNode value = element(child);
                if (items) array.add(value);
                else object.set(tag, value);
                String close = marker + "</" + tag + ">";
                if (text.startsWith(close, at)) at += close.length();
                else if (inside) break;
            }
            return items ? array : object;
        }

        /** One element's value, from just after its opening tag to just before its closing one. */
        private JsonNode element(JsonNode schema) {
            if (text.startsWith(marker + "<", at)
                    && !text.startsWith(marker + "</", at)
                    && depth < PythonLiteral.MAX_DEPTH) {
                depth++;
                JsonNode nested = elements(schema, true);
                depth--;
                return nested;
            }
            int end = text.indexOf(marker + "</", at);
            if (end < 0) end = text.length();
            String raw = text.substring(at, end);
            at = end;
            if (schema != null && ToolSyntax.isString(schema)) return JSON.textNode(raw);
            if (schema != null) {
                String type = schema.path("type").asText("");
                if (raw.isEmpty() && type.equals("object")) return JSON.objectNode();
                if (raw.isEmpty() && type.equals("array")) return JSON.arrayNode();
            }
            JsonNode json = ToolCallParser.parse(raw);
            return json != null && !json.isMissingNode() ? json : JSON.textNode(raw);
        }
    }
}
