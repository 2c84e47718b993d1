package dev.parley.limits;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The wait a response asks for before the next request: {@code retry-after-ms} (milliseconds, OpenAI's
 * own, may be fractional) first, else {@code retry-after} as delay-seconds or as an HTTP-date, which is
 * measured from {@code now}. A date in the past is a wait of zero.
 */
public final class RetryAfter {

    public static final String RETRY_AFTER_MS = "retry-after-ms";
    public static final String RETRY_AFTER = "retry-after";

    private RetryAfter() {}

    /** The wait asked for, or empty when neither header is present and readable. */
    public static Optional<Duration> parse(Map<String, List<String>> headers, Instant now) {
        String millis = Headers.first(headers, RETRY_AFTER_MS);
        if (millis != null) {
            Duration wait = decimal(millis, 1_000_000L);
            if (wait != null) return Optional.of(wait);
        }
        String value = Headers.first(headers, RETRY_AFTER);
        if (value == null) return Optional.empty();
        Duration seconds = decimal(value, 1_000_000_000L);
        if (seconds != null) return Optional.of(seconds);
        try {
            Instant at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME)
                    .toInstant();
            return Optional.of(at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO);
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** Writes the pair of headers a 429 carries: whole seconds rounded up, and milliseconds. */
    public static Map<String, String> toHeaders(Duration wait) {
        long millis = Math.max(0, wait.toMillis());
        long seconds = (millis + 999) / 1000;
        return Map.of(RETRY_AFTER, Long.toString(seconds), RETRY_AFTER_MS, Long.toString(millis));
    }

    private static Duration decimal(String text, long nanosPerUnit) {
        try {
            double value = Double.parseDouble(text);
            if (!(value >= 0) || Double.isInfinite(value) || !text.matches("[0-9.]+")) return null;
            return Duration.ofNanos(Math.round(Math.min(value * nanosPerUnit, (double) Long.MAX_VALUE)));
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
