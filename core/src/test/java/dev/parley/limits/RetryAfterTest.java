package dev.parley.limits;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RetryAfterTest {

    static final Instant NOW = Instant.parse("2026-11-25T20:00:00Z");

    static Map<String, List<String>> headers(String... pairs) {
        var map = new java.util.HashMap<String, List<String>>();
        for (int i = 0; i < pairs.length; i += 2) map.put(pairs[i], List.of(pairs[i + 1]));
        return map;
    }

    @Test
    void prefersRetryAfterMsOverRetryAfter() {
        assertThat(RetryAfter.parse(headers("retry-after-ms", "1500.5", "retry-after", "2"), NOW))
                .contains(Duration.ofNanos(1_500_500_000));
    }

    @Test
    void readsRetryAfterAsSeconds() {
        assertThat(RetryAfter.parse(headers("Retry-After", "20"), NOW)).contains(Duration.ofSeconds(20));
        assertThat(RetryAfter.parse(headers("retry-after", "0.25"), NOW)).contains(Duration.ofMillis(250));
    }

    @Test
    void readsRetryAfterAsAnHttpDateMeasuredFromNow() {
        assertThat(RetryAfter.parse(headers("retry-after", "Wed, 25 Nov 2026 20:00:30 GMT"), NOW))
                .contains(Duration.ofSeconds(30));
        assertThat(RetryAfter.parse(headers("retry-after", "Wed, 25 Nov 2026 19:00:00 GMT"), NOW))
                .contains(Duration.ZERO);
    }

    @Test
    void isEmptyWhenAbsentOrUnreadable() {
        assertThat(RetryAfter.parse(Map.of(), NOW)).isEmpty();
        assertThat(RetryAfter.parse(headers("retry-after", "soon"), NOW)).isEmpty();
        assertThat(RetryAfter.parse(headers("retry-after", "-3"), NOW)).isEmpty();
        assertThat(RetryAfter.parse(headers("retry-after-ms", "x", "retry-after", "4"), NOW))
                .contains(Duration.ofSeconds(4));
    }

    @Test
    void writesSecondsRoundedUpAndMilliseconds() {
        assertThat(RetryAfter.toHeaders(Duration.ofMillis(1200)))
                .containsEntry("retry-after", "2")
                .containsEntry("retry-after-ms", "1200");
    }
}
