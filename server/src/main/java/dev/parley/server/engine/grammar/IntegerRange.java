package dev.parley.server.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * GBNF for the decimal spellings of the integers in a closed range, exactly: no leading zeros, no {@code -0},
 * and nothing outside the range. A side left open stops at 16 digits, as the {@code integral} rule does.
 *
 * <p>The range is split by sign and then by digit count; a run of equally long numbers from {@code a} to
 * {@code b} is spelled by their common prefix, then the first digit where they differ: the part starting with
 * {@code a}'s digit climbs to all nines, the digits strictly between take any tail, the part starting with
 * {@code b}'s digit climbs from all zeros.
 */
final class IntegerRange {
    private IntegerRange() {}

    /** Largest magnitude reached by an open side: sixteen nines. */
    static final long OPEN = 9_999_999_999_999_999L;

    /** The spellings of every integer in {@code [min, max]}; {@code min <= max}, both within ±{@link #OPEN} or at it. */
    static String of(long min, long max) {
        List<String> parts = new ArrayList<>();
        if (min < 0) {
            parts.add("\"-\" " + group(magnitudes(Math.max(1, max < 0 ? -max : 1), -min)));
        }
        if (max >= 0) {
            parts.add(magnitudes(Math.max(0, min), max));
        }
        return String.join(" | ", parts);
    }

    /** The spellings of the non-negative integers in {@code [min, max]}. */
    static String magnitudes(long min, long max) {
        List<String> parts = new ArrayList<>();
        if (min == 0) {
            parts.add("\"0\"");
            if (max == 0) {
                return parts.getFirst();
            }
            min = 1;
        }
        String low = Long.toString(min);
        String high = Long.toString(max);
        int fullFrom = -1; // first digit count of a run of lengths whose every number is in range
        for (int digits = low.length(); digits <= high.length(); digits++) {
            String from = digits == low.length() ? low : "1" + "0".repeat(digits - 1);
            String to = digits == high.length() ? high : "9".repeat(digits);
            boolean full = from.equals("1" + "0".repeat(digits - 1)) && to.equals("9".repeat(digits));
            if (full) {
                fullFrom = fullFrom == -1 ? digits : fullFrom;
                continue;
            }
            if (fullFrom != -1) {
                parts.add(fullLengths(fullFrom, digits - 1));
                fullFrom = -1;
            }
            parts.add(sameLength(from, to));
        }
        if (fullFrom != -1) {
            parts.add(fullLengths(fullFrom, high.length()));
        }
        return String.join(" | ", parts);
    }

    /** Every number without leading zeros of {@code from} to {@code to} digits: {@code [1-9] [0-9]{from-1,to-1}}. */
    private static String fullLengths(int from, int to) {
        String tail = Repetition.direct("[0-9]", from - 1, to - 1);
        return tail.isEmpty() ? "[1-9]" : "[1-9] " + tail;
    }

    /** Every digit string from {@code from} to {@code to}, both of one length, {@code from <= to}. */
    private static String sameLength(String from, String to) {
        int common = 0;
        while (common < from.length() && from.charAt(common) == to.charAt(common)) {
            common++;
        }
        String prefix = common > 0 ? "\"" + from.substring(0, common) + "\"" : "";
        if (common == from.length()) {
            return prefix;
        }
        char a = from.charAt(common);
        char b = to.charAt(common);
        String fromTail = from.substring(common + 1);
        String toTail = to.substring(common + 1);
        int tail = fromTail.length();
        String rest;
        if (fromTail.equals("0".repeat(tail)) && toTail.equals("9".repeat(tail))) {
            rest = a == '0' && b == '9' ? anyDigits(tail + 1).strip() : digits(a, b) + anyDigits(tail);
        } else {
            List<String> parts = new ArrayList<>();
            boolean lowFull = fromTail.equals("0".repeat(tail));
            boolean highFull = toTail.equals("9".repeat(tail));
            char middleFrom = lowFull ? a : (char) (a + 1);
            char middleTo = highFull ? b : (char) (b - 1);
            if (!lowFull) {
                parts.add(digits(a, a) + " " + group(sameLength(fromTail, "9".repeat(tail))));
            }
            if (middleFrom <= middleTo) {
                parts.add(digits(middleFrom, middleTo) + anyDigits(tail));
            }
            if (!highFull) {
                parts.add(digits(b, b) + " " + group(sameLength("0".repeat(tail), toTail)));
            }
            rest = parts.size() == 1 ? parts.getFirst() : group(String.join(" | ", parts));
        }
        return prefix.isEmpty() ? rest : prefix + " " + rest;
    }

    private static String digits(char from, char to) {
        return from == to ? "\"" + from + "\"" : "[" + from + "-" + to + "]";
    }

    private static String anyDigits(int count) {
        return count == 0 ? "" : count == 1 ? " [0-9]" : " [0-9]{" + count + "}";
    }

    private static String group(String alternatives) {
        return alternatives.contains(" | ") && !wrapped(alternatives) ? "( " + alternatives + " )" : alternatives;
    }

    /** Whether the text is one parenthesised group: its first parenthesis closes at its end. */
    private static boolean wrapped(String text) {
        if (!text.startsWith("(")) {
            return false;
        }
        int depth = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"') {
                i = text.indexOf('"', i + 1); // digit literals hold no quotes or parentheses
            } else if (c == '(') {
                depth++;
            } else if (c == ')' && --depth == 0) {
                return i == text.length() - 1;
            }
        }
        return false;
    }
}
