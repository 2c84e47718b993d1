package dev.parley.server.engine.grammar;

/**
 * GBNF repetition of one atom (a terminal, a rule name or a parenthesised group), exact for any count up to
 * {@link Limits#MAX_COUNT}.
 *
 * <p>llama.cpp expands {@code x{m,n}} into n rules and refuses, or silently drops the upper bound, past 2000; so
 * counts up to {@link Limits#DIRECT_REPEAT} are written directly, and larger ones in chunks of that many: with
 * {@code C ::= x{1000}}, {@code x{0,2500}} is {@code C{0,1} x{0,999} | C{2} x{0,500}}. Each length has exactly
 * one parse, so the sampler tracks a handful of partial parses, not hundreds.
 */
final class Repetition {
    private Repetition() {}

    private static final int CHUNK = Limits.DIRECT_REPEAT;

    /** {@code atom} repeated {@code min} to {@code max} times ({@code max} -1: unbounded); empty when max is 0. */
    static String of(Rules rules, String hint, String atom, int min, int max) {
        if (min <= CHUNK && max <= CHUNK) {
            return direct(atom, min, max);
        }
        String item = rules.has(atom) ? atom : rules.add(hint, atom);
        String chunk = rules.add(hint + "-chunk", item + "{" + CHUNK + "}");
        String fixed = join(direct(chunk, min / CHUNK, min / CHUNK), direct(item, min % CHUNK, min % CHUNK));
        if (max == -1) {
            return join(fixed, item + "*");
        }
        int optional = max - min;
        if (optional <= CHUNK) {
            return join(fixed, direct(item, 0, optional));
        }
        int chunks = optional / CHUNK;
        String shorter = join(direct(chunk, 0, chunks - 1), direct(item, 0, CHUNK - 1));
        String longest = join(direct(chunk, chunks, chunks), direct(item, 0, optional % CHUNK));
        return join(fixed, "( " + shorter + " | " + longest + " )");
    }

    /** Written as GBNF's own {@code ? * + {m} {m,} {m,n}}; counts must be within what llama.cpp expands. */
    static String direct(String atom, int min, int max) {
        if (max == 0) {
            return "";
        }
        if (min == 1 && max == 1) {
            return atom;
        }
        if (min == 0 && max == 1) {
            return atom + "?";
        }
        if (max == -1) {
            return min == 0 ? atom + "*" : min == 1 ? atom + "+" : atom + "{" + min + ",}";
        }
        return min == max ? atom + "{" + min + "}" : atom + "{" + min + "," + max + "}";
    }

    private static String join(String first, String second) {
        return first.isEmpty() ? second : second.isEmpty() ? first : first + " " + second;
    }
}
