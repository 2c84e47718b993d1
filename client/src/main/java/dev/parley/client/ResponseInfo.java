package dev.parley.client;

import dev.parley.limits.RateLimitSnapshot;
import java.util.List;
import java.util.Map;

/**
 * What a successful HTTP response said besides its body: status, {@code x-request-id} (null when the
 * server sent none), the {@code x-ratelimit-*} budget it reported ({@link RateLimitSnapshot#EMPTY} when
 * none) and every header (names ignore case).
 */
public record ResponseInfo(
        int status, String requestId, RateLimitSnapshot rateLimit, Map<String, List<String>> headers) {}
