package dev.parley.api;

/**
 * 429 {@code insufficient_quota}: the account's credit or quota is used up. Unlike a rate limit, waiting
 * does not help, so it is never retried.
 */
public class QuotaExceededException extends ApiException {
    public static final String CODE = "insufficient_quota";

    public QuotaExceededException(ApiError error) {
        super(429, error);
    }
}
