package dev.parley.limits;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code x-ratelimit-*} headers of one response: the request and token budgets per window, what is
 * left of them, and how long until they are full again. Each component is null when its header was
 * absent or unreadable; {@link #EMPTY} has none.
 */
public record RateLimitSnapshot(
        Long limitRequests,
        Long limitTokens,
        Long remainingRequests,
        Long remainingTokens,
        Duration resetRequests,
        Duration resetTokens) {

    public static final RateLimitSnapshot EMPTY = new RateLimitSnapshot(null, null, null, null, null, null);

    public static final String LIMIT_REQUESTS = "x-ratelimit-limit-requests";
    public static final String LIMIT_TOKENS = "x-ratelimit-limit-tokens";
    public static final String REMAINING_REQUESTS = "x-ratelimit-remaining-requests";
    public static final String REMAINING_TOKENS = "x-ratelimit-remaining-tokens";
    public static final String RESET_REQUESTS = "x-ratelimit-reset-requests";
    public static final String RESET_TOKENS = "x-ratelimit-reset-tokens";

    /** Reads the six headers; a missing or malformed one leaves its component null. */
    public static RateLimitSnapshot parse(Map<String, List<String>> headers) {
        return new RateLimitSnapshot(
                count(headers, LIMIT_REQUESTS),
                count(headers, LIMIT_TOKENS),
                count(headers, REMAINING_REQUESTS),
                count(headers, REMAINING_TOKENS),
                duration(headers, RESET_REQUESTS),
                duration(headers, RESET_TOKENS));
    }

    /** The headers for the non-null components, in the order above, durations as {@code 6m0s}. */
    public Map<String, String> toHeaders() {
        Map<String, String> headers = new LinkedHashMap<>();
        if (limitRequests != null) headers.put(LIMIT_REQUESTS, limitRequests.toString());
        if (limitTokens != null) headers.put(LIMIT_TOKENS, limitTokens.toString());
        if (remainingRequests != null) headers.put(REMAINING_REQUESTS, remainingRequests.toString());
        if (remainingTokens != null) headers.put(REMAINING_TOKENS, remainingTokens.toString());
        if (resetRequests != null) headers.put(RESET_REQUESTS, RateLimitDuration.format(resetRequests));
        if (resetTokens != null) headers.put(RESET_TOKENS, RateLimitDuration.format(resetTokens));
        return headers;
    }

    public boolean isEmpty() {
        return equals(EMPTY);
    }

    /**
     * How long until the budget that stops requests is refilled: the reset of whichever budget has
     * nothing left, the later one when both are empty; when none is reported empty, the later of the
     * resets present (a 429 says one of them is exhausted even if the counts lag). Null when no reset
     * header was sent.
     */
    public Duration resetWait() {
        boolean requestsOut = remainingRequests != null && remainingRequests <= 0;
        boolean tokensOut = remainingTokens != null && remainingTokens <= 0;
        if (requestsOut && !tokensOut && resetRequests != null) return resetRequests;
        if (tokensOut && !requestsOut && resetTokens != null) return resetTokens;
        if (resetRequests == null) return resetTokens;
        if (resetTokens == null) return resetRequests;
        return resetRequests.compareTo(resetTokens) >= 0 ? resetRequests : resetTokens;
    }

    private static Long count(Map<String, List<String>> headers, String name) {
        String value = Headers.first(headers, name);
        if (value == null) return null;
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Duration duration(Map<String, List<String>> headers, String name) {
        String value = Headers.first(headers, name);
        if (value == null) return null;
        try {
            return RateLimitDuration.parse(value);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
