package dev.parley.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RateLimitDurationTest {

    @ParameterizedTest
    @CsvSource({
        "1s, 1000000000",
        "6m0s, 360000000000",
        "120ms, 120000000",
        "1h2m3.5s, 3723500000000",
        "20ms, 20000000",
        "0s, 0",
        "17.28s, 17280000000",
        "1h0m0s, 3600000000000",
        "1.5ms, 1500000",
        "2.5µs, 2500",
        "999ns, 999",
        "59.999s, 59999000000",
    })
    void readsAndWritesOpenAisDurationsBothWays(String text, long nanos) {
        assertThat(RateLimitDuration.parse(text)).isEqualTo(Duration.ofNanos(nanos));
        assertThat(RateLimitDuration.format(Duration.ofNanos(nanos))).isEqualTo(text);
    }

    @ParameterizedTest
    @CsvSource({
        "0, 0",
        "1m, 60000000000",
        "1.5h, 5400000000000",
        "2us, 2000",
        "1m30s, 90000000000",
        "  7s , 7000000000",
        "1.9ns, 1"
    })
    void readsOtherSpellingsGoAccepts(String text, long nanos) {
        assertThat(RateLimitDuration.parse(text)).isEqualTo(Duration.ofNanos(nanos));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "s", "1", "1x", "-1s", "1..2s", "ms1", "1s 2s", "3000000h", "99999999999999999999999s"})
    void rejectsTextThatIsNotADuration(String text) {
        assertThatThrownBy(() -> RateLimitDuration.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void rejectsNegativeDurationsOnOutput() {
        assertThatThrownBy(() -> RateLimitDuration.format(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void roundTripsAnyDuration() {
        var random = new SplittableRandom(7);
        for (int i = 0; i < 10_000; i++) {
            long nanos = switch (i % 4) {
                case 0 -> random.nextLong(1_000_000L);
                case 1 -> random.nextLong(1_000_000_000L) / 1_000_000 * 1_000_000;
                case 2 -> random.nextLong(100_000_000_000L);
                default -> random.nextLong(1_000_000_000_000_000L);
            };
            Duration duration = Duration.ofNanos(nanos);
            assertThat(RateLimitDuration.parse(RateLimitDuration.format(duration)))
                    .isEqualTo(duration);
        }
    }
}
