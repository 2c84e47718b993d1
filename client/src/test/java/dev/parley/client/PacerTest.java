package dev.parley.client;

import static dev.parley.client.Fixtures.COMPLETION;
import static dev.parley.client.Fixtures.RATE_LIMITED;
import static dev.parley.client.Fixtures.hello;
import static dev.parley.client.ScriptedServer.Reply.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.RateLimitException;
import dev.parley.limits.RateLimitSnapshot;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PacerTest {

    /** A clock that only moves when the sleeper sleeps, so waits are exact and instant. */
    static final class SteppedTime extends Clock implements Sleeper {
        private volatile Instant now = Fixtures.NOW;
        final List<Duration> sleeps = new CopyOnWriteArrayList<>();

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public synchronized void sleep(Duration duration) {
            sleeps.add(duration);
            now = now.plus(duration);
        }
    }

    final ScriptedServer server = ScriptedServer.start();
    final SteppedTime time = new SteppedTime();
    final Pacer pacer = Pacer.create(time);

    @AfterEach
    void stop() {
        server.close();
    }

    ParleyClient client(int maxRetries) {
        return ParleyClient.create(ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl())
                .clock(time)
                .sleeper(time)
                .random(Fixtures.HALF)
                .maxRetries(maxRetries)
                .maxRetryWait(Duration.ofMinutes(10))
                .pacer(pacer)
                .build());
    }

    @Test
    void holdsTheNextRequestUntilASpentBudgetResetsInsteadOfCollectingA429() {
        server.enqueue(
                json(200, COMPLETION, "x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "2s"),
                json(200, COMPLETION));
        try (var client = client(2)) {
            client.chat(hello());
            client.chat(hello());
        }
        assertThat(time.sleeps).containsExactly(Duration.ofSeconds(2));
        assertThat(server.requests()).hasSize(2);
    }

    @Test
    void sendsAtOnceWhileBudgetRemainsOrOnceTheResetHasPassed() {
        server.enqueue(
                json(200, COMPLETION, "x-ratelimit-remaining-requests", "5", "x-ratelimit-reset-requests", "2s"),
                json(200, COMPLETION, "x-ratelimit-remaining-tokens", "0", "x-ratelimit-reset-tokens", "1s"),
                json(200, COMPLETION));
        try (var client = client(2)) {
            client.chat(hello());
            client.chat(hello());
            time.sleep(Duration.ofSeconds(3)); // the caller was busy elsewhere
            client.chat(hello());
        }
        assertThat(time.sleeps).containsExactly(Duration.ofSeconds(3));
    }

    @Test
    void oneClientsSpentTokenBudgetHoldsAnotherClientSharingThePacer() {
        server.enqueue(
                json(200, COMPLETION, "x-ratelimit-remaining-tokens", "0", "x-ratelimit-reset-tokens", "6m0s"),
                json(200, COMPLETION));
        try (var first = client(0);
                var second = client(0)) {
            first.chat(hello());
            second.chat(hello());
        }
        assertThat(time.sleeps).containsExactly(Duration.ofMinutes(6));
    }

    @Test
    void aRateLimitsWaitHoldsEveryoneNotJustTheRetry() {
        server.enqueue(json(429, RATE_LIMITED, "retry-after", "5"), json(200, COMPLETION));
        try (var first = client(0);
                var second = client(0)) {
            assertThatThrownBy(() -> first.chat(hello())).isInstanceOf(RateLimitException.class);
            second.chat(hello());
        }
        assertThat(time.sleeps).containsExactly(Duration.ofSeconds(5));
    }

    @Test
    void aRetriedRateLimitWaitsOnceNotTwice() {
        server.enqueue(json(429, RATE_LIMITED, "retry-after", "5"), json(200, COMPLETION));
        try (var client = client(1)) {
            client.chat(hello());
        }
        assertThat(time.sleeps).containsExactly(Duration.ofSeconds(5));
    }

    @Test
    void neverShortensAHold() {
        pacer.holdFor(Duration.ofSeconds(10));
        pacer.observe(new RateLimitSnapshot(null, null, 0L, null, Duration.ofSeconds(1), null));
        assertThat(pacer.delay()).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void aResetYearsAwayHoldsForADayAtMost() {
        pacer.observe(new RateLimitSnapshot(null, null, 0L, null, Duration.ofHours(99_999), null));
        assertThat(pacer.delay()).isEqualTo(Pacer.LONGEST_HOLD);
        pacer.holdFor(Duration.ofSeconds(99_999_999_999L));
        assertThat(pacer.delay()).isEqualTo(Duration.ofDays(1));
    }
}
