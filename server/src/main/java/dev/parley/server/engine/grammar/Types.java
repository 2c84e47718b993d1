package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** The JSON types a schema admits, from {@code type} and {@code nullable}, or inferred from its keywords. */
final class Types {
    private Types() {}

    static final List<String> ALL = List.of("object", "array", "string", "number", "integer", "boolean", "null");

    /**
     * The types in a stable order. Without {@code type}, the types whose keywords appear (e.g. {@code properties}
     * → object); with none, every type. Inferring is narrower than JSON Schema, where such keywords leave other
     * types unconstrained, but what it produces is valid. A schema that constrains nothing gives {@code any}.
     */
    static List<String> of(JsonNode schema, Pointer at) {
        List<String> types = new ArrayList<>();
        JsonNode type = schema.get("type");
        if (type == null) {
            addIf(types, schema, Keywords.OBJECT, "object");
            addIf(types, schema, Keywords.ARRAY, "array");
            addIf(types, schema, Keywords.STRING, "string");
            addIf(types, schema, Keywords.NUMBER, "number");
            if (types.isEmpty()) {
                types.add("any");
            }
        } else if (type.isTextual()) {
            types.add(known(type, at.child("type")));
        } else if (type.isArray() && !type.isEmpty()) {
            for (int i = 0; i < type.size(); i++) {
                String name = known(type.get(i), at.child("type").child(i));
                if (!types.contains(name)) {
                    types.add(name);
                }
            }
        } else {
            throw SchemaException.invalid(at.child("type"), "must be a type name or a non-empty array of them");
        }
        JsonNode nullable = schema.get("nullable");
        if (nullable != null && !nullable.isBoolean()) {
            throw SchemaException.invalid(at.child("nullable"), "must be a boolean");
        }
        if (nullable != null && nullable.booleanValue() && !types.contains("null")) {
            types.add("null");
        }
        if (types.contains("number")) {
            types.remove("integer"); // every integer is a number
        }
        return types;
    }

    private static void addIf(List<String> types, JsonNode schema, Set<String> keywords, String type) {
        if (keywords.stream().anyMatch(schema::has)) {
            types.add(type);
        }
    }

    private static String known(JsonNode type, Pointer at) {
        if (!type.isTextual() || !ALL.contains(type.asText())) {
            throw SchemaException.invalid(at, "unknown type " + type);
        }
        return type.asText();
    }

    /** Whether {@code value} is of JSON Schema type {@code type}. */
    static boolean matches(JsonNode value, String type) {
        return switch (type) {
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "string" -> value.isTextual();
            case "number" -> value.isNumber();
            case "integer" ->
                value.isIntegralNumber()
                        || (value.isNumber()
                                && value.decimalValue().stripTrailingZeros().scale() <= 0);
            case "boolean" -> value.isBoolean();
            case "null" -> value.isNull();
            default -> false;
        };
    }
}
