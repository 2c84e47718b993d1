package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code oneOf} wants exactly one branch to match, which a grammar cannot count; so it is spelled as
 * {@code anyOf}, and accepted only when no value can match two branches. Disjointness is proved cheaply, or the
 * schema is refused: branches of different JSON types, different constants, objects whose shared required
 * property has different constants (a discriminator), or objects where one requires a key the other forbids.
 */
final class OneOf {
    private OneOf() {}

    static void requireDisjoint(SchemaConverter converter, JsonNode branches, Pointer at) {
        for (int i = 0; i < branches.size(); i++) {
            for (int j = i + 1; j < branches.size(); j++) {
                JsonNode a = resolve(converter, branches.get(i), at.child(i));
                JsonNode b = resolve(converter, branches.get(j), at.child(j));
                if (!disjoint(converter, a, b, at)) {
                    throw SchemaException.unsupported(
                            at,
                            "branches " + i + " and " + j
                                    + " may both match a value, and a grammar cannot exclude it; use anyOf, or give each branch a distinct const");
                }
            }
        }
    }

    private static boolean disjoint(SchemaConverter converter, JsonNode a, JsonNode b, Pointer at) {
        if (SchemaConverter.isFalse(a) || SchemaConverter.isFalse(b)) return true; // matches nothing
        Set<String> typesA = types(converter, a, at);
        Set<String> typesB = types(converter, b, at);
        if (typesA.stream().noneMatch(typesB::contains)) {
            return true;
        }
        Set<JsonNode> valuesA = values(a);
        Set<JsonNode> valuesB = values(b);
        if (valuesA != null && valuesB != null && valuesA.stream().noneMatch(valuesB::contains)) {
            return true;
        }
        if (!a.isObject() || !b.isObject() || !a.has("properties") || !b.has("properties")) {
            return false;
        }
        List<String> requiredA = ObjectGrammar.required(a, at);
        List<String> requiredB = ObjectGrammar.required(b, at);
        for (String name : requiredA) {
            if (requiredB.contains(name)) {
                Set<JsonNode> x = values(resolve(converter, a.get("properties").path(name), at));
                Set<JsonNode> y = values(resolve(converter, b.get("properties").path(name), at));
                if (x != null && y != null && x.stream().noneMatch(y::contains)) {
                    return true; // a discriminator
                }
            }
        }
        return forbidsOneOf(b, requiredA) || forbidsOneOf(a, requiredB);
    }

    /**
     * Whether {@code schema} is closed ({@code additionalProperties: false}) and forbids a key in {@code keys}. An
     * absent additionalProperties does not count: the grammar writes no extra key, but the schema admits them.
     */
    private static boolean forbidsOneOf(JsonNode schema, List<String> keys) {
        JsonNode additional = schema.get("additionalProperties");
        boolean closed = SchemaConverter.isFalse(additional);
        return closed && keys.stream().anyMatch(key -> !schema.get("properties").has(key));
    }

    /** The JSON types a branch can produce, integer counted as number. */
    private static Set<String> types(SchemaConverter converter, JsonNode schema, Pointer at) {
        Set<String> types = new HashSet<>();
        if (!schema.isObject()) {
            types.addAll(Types.ALL);
        } else if (values(schema) != null) {
            for (JsonNode value : values(schema)) {
                Types.ALL.stream().filter(type -> Types.matches(value, type)).forEach(types::add);
            }
        } else if (schema.has("anyOf") || schema.has("oneOf")) {
            for (JsonNode branch : schema.has("anyOf") ? schema.get("anyOf") : schema.get("oneOf")) {
                types.addAll(types(converter, resolve(converter, branch, at), at));
            }
        } else if (schema.has("allOf")) {
            types.add("object");
        } else {
            for (String type : Types.of(schema, at)) {
                types.addAll(type.equals("any") ? Types.ALL : List.of(type));
            }
        }
        if (types.remove("integer")) {
            types.add("number");
        }
        return types;
    }

    /** The values of {@code const} or {@code enum}, or null when the schema has neither. */
    private static Set<JsonNode> values(JsonNode schema) {
        if (schema.has("const")) {
            return Set.of(schema.get("const"));
        }
        if (schema.has("enum") && schema.get("enum").isArray()) {
            Set<JsonNode> values = new LinkedHashSet<>();
            schema.get("enum").forEach(values::add);
            return values;
        }
        return null;
    }

    /** Follows {@code $ref}s to the schema they name (a cycle of bare references ends the walk where it started). */
    private static JsonNode resolve(SchemaConverter converter, JsonNode schema, Pointer at) {
        Set<String> seen = new HashSet<>();
        while (schema.isObject() && schema.has("$ref")) {
            Pointer target = converter.target(schema.get("$ref"), at);
            if (!seen.add(target.toString())) {
                return schema;
            }
            schema = converter.resolve(target, at);
        }
        return schema;
    }
}
