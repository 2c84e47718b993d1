package dev.parley.server.engine.grammar;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * GBNF for JSON numbers between bounds, exactly, without an exponent. A number is a sign, an integer part
 * {@code I} and a fraction {@code F}. Against a bound {@code B = Bi.Bf}, a number with {@code I} strictly between
 * the bounds' integer parts may have any fraction; one with {@code I = Bi} needs {@code F} on the right side of
 * {@code Bf}. So each sign becomes integer ranges from {@link IntegerRange}, each with fractions from
 * {@link Fractions}. Zero is spelled without a sign only; -0 is never written.
 */
final class DecimalRange {
    private DecimalRange() {}

    /** Numbers above {@code min} and below {@code max}, either side possibly absent ({@code null}). */
    static String of(Bound min, Bound max) {
        List<String> parts = new ArrayList<>();
        // x >= 0: magnitudes from max(min, 0).
        if (max == null || max.value().signum() > 0 || (max.value().signum() == 0 && !max.exclusive())) {
            Bound low = min == null || min.value().signum() < 0 ? Bound.of(0, false) : min;
            parts.addAll(magnitudes(low, max));
        }
        // x < 0, spelled "-" m with m = -x > 0.
        if (min == null || min.value().signum() < 0) {
            Bound low = max == null || max.value().signum() >= 0 ? Bound.of(0, true) : max.negate();
            List<String> negative = magnitudes(low, min == null ? null : min.negate());
            if (!negative.isEmpty()) {
                parts.add("\"-\" " + group(String.join(" | ", negative)));
            }
        }
        return String.join(" | ", parts);
    }

    /** Spellings of magnitudes m >= 0 from {@code low} up to {@code high} (null: no upper bound). */
    private static List<String> magnitudes(Bound low, Bound high) {
        List<String> parts = new ArrayList<>();
        int order = high == null ? -1 : low.value().compareTo(high.value());
        if (order > 0 || (order == 0 && (low.exclusive() || high.exclusive()))) {
            return parts;
        }
        long lowInteger = integerPart(low.value());
        String lowFraction = fractionDigits(low.value());
        if (high != null && integerPart(high.value()) == lowInteger) {
            add(
                    parts,
                    lowInteger,
                    lowInteger,
                    Fractions.between(lowFraction, !low.exclusive(), fractionDigits(high.value()), !high.exclusive()));
            return parts;
        }
        long highInteger = high == null ? IntegerRange.OPEN : integerPart(high.value());
        String any = Fractions.between("", true, null, false);
        String aboveLow = Fractions.between(lowFraction, !low.exclusive(), null, false);
        boolean lowAny = any.equals(aboveLow);
        // With no upper bound, the largest integer part may take any fraction, as the middle ones do.
        String belowHigh =
                high == null ? any : Fractions.between("", true, fractionDigits(high.value()), !high.exclusive());
        boolean highAny = any.equals(belowHigh);
        if (!lowAny) {
            add(parts, lowInteger, lowInteger, aboveLow);
        }
        add(parts, lowAny ? lowInteger : lowInteger + 1, highAny ? highInteger : highInteger - 1, any);
        if (!highAny) {
            add(parts, highInteger, highInteger, belowHigh);
        }
        return parts;
    }

    private static void add(List<String> parts, long from, long to, String fraction) {
        if (from > to || fraction == null) {
            return;
        }
        String integer = group(IntegerRange.magnitudes(from, to));
        parts.add(fraction.isEmpty() ? integer : integer + " " + fraction);
    }

    private static long integerPart(BigDecimal value) {
        return value.setScale(0, RoundingMode.DOWN).longValueExact();
    }

    /** The digits after the point, without trailing zeros: "" for a whole number. */
    private static String fractionDigits(BigDecimal value) {
        BigDecimal fraction =
                value.subtract(value.setScale(0, RoundingMode.DOWN)).stripTrailingZeros();
        return fraction.signum() == 0 ? "" : fraction.toPlainString().substring(2);
    }

    private static String group(String alternatives) {
        return alternatives.contains(" | ") ? "( " + alternatives + " )" : alternatives;
    }
}
