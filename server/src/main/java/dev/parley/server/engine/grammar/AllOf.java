package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code allOf} where every member is an object schema: the intersection is the union of their properties and
 * required names, provided members agree on a shared property's schema. A member closed with
 * {@code additionalProperties: false} removes the properties it does not declare (refused if one is required).
 * Anything else in a member is refused: a general intersection of schemas is not spelled.
 */
record AllOf(Map<String, ObjectGrammar.Property> properties, List<String> required, JsonNode additional) {
    private static final Set<String> MEMBER_KEYWORDS =
            Set.of("type", "properties", "required", "additionalProperties", "allOf", "$ref");

    static AllOf merge(SchemaConverter converter, JsonNode schema, Pointer at) {
        List<Member> members = new ArrayList<>();
        flatten(converter, schema, at, members, new HashSet<>());
        Map<String, ObjectGrammar.Property> properties = new LinkedHashMap<>();
        Set<String> required = new LinkedHashSet<>();
        boolean allOpen = true;
        for (Member member : members) {
            JsonNode declared = member.schema().get("properties");
            if (declared != null) {
                for (String name : SchemaConverter.names(declared)) {
                    Pointer where = member.at().child("properties").child(name);
                    ObjectGrammar.Property previous =
                            properties.putIfAbsent(name, new ObjectGrammar.Property(declared.get(name), where));
                    if (previous != null && !previous.schema().equals(declared.get(name))) {
                        throw SchemaException.unsupported(
                                where, "allOf members give property '" + name + "' different schemas");
                    }
                }
            }
            required.addAll(ObjectGrammar.required(member.schema(), member.at()));
            JsonNode additional = member.schema().get("additionalProperties");
            if (additional != null && !additional.isBoolean()) {
                throw SchemaException.unsupported(
                        member.at().child("additionalProperties"), "a schema for additionalProperties inside allOf");
            }
            allOpen &= additional != null && additional.booleanValue();
        }
        for (Member member : members) {
            JsonNode additional = member.schema().get("additionalProperties");
            if (additional != null && !additional.booleanValue()) {
                JsonNode declared = member.schema().get("properties");
                properties.keySet().removeIf(name -> declared == null || !declared.has(name));
            }
        }
        for (String name : required) {
            if (!properties.containsKey(name)) {
                throw SchemaException.unsupported(
                        at.child("allOf"), "required property '" + name + "' is not allowed by every allOf member");
            }
        }
        return new AllOf(properties, List.copyOf(required), allOpen ? BooleanNode.TRUE : null);
    }

    String build(SchemaConverter converter, Pointer at, String hint) {
        return ObjectGrammar.build(converter, properties, required, additional, at, hint);
    }

    private record Member(JsonNode schema, Pointer at) {}

    private static void flatten(
            SchemaConverter converter, JsonNode schema, Pointer at, List<Member> members, Set<String> seenRefs) {
        if (!schema.isObject()) {
            throw SchemaException.unsupported(at, "allOf members must be object schemas");
        }
        for (String keyword : SchemaConverter.names(schema)) {
            if (!MEMBER_KEYWORDS.contains(keyword) && !Keywords.ANNOTATIONS.contains(keyword)) {
                throw SchemaException.unsupported(
                        at.child(keyword), "only merges of object schemas are supported in allOf");
            }
        }
        JsonNode type = schema.get("type");
        if (type != null && !(type.isTextual() && type.asText().equals("object"))) {
            throw SchemaException.unsupported(at.child("type"), "allOf members must be of type object");
        }
        if (schema.has("$ref")) {
            Pointer target = converter.target(schema.get("$ref"), at.child("$ref"));
            if (!seenRefs.add(target.toString())) {
                throw SchemaException.unsupported(at.child("$ref"), "allOf refers to itself");
            }
            flatten(converter, converter.resolve(target, at.child("$ref")), target, members, seenRefs);
        }
        members.add(new Member(schema, at));
        JsonNode allOf = schema.get("allOf");
        if (allOf != null) {
            if (!allOf.isArray() || allOf.isEmpty()) {
                throw SchemaException.invalid(at.child("allOf"), "must be a non-empty array of schemas");
            }
            for (int i = 0; i < allOf.size(); i++) {
                flatten(converter, allOf.get(i), at.child("allOf").child(i), members, seenRefs);
            }
        }
    }
}
