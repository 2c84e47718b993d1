package dev.parley.server.engine.grammar;

/**
 * Bounds past which a schema is refused rather than converted: each keeps the grammar small enough for
 * llama.cpp to parse (its parser expands {@code x{m,n}} into n rules and gives up, or silently drops the upper
 * bound, past 2000) and cheap enough to sample with.
 */
final class Limits {
    private Limits() {}

    /** Nesting of schema objects, counted in JSON pointer tokens. */
    static final int MAX_DEPTH = 128;
    /** Largest count written as GBNF's own {@code {m,n}}: half of llama.cpp's 2000, for headroom. */
    static final int DIRECT_REPEAT = 1000;
    /** minItems, maxItems, minLength, maxLength and regex counts; past {@link #DIRECT_REPEAT} they are chunked. */
    static final int MAX_COUNT = 100_000;
    /** Rules in one grammar. */
    static final int MAX_RULES = 4000;
    /** Characters of grammar text. */
    static final int MAX_GRAMMAR_CHARS = 1 << 20;
    /** Values of one enum, properties of one object, items of one prefixItems, branches of one anyOf. */
    static final int MAX_ALTERNATIVES = 1000;
    /** Characters of one regular expression. */
    static final int MAX_PATTERN_CHARS = 1000;
}
