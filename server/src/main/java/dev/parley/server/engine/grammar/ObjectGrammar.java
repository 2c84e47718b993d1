package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Objects with {@code properties}, {@code required} and {@code additionalProperties}, and {@code allOf} merges
 * of such objects.
 *
 * <p>Keys come in a fixed order, as llama.cpp writes them: required properties in the order {@code properties}
 * declares them, then any of the optional ones in that order, then extra keys if {@code additionalProperties} allows them. Without
 * {@code additionalProperties} no extra key is written (JSON Schema would allow any; llama.cpp and OpenAI's
 * strict mode write none), unless the object declares nothing at all: then it is any object. Extra keys never
 * spell a declared key, and use no escapes, so that an escape cannot spell one either.
 */
final class ObjectGrammar {
    private ObjectGrammar() {}

    /** One property: its schema and where that schema is. */
    record Property(JsonNode schema, Pointer at) {}

    static String of(SchemaConverter converter, JsonNode schema, Pointer at, String hint) {
        if (Keywords.OBJECT.stream().noneMatch(schema::has)) {
            return Primitives.use(
                    converter.rules, "object"); // a bare {"type": "object"} is any object, as in llama.cpp
        }
        Map<String, Property> properties = new LinkedHashMap<>();
        JsonNode declared = schema.get("properties");
        if (declared != null) {
            if (!declared.isObject()) {
                throw SchemaException.invalid(at.child("properties"), "must be an object");
            }
            for (String name : SchemaConverter.names(declared)) {
                properties.put(
                        name,
                        new Property(declared.get(name), at.child("properties").child(name)));
            }
        }
        return build(converter, properties, required(schema, at), schema.get("additionalProperties"), at, hint);
    }

    /** {@code allOf} of object schemas (and {@code $ref}s to them), with the schema's own object keywords. */
    static String merged(SchemaConverter converter, JsonNode schema, Pointer at, String hint) {
        return AllOf.merge(converter, schema, at).build(converter, at, hint);
    }

    static List<String> required(JsonNode schema, Pointer at) {
        JsonNode required = schema.get("required");
        if (required == null) {
            return List.of();
        }
        if (!required.isArray()) {
            throw SchemaException.invalid(at.child("required"), "must be an array of property names");
        }
        Set<String> names = new LinkedHashSet<>();
        for (int i = 0; i < required.size(); i++) {
            if (!required.get(i).isTextual()) {
                throw SchemaException.invalid(at.child("required").child(i), "must be a property name");
            }
            names.add(required.get(i).asText());
        }
        return List.copyOf(names);
    }

    /** {@code additional}: null when absent (no extra keys), else {@code additionalProperties}'s value. */
    static String build(
            SchemaConverter converter,
            Map<String, Property> properties,
            List<String> required,
            JsonNode additional,
            Pointer at,
            String hint) {
        Rules rules = converter.rules;
        if (properties.size() > Limits.MAX_ALTERNATIVES) {
            throw SchemaException.tooLarge(
                    at.child("properties"), "more than " + Limits.MAX_ALTERNATIVES + " properties");
        }
        for (int i = 0; i < required.size(); i++) {
            if (!properties.containsKey(required.get(i))) {
                throw SchemaException.unsupported(
                        at.child("required").child(i),
                        "required property '" + required.get(i) + "' must be declared in properties");
            }
        }
        String space = Primitives.use(rules, Primitives.SPACE);
        List<String> first = new ArrayList<>();
        List<Member> optional = new ArrayList<>();
        for (var entry : properties.entrySet()) {
            String name = entry.getKey();
            JsonNode schema = entry.getValue().schema();
            // An optional property of schema false may not appear: it is left out, and not an extra key either.
            if (SchemaConverter.isFalse(schema) && !required.contains(name)) continue;
            String value = converter.rule(schema, entry.getValue().at(), hint + "-" + name, Set.of());
            String member = rules.add(
                    hint + "-" + name + "-kv", Gbnf.literal(key(name)) + " " + space + " \":\" " + space + " " + value);
            if (required.contains(name)) {
                first.add(member);
            } else {
                optional.add(new Member(name, member, false));
            }
        }
        if (additional != null && !SchemaConverter.isFalse(additional)) {
            String value = additional.isBoolean()
                    ? Primitives.use(rules, "value")
                    : converter.rule(additional, at.child("additionalProperties"), hint + "-additional", Set.of());
            String key = rules.add(hint + "-additional-key", ExtraKeys.excluding(properties.keySet(), rules));
            optional.add(new Member(
                    "additional",
                    rules.add(hint + "-additional-kv", key + " " + space + " \":\" " + space + " " + value),
                    true));
        }
        return layout(rules, space, first, optional, hint);
    }

    /** One optional member: its rule, and whether it may repeat (the extra keys). */
    private record Member(String name, String rule, boolean repeats) {}

    /** {@code "{"}, the required members in order, then the optional ones each present or not, then {@code "}"}. */
    private static String layout(Rules rules, String space, List<String> required, List<Member> optional, String hint) {
        if (required.isEmpty() && optional.isEmpty()) {
            return "\"{\" " + space + " \"}\"";
        }
        String comma = "\",\" " + space + " ";
        // tails[i]: optional members i.. each present or not, each after a comma. Without required members the
        // first one written has no comma before it, so tails[0] is never used and not made.
        String[] tails = new String[optional.size() + 1];
        String tail = "";
        for (int i = optional.size() - 1; i >= (required.isEmpty() ? 1 : 0); i--) {
            Member member = optional.get(i);
            String step = "( " + comma + member.rule() + " )" + (member.repeats() ? "*" : "?");
            tail = rules.add(hint + "-from-" + member.name(), tail.isEmpty() ? step : step + " " + tail);
            tails[i] = tail;
        }
        if (!required.isEmpty()) {
            String after = optional.isEmpty() ? "" : " " + tails[0];
            return "\"{\" " + space + " " + String.join(" " + comma, required) + after + " " + space + " \"}\"";
        }
        // No required member: the first member written is one of the optional ones, the rest follow its tail.
        List<String> starts = new ArrayList<>();
        for (int i = 0; i < optional.size(); i++) {
            Member member = optional.get(i);
            String again = member.repeats() ? " ( " + comma + member.rule() + " )*" : "";
            starts.add(member.rule() + again + (tails[i + 1] == null ? "" : " " + tails[i + 1]));
        }
        return "\"{\" " + space + " ( ( " + String.join(" | ", starts) + " ) " + space + " )? \"}\"";
    }

    /** A property name as it appears in JSON text, quotes included. */
    static String key(String name) {
        StringBuilder out = new StringBuilder("\"");
        name.codePoints().forEach(cp -> out.append(RegexGrammar.json(cp)));
        return out.append('"').toString();
    }
}
