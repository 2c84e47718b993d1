package dev.parley.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ApiExceptionTest {

    static final ApiError LIMITED = new ApiError("Rate limit reached", "requests", null, "rate_limit_exceeded");

    @Test
    void picksTheClassACallerActsOnAndKeepsTheHeaders() {
        var headers = Map.of("X-Request-Id", List.of("req_1"), "x-ratelimit-remaining-requests", List.of("0"));
        ApiException e = ApiException.of(429, LIMITED, headers);
        assertThat(e).isInstanceOf(RateLimitException.class);
        assertThat(e.requestId()).contains("req_1");
        assertThat(e.headers().get("x-request-id")).containsExactly("req_1");
        assertThat(e.rateLimit().remainingRequests()).isZero();
        assertThat(ApiException.of(429, new ApiError("no", "insufficient_quota", null, "insufficient_quota"), headers))
                .isInstanceOf(QuotaExceededException.class);
        assertThat(ApiException.of(503, LIMITED, headers))
                .isInstanceOf(ServerException.class)
                .extracting(ApiException::status)
                .isEqualTo(503);
    }

    @Test
    void aRateLimitSaysHowLongToWaitFromRetryAfterElseFromTheReset() {
        Instant now = Instant.parse("2026-11-25T20:00:00Z");
        var withRetryAfter = (RateLimitException) ApiException.of(
                429, LIMITED, Map.of("retry-after", List.of("3"), "x-ratelimit-reset-requests", List.of("20s")));
        var withReset = (RateLimitException)
                ApiException.of(429, LIMITED, Map.of("x-ratelimit-reset-requests", List.of("20s")));
        assertThat(withRetryAfter.retryAfter(now)).contains(Duration.ofSeconds(3));
        assertThat(withReset.retryAfter(now)).contains(Duration.ofSeconds(20));
        assertThat(new RateLimitException(LIMITED).retryAfter(now)).isEmpty();
    }

    @Test
    void anErrorMadeLocallyHasNoHeaders() {
        var e = ApiException.of(400, ApiError.invalidRequest("model", null, "you must provide a model parameter"));
        assertThat(e.headers()).isEmpty();
        assertThat(e.requestId()).isEmpty();
    }
}
