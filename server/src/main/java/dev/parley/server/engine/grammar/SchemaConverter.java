package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Walks one schema and writes its grammar into {@link Rules}. Each schema becomes an expression; named rules
 * are made for properties, items, branches and {@code $ref} targets. Not thread-safe: one instance converts one
 * schema, then is dropped.
 *
 * <p>Left recursion would make llama.cpp refuse the grammar, so every {@code $ref} entered since the last
 * character the grammar must consume (an object's {@code {} or an array's {@code [}) is tracked, and meeting
 * one of them again is refused.
 */
final class SchemaConverter {
    private static final int MAX_ACTIVE = 256;

    final JsonNode root;
    final Rules rules;
    private final Map<String, String> refRules = new HashMap<>(); // target pointer → rule name
    private int active; // nested visits, $ref targets included

    SchemaConverter(JsonNode root) {
        this(root, new Rules());
    }

    /** A converter adding its rules to {@code rules}, which other converters may share. */
    SchemaConverter(JsonNode root, Rules rules) {
        this.root = root;
        this.rules = rules;
    }

    /** The grammar whose {@code root} rule spells the values {@code root} accepts. */
    String convert() {
        String name = rules.reserve("root");
        refRules.put("", name);
        rules.define(name, visit(root, Pointer.ROOT, name, Set.of("")));
        return rules.render();
    }

    /** Adds the rules for the schema's values to the shared rules; returns the name of the rule that spells them. */
    String convertInto(String hint) {
        String name = rules.reserve(hint);
        refRules.put("", name);
        rules.define(name, visit(root, Pointer.ROOT, name, Set.of("")));
        return name;
    }

    /** A rule name for {@code schema}'s values: a fixed rule's own name, or a new rule named after {@code hint}. */
    String rule(JsonNode schema, Pointer at, String hint, Set<String> pendingRefs) {
        String body = visit(schema, at, hint, pendingRefs);
        return rules.has(body) ? body : rules.add(hint, body);
    }

    /** The GBNF expression for {@code schema}'s values. {@code pendingRefs}: refs entered since input was last consumed. */
    String visit(JsonNode schema, Pointer at, String hint, Set<String> pendingRefs) {
        if (at.depth() > Limits.MAX_DEPTH || active >= MAX_ACTIVE) {
            throw SchemaException.tooLarge(at, "schema nested deeper than " + Limits.MAX_DEPTH + " levels");
        }
        active++;
        try {
            return dispatch(schema, at, hint, pendingRefs);
        } finally {
            active--;
        }
    }

    /** Whether {@code node} is the JSON value false (as a schema, the one that admits no value); false for null. */
    static boolean isFalse(JsonNode node) {
        return node != null && node.isBoolean() && !node.booleanValue();
    }

    private String dispatch(JsonNode schema, Pointer at, String hint, Set<String> pendingRefs) {
        if (schema.isBoolean()) {
            if (!schema.booleanValue()) {
                throw SchemaException.invalid(at, "the schema false admits no value, so nothing could be written");
            }
            return Primitives.use(rules, "value");
        }
        if (!schema.isObject()) {
            throw SchemaException.invalid(at, "a schema must be an object or a boolean");
        }
        for (String keyword : names(schema)) {
            if (!Keywords.KNOWN.contains(keyword)) {
                throw SchemaException.unsupported(at.child(keyword));
            }
        }
        if (schema.has("$ref")) {
            onlyBeside(schema, at, "$ref", Set.of());
            return ref(schema.get("$ref"), at.child("$ref"), pendingRefs);
        }
        if (schema.has("const") || schema.has("enum")) {
            return Literals.of(this, schema, at);
        }
        for (String keyword : List.of("anyOf", "oneOf")) {
            if (schema.has(keyword)) {
                onlyBeside(schema, at, keyword, Set.of());
                String spelled = alternatives(schema.get(keyword), at.child(keyword), hint, pendingRefs);
                if (keyword.equals("oneOf")) {
                    OneOf.requireDisjoint(this, schema.get(keyword), at.child(keyword));
                }
                return spelled;
            }
        }
        if (schema.has("allOf")) {
            JsonNode allOf = schema.get("allOf");
            boolean alone = names(schema).stream().allMatch(k -> k.equals("allOf") || Keywords.ANNOTATIONS.contains(k));
            if (alone && allOf.isArray() && allOf.size() == 1) {
                // {"allOf": [{"$ref": ...}], "description": ...}: how generators attach a description to a reference.
                return visit(allOf.get(0), at.child("allOf").child(0), hint, pendingRefs);
            }
            return ObjectGrammar.merged(this, schema, at, hint);
        }
        List<String> types = Types.of(schema, at);
        if (types.size() == 1) {
            return typed(types.getFirst(), schema, at, hint);
        }
        List<String> names = new ArrayList<>();
        for (String type : types) {
            String body = typed(type, schema, at, hint + "-" + type);
            names.add(rules.has(body) ? body : rules.add(hint + "-" + type, body));
        }
        return String.join(" | ", names);
    }

    private String typed(String type, JsonNode schema, Pointer at, String hint) {
        return switch (type) {
            case "null", "boolean" -> Primitives.use(rules, type);
            case "any" -> Primitives.use(rules, "value");
            case "integer" -> Numbers.integer(this, schema, at);
            case "number" -> Numbers.number(this, schema, at);
            case "string" -> Strings.of(this, schema, at, hint);
            case "object" -> ObjectGrammar.of(this, schema, at, hint);
            case "array" -> ArrayGrammar.of(this, schema, at, hint);
            default -> throw new IllegalStateException(type);
        };
    }

    private String alternatives(JsonNode branches, Pointer at, String hint, Set<String> pendingRefs) {
        if (!branches.isArray() || branches.isEmpty()) {
            throw SchemaException.invalid(at, "must be a non-empty array of schemas");
        }
        if (branches.size() > Limits.MAX_ALTERNATIVES) {
            throw SchemaException.tooLarge(at, "more than " + Limits.MAX_ALTERNATIVES + " branches");
        }
        // oneOf is spelled as anyOf, which is exact when its branches are disjoint (see OneOf).
        Set<String> names = new LinkedHashSet<>();
        for (int i = 0; i < branches.size(); i++) {
            JsonNode branch = branches.get(i);
            if (isFalse(branch)) continue; // a branch of schema false matches nothing
            names.add(rule(branch, at.child(i), hint + "-" + i, pendingRefs));
        }
        if (names.isEmpty())
            throw SchemaException.invalid(at, "every branch is the schema false, which admits no value");
        return String.join(" | ", names);
    }

    /** The rule for the schema a local {@code $ref} points to, converted once and shared by every use. */
    private String ref(JsonNode reference, Pointer at, Set<String> pendingRefs) {
        Pointer target = target(reference, at);
        String key = target.toString();
        if (pendingRefs.contains(key)) {
            throw SchemaException.unsupported(at, "'" + reference.asText() + "' recurses without consuming any input");
        }
        String name = refRules.get(key);
        if (name != null) {
            return name;
        }
        name = rules.reserve("def-" + (target.depth() == 0 ? "root" : target.last()));
        refRules.put(key, name);
        Set<String> pending = new HashSet<>(pendingRefs);
        pending.add(key);
        rules.define(name, visit(resolve(target, at), target, name, Set.copyOf(pending)));
        return name;
    }

    Pointer target(JsonNode reference, Pointer at) {
        if (!reference.isTextual() || !reference.asText().startsWith("#")) {
            throw SchemaException.unsupported(
                    at, "only local references ('#/$defs/...') are supported, got " + reference);
        }
        try {
            return Pointer.parse(
                    java.net.URLDecoder.decode(reference.asText(), java.nio.charset.StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw SchemaException.unsupported(at, "only JSON pointer references are supported, got " + reference);
        }
    }

    JsonNode resolve(Pointer target, Pointer at) {
        JsonNode node = root;
        for (String token : target.tokens()) {
            node = node.isArray() && token.matches("\\d+") ? node.get(Integer.parseInt(token)) : node.get(token);
            if (node == null) {
                throw SchemaException.invalid(at, "$ref target " + target.display() + " does not exist");
            }
        }
        return node;
    }

    /** Refuses any keyword beside {@code keyword} other than annotations and {@code allowed}. */
    static void onlyBeside(JsonNode schema, Pointer at, String keyword, Set<String> allowed) {
        for (String other : names(schema)) {
            if (!other.equals(keyword) && !Keywords.ANNOTATIONS.contains(other) && !allowed.contains(other)) {
                throw SchemaException.unsupported(
                        at.child(other), "'" + other + "' beside '" + keyword + "' is not supported");
            }
        }
    }

    /** A keyword's value as a count: a non-negative whole number up to {@link Limits#MAX_COUNT}, or -1 when absent. */
    static int count(JsonNode schema, Pointer at, String keyword) {
        JsonNode value = schema.get(keyword);
        if (value == null) {
            return -1;
        }
        BigDecimal number = wholeNumber(value, at.child(keyword));
        if (number.signum() < 0) {
            throw SchemaException.invalid(at.child(keyword), "must be a non-negative integer");
        }
        if (number.compareTo(BigDecimal.valueOf(Limits.MAX_COUNT)) > 0) {
            throw SchemaException.tooLarge(at.child(keyword), keyword + " over " + Limits.MAX_COUNT);
        }
        return number.intValueExact();
    }

    /** An object's keys in document order. */
    static List<String> names(JsonNode object) {
        return object.properties().stream().map(Map.Entry::getKey).toList();
    }

    static BigDecimal wholeNumber(JsonNode value, Pointer at) {
        if (!value.isNumber()) {
            throw SchemaException.invalid(at, "must be a number");
        }
        BigDecimal number = value.decimalValue();
        if (number.setScale(0, RoundingMode.DOWN).compareTo(number) != 0) {
            throw SchemaException.invalid(at, "must be an integer");
        }
        return number;
    }
}
