package dev.parley.api;

import dev.parley.limits.RetryAfter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * 429 {@code rate_limit_exceeded}: too many requests or tokens per minute (or day). Worth retrying after
 * the wait the server asks for ({@link #retryAfter}). A quota that is used up is
 * {@link QuotaExceededException} instead.
 */
public class RateLimitException extends ApiException {
    public RateLimitException(ApiError error) {
        super(429, error);
    }

    /** With the headers of the response that carried it (see {@link ApiException#headers()}). */
    public RateLimitException(ApiError error, Map<String, List<String>> headers) {
        super(429, error, headers);
    }

    /**
     * The wait the response asked for: {@code retry-after-ms}, else {@code retry-after} (seconds, or an
     * HTTP-date measured from {@code now}), else the {@code x-ratelimit-reset-*} of the exhausted budget.
     * Empty when the response said none of these.
     */
    public Optional<Duration> retryAfter(Instant now) {
        return RetryAfter.parse(headers(), now)
                .or(() -> Optional.ofNullable(rateLimit().resetWait()));
    }
}
