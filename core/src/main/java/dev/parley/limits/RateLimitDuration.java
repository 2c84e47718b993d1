package dev.parley.limits;

import java.math.BigDecimal;
import java.time.Duration;

/**
 * OpenAI's durations, as in {@code x-ratelimit-reset-tokens: 6m0s}: Go's {@code time.Duration} text, a
 * sequence of decimal numbers each with a unit ({@code h}, {@code m}, {@code s}, {@code ms}, {@code us} or
 * {@code µs}, {@code ns}), e.g. {@code 1s}, {@code 120ms}, {@code 1h2m3.5s}, {@code 17.28s}, {@code 0s}.
 * {@link #format} writes what Go writes, so {@code parse(format(d))} is {@code d} for every
 * non-negative duration and {@code format(parse(s))} is {@code s} for every text Go writes.
 */
public final class RateLimitDuration {

    private RateLimitDuration() {}

    /**
     * Reads a duration.
     *
     * @throws IllegalArgumentException when the text is not a non-negative Go duration
     */
    public static Duration parse(String text) {
        String s = text.strip();
        if (s.equals("0")) return Duration.ZERO;
        if (s.isEmpty()) throw bad(text);
        long nanos = 0;
        int i = 0;
        while (i < s.length()) {
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) i++;
            if (i == start) throw bad(text);
            BigDecimal number;
            try {
                number = new BigDecimal(s.substring(start, i));
            } catch (NumberFormatException e) {
                throw bad(text);
            }
            int unitStart = i;
            while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') i++;
            long unit = switch (s.substring(unitStart, i)) {
                case "h" -> 3_600_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "s" -> 1_000_000_000L;
                case "ms" -> 1_000_000L;
                case "us", "µs", "μs" -> 1_000L;
                case "ns" -> 1L;
                default -> throw bad(text);
            };
            try {
                // As Go: a fraction of a nanosecond is dropped, a total past 2^63 ns (292 years) is refused.
                nanos = Math.addExact(
                        nanos,
                        number.multiply(BigDecimal.valueOf(unit)).toBigInteger().longValueExact());
            } catch (ArithmeticException e) {
                throw bad(text);
            }
        }
        return Duration.ofNanos(nanos);
    }

    /**
     * Writes a duration as Go does: {@code 0s}; below one second in the largest fitting unit of
     * {@code ms}, {@code µs}, {@code ns} with a trimmed fraction ({@code 120ms}, {@code 1.5ms}); else
     * hours, minutes and seconds with a trimmed fraction, minutes shown once there are hours
     * ({@code 1h0m0s}, {@code 6m0s}, {@code 17.28s}).
     *
     * @throws IllegalArgumentException for a negative duration
     */
    public static String format(Duration duration) {
        if (duration.isNegative()) throw new IllegalArgumentException("negative duration " + duration);
        if (duration.isZero()) return "0s";
        long nanos;
        try {
            nanos = duration.toNanos();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("duration too long for OpenAI's format: " + duration, e);
        }
        if (nanos < 1_000L) return nanos + "ns";
        if (nanos < 1_000_000L) return decimal(nanos, 1_000L) + "µs";
        if (nanos < 1_000_000_000L) return decimal(nanos, 1_000_000L) + "ms";
        long hours = nanos / 3_600_000_000_000L;
        long minutes = nanos / 60_000_000_000L % 60;
        String seconds = decimal(nanos % 60_000_000_000L, 1_000_000_000L) + "s";
        if (hours > 0) return hours + "h" + minutes + "m" + seconds;
        if (minutes > 0) return minutes + "m" + seconds;
        return seconds;
    }

    private static String decimal(long nanos, long unit) {
        return BigDecimal.valueOf(nanos)
                .divide(BigDecimal.valueOf(unit))
                .stripTrailingZeros()
                .toPlainString();
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("not a duration like 1s, 6m0s or 120ms: \"" + text + "\"");
    }
}
