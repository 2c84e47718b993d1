package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code const} and {@code enum}: each value spelled as compact JSON. A value beside {@code type} counts only
 * if it has that type; other constraining keywords beside them are refused rather than checked.
 */
final class Literals {
    private Literals() {}

    static String of(SchemaConverter converter, JsonNode schema, Pointer at) {
        String keyword = schema.has("const") ? "const" : "enum";
        SchemaConverter.onlyBeside(schema, at, keyword, Set.of("type", "nullable"));
        if (schema.has("const") && schema.has("enum")) {
            throw SchemaException.unsupported(at.child("enum"), "'enum' beside 'const' is not supported");
        }
        List<JsonNode> values = new ArrayList<>();
        if (keyword.equals("const")) {
            values.add(schema.get("const"));
        } else {
            JsonNode array = schema.get("enum");
            if (!array.isArray() || array.isEmpty()) {
                throw SchemaException.invalid(at.child("enum"), "must be a non-empty array");
            }
            if (array.size() > Limits.MAX_ALTERNATIVES) {
                throw SchemaException.tooLarge(at.child("enum"), "more than " + Limits.MAX_ALTERNATIVES + " values");
            }
            array.forEach(values::add);
        }
        List<String> types = schema.has("type") || schema.has("nullable") ? Types.of(schema, at) : Types.ALL;
        Set<String> spelled = new LinkedHashSet<>();
        for (JsonNode value : values) {
            if (types.stream().anyMatch(type -> Types.matches(value, type))) {
                spelled.add(Gbnf.literal(converter.rules.spell(value)));
            }
        }
        if (spelled.isEmpty()) {
            throw SchemaException.invalid(at.child(keyword), "no value has the schema's type");
        }
        return String.join(" | ", spelled);
    }
}
