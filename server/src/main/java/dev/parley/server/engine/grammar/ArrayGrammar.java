package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Arrays: {@code items}, {@code prefixItems} (or draft-07's array form of {@code items} with
 * {@code additionalItems}), {@code minItems} and {@code maxItems}. Beside {@code prefixItems}, an absent
 * {@code items} admits no further item (JSON Schema would admit any); {@code uniqueItems: true} is refused.
 */
final class ArrayGrammar {
    private ArrayGrammar() {}

    private static final int MAX_PREFIX = 100;

    static String of(SchemaConverter converter, JsonNode schema, Pointer at, String hint) {
        JsonNode unique = schema.get("uniqueItems");
        if (unique != null && !SchemaConverter.isFalse(unique)) {
            throw SchemaException.unsupported(at.child("uniqueItems"));
        }
        List<String> prefix = new ArrayList<>();
        JsonNode extra; // schema of the items after the prefix; null: none
        Pointer extraAt;
        JsonNode items = schema.get("items");
        JsonNode tuple =
                schema.has("prefixItems") ? schema.get("prefixItems") : items != null && items.isArray() ? items : null;
        if (tuple != null) {
            Pointer tupleAt = at.child(schema.has("prefixItems") ? "prefixItems" : "items");
            if (!tuple.isArray() || tuple.size() > MAX_PREFIX) {
                throw SchemaException.invalid(tupleAt, "must be an array of at most " + MAX_PREFIX + " schemas");
            }
            for (int i = 0; i < tuple.size(); i++) {
                prefix.add(converter.rule(tuple.get(i), tupleAt.child(i), hint + "-" + i, Set.of()));
            }
            String extraKey = schema.has("prefixItems") ? "items" : "additionalItems";
            extra = schema.get(extraKey);
            extraAt = at.child(extraKey);
        } else {
            if (schema.has("additionalItems")) {
                throw SchemaException.unsupported(
                        at.child("additionalItems"), "additionalItems without an array of items");
            }
            extra = items == null ? BooleanNode.TRUE : items;
            extraAt = at.child("items");
        }
        if (SchemaConverter.isFalse(extra)) {
            extra = null;
        }
        String extraRule = extra == null ? null : converter.rule(extra, extraAt, hint + "-item", Set.of());

        int min = Math.max(0, SchemaConverter.count(schema, at, "minItems"));
        int max = SchemaConverter.count(schema, at, "maxItems"); // -1: unbounded
        if (max != -1 && max < min) {
            throw SchemaException.invalid(at.child("maxItems"), "maxItems is below minItems");
        }
        if (extraRule == null) {
            max = max == -1 ? prefix.size() : Math.min(max, prefix.size());
            if (min > max) {
                throw SchemaException.unsupported(
                        at.child("minItems"), "more items required than prefixItems gives schemas for");
            }
        }
        return layout(converter.rules, prefix, extraRule, min, max, hint);
    }

    /**
     * {@code "["}, the prefix items in order, then the extra items, {@code min} to {@code max} in all (-1:
     * unbounded), then {@code "]"}. {@code extraRule} null: no extra items.
     */
    private static String layout(Rules rules, List<String> prefix, String extraRule, int min, int max, String hint) {
        String space = Primitives.use(rules, Primitives.SPACE);
        String comma = "\",\" " + space + " ";
        String elements;
        if (prefix.isEmpty()) {
            if (max == 0) {
                return "\"[\" " + space + " \"]\"";
            }
            String more = Repetition.of(
                    rules,
                    hint + "-more",
                    "( " + comma + extraRule + " )",
                    Math.max(0, min - 1),
                    max == -1 ? -1 : max - 1);
            elements = extraRule + (more.isEmpty() ? "" : " " + more);
        } else {
            int explicit = max == -1 ? prefix.size() : Math.min(prefix.size(), max);
            if (explicit == 0) {
                return "\"[\" " + space + " \"]\"";
            }
            // After the last prefix item come the extra items: at least what minItems still needs, at most what
            // maxItems leaves.
            String rest = "";
            if (explicit == prefix.size() && extraRule != null) {
                rest = Repetition.of(
                        rules,
                        hint + "-more",
                        "( " + comma + extraRule + " )",
                        Math.max(0, min - prefix.size()),
                        max == -1 ? -1 : max - prefix.size());
            }
            for (int i = explicit - 1; i >= 1; i--) {
                String step = comma + prefix.get(i) + (rest.isEmpty() ? "" : " " + rest);
                rest = i < min ? step : "( " + step + " )?";
            }
            elements = prefix.getFirst() + (rest.isEmpty() ? "" : " " + rest);
        }
        return min > 0
                ? "\"[\" " + space + " " + elements + " " + space + " \"]\""
                : "\"[\" " + space + " ( " + elements + " " + space + " )? \"]\"";
    }
}
