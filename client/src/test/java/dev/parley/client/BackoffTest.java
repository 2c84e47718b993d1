package dev.parley.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void drawsFullJitterBelowADoublingCeilingCappedAtMax() {
        var backoff =
                new Backoff(Duration.ofMillis(500), Duration.ZERO, Duration.ofSeconds(8), new SplittableRandom(1));
        for (int retry = 1; retry <= 12; retry++) {
            Duration ceiling = Duration.ofMillis(Math.min(8000, 500L << (retry - 1)));
            for (int i = 0; i < 200; i++) assertThat(backoff.delay(retry)).isBetween(Duration.ZERO, ceiling);
        }
    }

    @Test
    void spreadsItsDelaysOverTheWholeRange() {
        var backoff =
                new Backoff(Duration.ofSeconds(1), Duration.ZERO, Duration.ofSeconds(60), new SplittableRandom(2));
        var delays = java.util.stream.IntStream.range(0, 1000)
                .mapToObj(i -> backoff.delay(3))
                .toList();
        assertThat(delays).anyMatch(d -> d.compareTo(Duration.ofMillis(400)) < 0);
        assertThat(delays).anyMatch(d -> d.compareTo(Duration.ofMillis(3600)) > 0);
    }

    @Test
    void matchesTenacitysWaitRandomExponentialMinOneMaxSixty() {
        var lowest = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(60), () -> 0L);
        var highest = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(60), () -> -1L);
        for (int retry = 1; retry <= 10; retry++) {
            assertThat(lowest.delay(retry)).isEqualTo(Duration.ofSeconds(1));
            long ceiling = Math.min(60, 1L << (retry - 1));
            assertThat(highest.delay(retry))
                    .isBetween(Duration.ofSeconds(ceiling).minusMillis(1), Duration.ofSeconds(ceiling));
        }
    }

    @Test
    void neverOverflowsOnLateRetries() {
        var backoff = new Backoff(Duration.ofSeconds(1), Duration.ZERO, Duration.ofSeconds(8), () -> -1L);
        assertThat(backoff.delay(1000)).isBetween(Duration.ofSeconds(7), Duration.ofSeconds(8));
    }
}
