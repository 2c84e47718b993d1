package dev.parley.api;

import java.util.List;
import java.util.Map;

/**
 * 429 {@code insufficient_quota}: the account's credit or quota is used up. Unlike a rate limit, waiting
 * does not help, so it is never retried.
 */
public class QuotaExceededException extends ApiException {
    public static final String CODE = "insufficient_quota";

    public QuotaExceededException(ApiError error) {
        super(429, error);
    }

    /** With the headers of the response that carried it (see {@link ApiException#headers()}). */
    public QuotaExceededException(ApiError error, Map<String, List<String>> headers) {
        super(429, error, headers);
    }
}
