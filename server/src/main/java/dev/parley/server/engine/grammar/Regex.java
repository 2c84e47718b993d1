package dev.parley.server.engine.grammar;

import java.util.List;

/**
 * The parsed form of a JSON Schema {@code pattern}: only the subset a grammar can spell exactly. Character sets
 * are sorted, non-overlapping code point ranges.
 */
sealed interface Regex {
    /** One code point. */
    record Literal(int codePoint) implements Regex {}

    /** A character class, {@code \d}-style escape, or {@code .}; {@code ranges} holds pairs {@code [from, to]}. */
    record CharSet(List<int[]> ranges, boolean negated) implements Regex {}

    record Sequence(List<Regex> items) implements Regex {}

    record Alternation(List<Regex> branches) implements Regex {}

    /** {@code max} is -1 when unbounded. */
    record Repeat(Regex item, int min, int max) implements Regex {}

    /** {@code ^} */
    record Start() implements Regex {}

    /** {@code $} */
    record End() implements Regex {}
}
