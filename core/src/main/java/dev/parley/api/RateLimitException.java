package dev.parley.api;

/**
 * 429 {@code rate_limit_exceeded}: too many requests or tokens per minute (or day). Worth retrying after
 * the wait the server asks for. A quota that is used up is {@link QuotaExceededException} instead.
 */
public class RateLimitException extends ApiException {
    public RateLimitException(ApiError error) {
        super(429, error);
    }
}
