package dev.parley.server.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * GBNF for the fraction of a JSON number ({@code "." digits}, or nothing) between two fractions, exactly. A
 * fraction's digits compare as if padded with zeros, so the grammar walks digit positions: while the digits
 * written so far equal a bound's, the next digit may not pass that bound's next digit; once they differ, the
 * rest is free. At most 16 digits are written, as in the {@code number} rule.
 */
final class Fractions {
    private Fractions() {}

    static final int MAX_DIGITS = 16;

    /**
     * Fractions f with {@code low < f} (or {@code <=} when {@code lowInclusive}) and {@code f < high} (or
     * {@code <=}), where {@code low} and {@code high} are digit strings after the point without trailing zeros
     * ({@code ""} is zero), and a null {@code high} means no upper bound below 1. Returns null when none exists.
     */
    static String between(String low, boolean lowInclusive, String high, boolean highInclusive) {
        Walk walk = new Walk(low, lowInclusive, high, highInclusive);
        String digits = walk.digits(0, true, high != null);
        boolean zero = walk.mayEnd(0, true, high != null);
        if (digits == null) {
            return zero ? "" : null;
        }
        String dotted = "\".\" " + digits;
        return zero ? "( " + dotted + " )?" : dotted;
    }

    private record Walk(String low, boolean lowInclusive, String high, boolean highInclusive) {
        /** Whether the digits may stop at {@code i}, all later ones being zeros. */
        boolean mayEnd(int i, boolean tightLow, boolean tightHigh) {
            // Bounds have no trailing zeros: before a bound's last digit, zeros are strictly below its rest.
            boolean aboveLow = !tightLow || (i >= low.length() && lowInclusive);
            boolean belowHigh = !tightHigh || i < high.length() || highInclusive;
            return aboveLow && belowHigh;
        }

        /** One or more digits from position {@code i}, within the bounds still tight; null when none may come. */
        String digits(int i, boolean tightLow, boolean tightHigh) {
            if (tightLow && i >= low.length() && lowInclusive) {
                tightLow = false; // every continuation is at least zeros
            }
            if (i == MAX_DIGITS) {
                return null;
            }
            if (tightLow && i >= low.length() && !tightHigh) {
                // Strictly above low, whose digits are used up: some digit still to come is not zero. (This may
                // write more than 16 digits in all; it stays exact.)
                String zeros = Repetition.direct("\"0\"", 0, MAX_DIGITS - i - 1);
                String free = Repetition.direct("[0-9]", 0, MAX_DIGITS - i - 1);
                return String.join(
                        " ",
                        java.util.stream.Stream.of(zeros, "[1-9]", free)
                                .filter(s -> !s.isEmpty())
                                .toList());
            }
            if (tightHigh && i >= high.length()) {
                // Past high's last digit only zeros stay below it, and they equal it.
                return !tightLow && highInclusive ? Repetition.direct("\"0\"", 1, MAX_DIGITS - i) : null;
            }
            char from = tightLow ? digitAt(low, i) : '0';
            char to = tightHigh ? high.charAt(i) : '9';
            if (from > to) {
                return null;
            }
            List<String> alternatives = new ArrayList<>();
            if (tightLow) {
                follow(alternatives, from, i + 1, true, tightHigh && from == to);
            }
            if (tightHigh && !(tightLow && from == to)) {
                follow(alternatives, to, i + 1, false, true);
            }
            char freeFrom = tightLow ? (char) (from + 1) : from;
            char freeTo = tightHigh ? (char) (to - 1) : to;
            if (freeFrom <= freeTo) {
                String digit = freeFrom == freeTo ? "\"" + freeFrom + "\"" : "[" + freeFrom + "-" + freeTo + "]";
                String free = Repetition.direct("[0-9]", 0, MAX_DIGITS - i - 1);
                alternatives.add(free.isEmpty() ? digit : digit + " " + free);
            }
            return alternatives.isEmpty()
                    ? null
                    : alternatives.size() == 1
                            ? alternatives.getFirst()
                            : "( " + String.join(" | ", alternatives) + " )";
        }

        /** Digit {@code d}, then what may follow it at {@code next} while the given bounds stay tight. */
        private void follow(List<String> alternatives, char d, int next, boolean tightLow, boolean tightHigh) {
            String more = digits(next, tightLow, tightHigh);
            boolean end = mayEnd(next, tightLow, tightHigh);
            String digit = "\"" + d + "\"";
            if (more != null) {
                alternatives.add(end ? digit + " ( " + more + " )?" : digit + " " + more);
            } else if (end) {
                alternatives.add(digit);
            }
        }

        private static char digitAt(String digits, int i) {
            return i < digits.length() ? digits.charAt(i) : '0';
        }
    }
}
