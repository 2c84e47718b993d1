package dev.parley.server.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * GBNF for JSON numbers between whole-number bounds, exactly, without an exponent. A number is a sign, an
 * integer part {@code I} and a fraction {@code F}; against a whole bound {@code B} only {@code I} and whether
 * {@code F} is zero matter ({@code x <= B} is {@code I < B} with any fraction, or {@code I = B} with a zero one),
 * so each side becomes integer ranges from {@link IntegerRange} paired with one of three fraction shapes.
 */
final class DecimalRange {
    private DecimalRange() {}

    private static final String ANY_FRACTION = "( \".\" [0-9]{1,16} )?";
    private static final String ZERO_FRACTION = "( \".\" \"0\"{1,16} )?";
    private static final String NONZERO_FRACTION = "\".\" \"0\"{0,15} [1-9] [0-9]{0,15}";

    /** Numbers above {@code min} and below {@code max}, either side possibly absent ({@code null}). */
    static String of(Bound min, Bound max) {
        List<String> parts = new ArrayList<>();
        // x >= 0 (zero is spelled here only, never as -0).
        if (max == null || max.value() > 0 || (max.value() == 0 && !max.exclusive())) {
            Bound low = min == null || min.value() < 0 ? new Bound(0, false) : min;
            parts.addAll(magnitudes(low, max));
        }
        // x < 0, spelled "-" m with m = -x > 0.
        if (min == null || min.value() < 0) {
            Bound low = max == null || max.value() >= 0 ? new Bound(0, true) : new Bound(-max.value(), max.exclusive());
            Bound high = min == null ? null : new Bound(-min.value(), min.exclusive());
            List<String> negative = magnitudes(low, high);
            if (!negative.isEmpty()) {
                parts.add("\"-\" ( " + String.join(" | ", negative) + " )");
            }
        }
        return String.join(" | ", parts);
    }

    /** Spellings of magnitudes m (without sign) in the range from {@code low} to {@code high} (null: open). */
    private static List<String> magnitudes(Bound low, Bound high) {
        List<String> parts = new ArrayList<>();
        long anyFrom = low.exclusive() ? low.value() + 1 : low.value();
        long anyTo = high == null ? IntegerRange.OPEN : high.value() - 1;
        if (low.exclusive() && (high == null || low.value() < high.value())) {
            parts.add(integer(low.value(), low.value()) + " " + NONZERO_FRACTION); // just above an excluded whole bound
        }
        if (anyFrom <= anyTo) {
            parts.add(integer(anyFrom, anyTo) + " " + ANY_FRACTION);
        }
        if (high != null && !high.exclusive() && high.value() >= anyFrom) {
            parts.add(integer(high.value(), high.value()) + " " + ZERO_FRACTION); // the included whole bound itself
        }
        return parts;
    }

    private static String integer(long from, long to) {
        String spelled = IntegerRange.magnitudes(from, to);
        return spelled.contains(" | ") ? "( " + spelled + " )" : spelled;
    }
}
