package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;

/** Strings: free, bounded in length, matching a {@code pattern}, or in one of {@link Primitives#FORMATS}. */
final class Strings {
    private Strings() {}

    static String of(SchemaConverter converter, JsonNode schema, Pointer at, String hint) {
        Rules rules = converter.rules;
        if (schema.has("format")) {
            only(schema, at, "format");
            return quoted(format(rules, schema.get("format"), at));
        }
        if (schema.has("pattern")) {
            JsonNode pattern = schema.get("pattern");
            if (!pattern.isTextual()) {
                throw SchemaException.invalid(at.child("pattern"), "must be a string");
            }
            only(schema, at, "pattern");
            return quoted(RegexGrammar.contents(pattern.asText(), rules, hint + "-pattern", at.child("pattern")));
        }
        int min = Math.max(0, SchemaConverter.count(schema, at, "minLength"));
        int max = SchemaConverter.count(schema, at, "maxLength");
        if (min == 0 && max == -1) {
            return Primitives.use(rules, "string");
        }
        if (max != -1 && max < min) {
            throw SchemaException.invalid(at.child("maxLength"), "maxLength is below minLength");
        }
        String chars = Repetition.of(rules, hint + "-chars", Primitives.use(rules, "char"), min, max);
        return chars.isEmpty() ? "\"\\\"\\\"\"" : quoted(chars);
    }

    /** The rule spelling a {@code format}'s values (without quotes); one the grammar cannot spell is refused. */
    static String format(Rules rules, JsonNode format, Pointer at) {
        if (!format.isTextual() || !Primitives.FORMATS.contains(format.asText())) {
            throw SchemaException.unsupported(
                    at.child("format"),
                    "format " + format + " cannot be enforced; supported: " + String.join(", ", Primitives.FORMATS));
        }
        return Primitives.use(rules, format.asText());
    }

    /** Refuses the other string keywords beside {@code keyword}: their intersection is not spelled. */
    private static void only(JsonNode schema, Pointer at, String keyword) {
        for (String other : Set.of("format", "pattern", "minLength", "maxLength")) {
            if (!other.equals(keyword) && schema.has(other)) {
                throw SchemaException.unsupported(
                        at.child(other), "'" + other + "' beside '" + keyword + "' is not supported");
            }
        }
    }

    private static String quoted(String contents) {
        return "\"\\\"\" " + contents + " \"\\\"\"";
    }
}
