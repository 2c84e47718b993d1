package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A GBNF grammar, in llama.cpp's grammar syntax with start rule {@value #ROOT}, that admits only JSON text valid
 * under a JSON Schema, or any JSON object for {@code response_format: {"type": "json_object"}}.
 *
 * <p>Immutable and thread-safe; the factories are pure functions. A grammar is exact where JSON Schema is exact
 * and otherwise narrower, never wider: properties come in declared order (required first), whitespace between
 * tokens is at most one line break and 20 spaces or tabs (or a single space), numbers have at most 16 integer and
 * fraction digits, and nothing precedes or follows the value.
 *
 * @param gbnf the grammar text, plain ASCII, one rule per line
 */
public record JsonGrammar(String gbnf) {
    /** The name of the start rule, as llama.cpp's {@code grammar_root} argument wants it. */
    public static final String ROOT = "root";

    /**
     * The grammar of the JSON values {@code schema} (draft 2020-12, with draft-04/07 spellings of the same
     * keywords) accepts.
     *
     * @throws SchemaException when the schema uses a keyword or value the grammar cannot honour, is malformed, or
     *     would give a grammar too large to sample with; its message and {@link SchemaException#pointer()} name
     *     the offending keyword
     */
    public static JsonGrammar fromSchema(JsonNode schema) {
        return new JsonGrammar(new SchemaConverter(java.util.Objects.requireNonNull(schema, "schema")).convert());
    }

    /** Any JSON object, the grammar of {@code response_format} {@code json_object}. */
    public static JsonGrammar anyObject() {
        return ANY_OBJECT;
    }

    private static final JsonGrammar ANY_OBJECT = fixed("object");

    private static JsonGrammar fixed(String rule) {
        Rules rules = new Rules();
        rules.reserve(ROOT);
        rules.define(ROOT, rule);
        Primitives.use(rules, rule);
        return new JsonGrammar(rules.render());
    }

    @Override
    public String toString() {
        return gbnf;
    }
}
