package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * Builds a grammar around JSON values: fixed texts, values of JSON Schemas, and rules joining them, for outputs
 * such as a model's tool-call syntax ({@code <tool_call>} JSON {@code </tool_call>}, {@code [TOOL_CALLS]name[ARGS]}
 * JSON). Expressions are GBNF text: join them with spaces for a sequence, with {@code |} for a choice.
 *
 * <p>Not thread-safe; one builder makes one grammar.
 */
public final class GrammarBuilder {
    private final Rules rules;

    /** A builder whose JSON values may be laid out on several lines, as models that pretty-print write them. */
    public GrammarBuilder() {
        this(false);
    }

    /** @param compact JSON values on one line, at most one space between tokens (as tool-call arguments are written) */
    public GrammarBuilder(boolean compact) {
        this(compact, false);
    }

    /**
     * @param compact JSON values on one line, at most one space between tokens
     * @param python values as Python literals ({@code True}, {@code False}, {@code None}), as models that write their
     *     calls in Python write them
     */
    public GrammarBuilder(boolean compact, boolean python) {
        this.rules = new Rules(compact, python);
        rules.reserve(JsonGrammar.ROOT);
    }

    /**
     * The name of a rule spelling the JSON values {@code schema} accepts ({@code $ref}s resolve within it).
     *
     * @throws SchemaException as {@link JsonGrammar#fromSchema} does, with a pointer into {@code schema}
     */
    public String value(JsonNode schema, String hint) {
        return new SchemaConverter(Objects.requireNonNull(schema, "schema"), rules).convertInto(hint);
    }

    /**
     * An expression for a string schema's values written as they are, without quotes or JSON's escapes, as tool-call
     * syntaxes that write strings as raw text need: its {@code format}, or its {@code pattern} when no value it
     * matches holds a quote, a backslash or a control character (which JSON would escape). Null when the schema has
     * neither, or a pattern whose values cannot all be written so.
     *
     * @throws SchemaException for a format or pattern the grammar cannot spell, as {@link #value} does
     */
    public String rawString(JsonNode schema, String hint) {
        JsonNode format = schema.path("format");
        if (format.isTextual()) return Strings.format(rules, format, Pointer.ROOT);
        JsonNode pattern = schema.path("pattern");
        if (!pattern.isTextual()) return null;
        String contents =
                RegexGrammar.contents(pattern.asText(), rules, Rules.sanitize(hint) + "-pattern", Pointer.ROOT);
        // JSON's escapes are spelled with a backslash, which GBNF writes doubled.
        return contents.contains("\\\\") ? null : contents;
    }

    /** An expression matching exactly {@code text}. */
    public static String literal(String text) {
        return Gbnf.literal(text);
    }

    /** The name of a rule for {@code body}: the same body gives the same rule. */
    public String rule(String hint, String body) {
        return rules.add(hint, body);
    }

    /** The grammar whose start rule is {@code body}. */
    public JsonGrammar build(String body) {
        rules.define(JsonGrammar.ROOT, body);
        return new JsonGrammar(rules.render());
    }
}
