package dev.parley.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RateLimitSnapshotTest {

    @Test
    void readsAllSixHeadersIgnoringCase() {
        var snapshot = RateLimitSnapshot.parse(Map.of(
                "X-RateLimit-Limit-Requests", List.of("60"),
                "x-ratelimit-limit-tokens", List.of("150000"),
                "x-ratelimit-remaining-requests", List.of("59"),
                "x-ratelimit-remaining-tokens", List.of("149984"),
                "x-ratelimit-reset-requests", List.of("1s"),
                "x-ratelimit-reset-tokens", List.of("6m0s")));
        assertThat(snapshot)
                .isEqualTo(new RateLimitSnapshot(
                        60L, 150_000L, 59L, 149_984L, Duration.ofSeconds(1), Duration.ofMinutes(6)));
    }

    @Test
    void leavesAbsentAndMalformedHeadersNull() {
        var snapshot = RateLimitSnapshot.parse(Map.of(
                "x-ratelimit-limit-requests",
                List.of("lots"),
                "x-ratelimit-reset-tokens",
                List.of("soon"),
                "x-ratelimit-remaining-tokens",
                List.of("12")));
        assertThat(snapshot).isEqualTo(new RateLimitSnapshot(null, null, null, 12L, null, null));
        assertThat(RateLimitSnapshot.parse(Map.of())).isEqualTo(RateLimitSnapshot.EMPTY);
        assertThat(RateLimitSnapshot.EMPTY.isEmpty()).isTrue();
    }

    @Test
    void writesHeadersThatReadBackTheSame() {
        var snapshot = new RateLimitSnapshot(60L, 1000L, 0L, 10L, Duration.ofMillis(120), Duration.ofMillis(17_280));
        Map<String, String> headers = snapshot.toHeaders();
        assertThat(headers)
                .containsEntry("x-ratelimit-reset-requests", "120ms")
                .containsEntry("x-ratelimit-reset-tokens", "17.28s");
        var asLists = new java.util.HashMap<String, List<String>>();
        headers.forEach((name, value) -> asLists.put(name, List.of(value)));
        assertThat(RateLimitSnapshot.parse(asLists)).isEqualTo(snapshot);
    }

    @Test
    void resetWaitIsTheResetOfTheExhaustedBudget() {
        var requestsOut = new RateLimitSnapshot(60L, 1000L, 0L, 500L, Duration.ofSeconds(2), Duration.ofSeconds(30));
        var tokensOut = new RateLimitSnapshot(60L, 1000L, 5L, 0L, Duration.ofSeconds(2), Duration.ofSeconds(30));
        var unclear = new RateLimitSnapshot(null, null, null, null, Duration.ofSeconds(2), Duration.ofSeconds(30));
        assertThat(requestsOut.resetWait()).isEqualTo(Duration.ofSeconds(2));
        assertThat(tokensOut.resetWait()).isEqualTo(Duration.ofSeconds(30));
        assertThat(unclear.resetWait()).isEqualTo(Duration.ofSeconds(30));
        assertThat(RateLimitSnapshot.EMPTY.resetWait()).isNull();
    }
}
