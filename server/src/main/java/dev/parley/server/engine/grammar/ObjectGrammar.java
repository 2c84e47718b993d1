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
 * <p>Keys come in a fixed order, as llama.cpp writes them: required properties in declared order, then any of
 * the optional ones in declared order, then extra keys if {@code additionalProperties} allows them. Without
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
            return Primitives.use(converter.rules, "object"); // a bare {"type": "object"} is any object, as in llama.cpp
        }
        Map<String, Property> properties = new LinkedHashMap<>();
        JsonNode declared = schema.get("properties");
        if (declared != null) {
            if (!declared.isObject()) {
                throw SchemaException.invalid(at.child("properties"), "must be an object");
            }
            for (String name : SchemaConverter.names(declared)) {
                properties.put(name, new Property(declared.get(name), at.child("properties").child(name)));
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
    static String build(SchemaConverter converter, Map<String, Property> properties, List<String> required, JsonNode additional, Pointer at,
            String hint) {
        Rules rules = converter.rules;
        if (properties.size() > Limits.MAX_ALTERNATIVES) {
            throw SchemaException.tooLarge(at.child("properties"), "more than " + Limits.MAX_ALTERNATIVES + " properties");
        }
        for (int i = 0; i < required.size(); i++) {
            if (!properties.containsKey(required.get(i))) {
                throw SchemaException.unsupported(at.child("required").child(i),
                        "required property '" + required.get(i) + "' must be declared in properties");
            }
        }
        String space = Primitives.use(rules, Primitives.SPACE);
        Map<String, String> members = new LinkedHashMap<>(); // property → its "key": value rule
        for (var entry : properties.entrySet()) {
            String name = entry.getKey();
            Property property = entry.getValue();
            String value = converter.rule(property.schema(), property.at(), hint + "-" + name, Set.of());
            members.put(name, rules.add(hint + "-" + name + "-kv", Gbnf.literal(key(name)) + " " + space + " \":\" " + space + " " + value));
        }
        List<String> optional = new ArrayList<>();
        properties.keySet().stream().filter(name -> !required.contains(name)).forEach(name -> optional.add(members.get(name)));
        boolean extras = additional != null && !(additional.isBoolean() && !additional.booleanValue());
        if (extras) {
            String value = additional.isBoolean() ? Primitives.use(rules, "value")
                    : converter.rule(additional, at.child("additionalProperties"), hint + "-additional", Set.of());
            String key = rules.add(hint + "-additional-key", ExtraKeys.excluding(properties.keySet(), rules));
            optional.add(rules.add(hint + "-additional-kv", key + " " + space + " \":\" " + space + " " + value));
        }
        if (required.isEmpty() && optional.isEmpty()) {
            return "\"{\" " + space + " \"}\"";
        }
        String comma = "\",\" " + space + " ";
        // tails[i]: optional members i.. each present or not, each after a comma; the extra-key member repeats.
        // Without required members the first one written has no comma before it, so tails[0] is never used.
        String[] tails = new String[optional.size() + 1];
        String tail = "";
        List<String> optionalNames = new ArrayList<>(properties.keySet().stream().filter(name -> !required.contains(name)).toList());
        if (extras) {
            optionalNames.add("additional");
        }
        for (int i = optional.size() - 1; i >= (required.isEmpty() ? 1 : 0); i--) {
            boolean repeats = extras && i == optional.size() - 1;
            String step = "( " + comma + optional.get(i) + " )" + (repeats ? "*" : "?");
            tail = rules.add(hint + "-from-" + optionalNames.get(i), tail.isEmpty() ? step : step + " " + tail);
            tails[i] = tail;
        }
        String after = optional.isEmpty() ? "" : " " + tails[0];
        if (!required.isEmpty()) {
            List<String> first = required.stream().map(members::get).toList();
            return "\"{\" " + space + " " + String.join(" " + comma, first) + after + " " + space + " \"}\"";
        }
        // No required member: the first member written is one of the optional ones, the rest follow its tail.
        List<String> starts = new ArrayList<>();
        for (int i = 0; i < optional.size(); i++) {
            String rest = tails[i + 1] == null ? "" : " " + tails[i + 1];
            boolean repeats = extras && i == optional.size() - 1;
            starts.add(optional.get(i) + (repeats ? " ( " + comma + optional.get(i) + " )*" : "") + rest);
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
