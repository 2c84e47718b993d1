package dev.parley.server.engine.grammar;

/** GBNF repetition of one atom (a terminal, a rule name or a parenthesised group). */
final class Repetition {
    private Repetition() {}

    /** {@code atom} repeated {@code min} to {@code max} times; {@code max} -1 is unbounded. Empty when max is 0. */
    static String of(String atom, int min, int max) {
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
}
