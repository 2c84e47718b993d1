package dev.parley.client;

import static dev.parley.client.Fixtures.COMPLETION;
import static dev.parley.client.Fixtures.NO_QUOTA;
import static dev.parley.client.Fixtures.OVERLOADED;
import static dev.parley.client.Fixtures.RATE_LIMITED;
import static dev.parley.client.Fixtures.SERVER_ERROR;
import static dev.parley.client.Fixtures.client;
import static dev.parley.client.Fixtures.hello;
import static dev.parley.client.ScriptedServer.Reply.drop;
import static dev.parley.client.ScriptedServer.Reply.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.QuotaExceededException;
import dev.parley.api.RateLimitException;
import dev.parley.api.ServerException;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RetryTest {
    final ScriptedServer server = ScriptedServer.start();
    final Waits waits = new Waits();

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void waitsTheRetryAfterSecondsOfA429ThenSucceeds() {
        server.enqueue(json(429, RATE_LIMITED, "retry-after", "2"), json(200, COMPLETION));
        try (var client = client(server, waits)) {
            assertThat(client.chat(hello()).text()).isEqualTo("Hello!");
        }
        assertThat(server.requests()).hasSize(2);
        assertThat(waits.waits()).containsExactly(Duration.ofSeconds(2));
    }

    @Test
    void prefersRetryAfterMsToRetryAfter() {
        server.enqueue(json(429, RATE_LIMITED, "retry-after-ms", "1500", "retry-after", "2"), json(200, COMPLETION));
        try (var client = client(server, waits)) {
            client.chat(hello());
        }
        assertThat(waits.waits()).containsExactly(Duration.ofMillis(1500));
    }

    @Test
    void readsRetryAfterAsAnHttpDateAgainstTheInjectedClock() {
        server.enqueue(json(429, RATE_LIMITED, "retry-after", "Wed, 25 Nov 2026 20:00:07 GMT"), json(200, COMPLETION));
        try (var client = client(server, waits)) {
            client.chat(hello());
        }
        assertThat(waits.waits()).containsExactly(Duration.ofSeconds(7));
    }

    @Test
    void withoutRetryAfterWaitsForTheResetOfTheExhaustedBudget() {
        server.enqueue(
                json(
                        429,
                        RATE_LIMITED,
                        "x-ratelimit-remaining-requests",
                        "10",
                        "x-ratelimit-remaining-tokens",
                        "0",
                        "x-ratelimit-reset-requests",
                        "120ms",
                        "x-ratelimit-reset-tokens",
                        "17.28s"),
                json(200, COMPLETION));
        try (var client = client(server, waits)) {
            client.chat(hello());
        }
        assertThat(waits.waits()).containsExactly(Duration.ofMillis(17_280));
    }

    @Test
    void capsWhatTheServerAsksForAtTheMaxWait() {
        server.enqueue(json(429, RATE_LIMITED, "x-ratelimit-reset-tokens", "6m0s"), json(200, COMPLETION));
        try (var client = client(server, waits, o -> o.maxRetryWait(Duration.ofSeconds(20)))) {
            client.chat(hello());
        }
        assertThat(waits.waits()).containsExactly(Duration.ofSeconds(20));
    }

    @Test
    void neverRetriesAUsedUpQuota() {
        server.enqueue(json(429, NO_QUOTA, "retry-after", "1"), json(200, COMPLETION));
        try (var client = client(server, waits)) {
            assertThatThrownBy(() -> client.chat(hello())).isInstanceOf(QuotaExceededException.class);
        }
        assertThat(server.requests()).hasSize(1);
        assertThat(waits.waits()).isEmpty();
    }

    @Test
    void retries500And503WithExponentialBackoff() {
        server.enqueue(json(500, SERVER_ERROR), json(503, OVERLOADED), json(200, COMPLETION));
        try (var client = client(server, waits)) {
            assertThat(client.chat(hello()).text()).isEqualTo("Hello!");
        }
        // Random fixed at one half: half of 0.5 s, then half of 1 s.
        assertThat(waits.waits()).containsExactly(Duration.ofMillis(250), Duration.ofMillis(500));
    }

    @Test
    void retries408And409() {
        server.enqueue(json(408, SERVER_ERROR), json(409, SERVER_ERROR), json(200, COMPLETION));
        try (var client = client(server, waits)) {
            client.chat(hello());
        }
        assertThat(server.requests()).hasSize(3);
    }

    @Test
    void honoursRetryAfterOnA503() {
        server.enqueue(json(503, OVERLOADED, "retry-after", "3"), json(200, COMPLETION));
        try (var client = client(server, waits)) {
            client.chat(hello());
        }
        assertThat(waits.waits()).containsExactly(Duration.ofSeconds(3));
    }

    @Test
    void givesUpAfterMaxRetriesWithTheLastError() {
        server.enqueue(
                json(500, SERVER_ERROR), json(500, SERVER_ERROR), json(503, OVERLOADED, "x-request-id", "req_last"));
        try (var client = client(server, waits)) {
            assertThatThrownBy(() -> client.chat(hello())).isInstanceOfSatisfying(ServerException.class, e -> {
                assertThat(e.status()).isEqualTo(503);
                assertThat(e.requestId()).contains("req_last");
            });
        }
        assertThat(server.requests()).hasSize(3);
        assertThat(waits.waits()).hasSize(2);
    }

    @Test
    void aRateLimitThatOutlastsTheRetriesIsThrownWithItsWait() {
        server.enqueue(json(429, RATE_LIMITED, "retry-after", "1"), json(429, RATE_LIMITED, "retry-after", "1"));
        try (var client = client(server, waits, o -> o.maxRetries(1))) {
            assertThatThrownBy(() -> client.chat(hello()))
                    .isInstanceOfSatisfying(
                            RateLimitException.class,
                            e -> assertThat(e.retryAfter(Fixtures.NOW)).contains(Duration.ofSeconds(1)));
        }
    }

    @Test
    void obeysTheServersXShouldRetry() {
        server.enqueue(json(500, SERVER_ERROR, "x-should-retry", "false"), json(200, COMPLETION));
        try (var client = client(server, waits)) {
            assertThatThrownBy(() -> client.chat(hello())).isInstanceOf(ServerException.class);
        }
        assertThat(server.requests()).hasSize(1);
    }

    @Test
    void retriesADroppedConnection() {
        server.enqueue(drop(), json(200, COMPLETION));
        try (var client = client(server, waits)) {
            assertThat(client.chat(hello()).text()).isEqualTo("Hello!");
        }
        assertThat(server.requests()).hasSize(2);
        assertThat(waits.waits()).containsExactly(Duration.ofMillis(250));
    }

    @Test
    void aServerThatCannotBeReachedIsATransportExceptionWithItsCause() throws IOException {
        int closedPort;
        try (var probe = new ServerSocket(0)) {
            closedPort = probe.getLocalPort();
        }
        var options = ClientOptions.builder(name -> null)
                .baseUrl("http://127.0.0.1:" + closedPort + "/v1")
                .sleeper(waits)
                .random(Fixtures.HALF)
                .build();
        try (var client = ParleyClient.create(options)) {
            assertThatThrownBy(() -> client.chat(hello()))
                    .isInstanceOf(TransportException.class)
                    .hasMessageContaining("POST http://127.0.0.1:" + closedPort + "/v1/chat/completions failed")
                    .hasCauseInstanceOf(IOException.class);
        }
        assertThat(waits.waits()).hasSize(2);
    }

    @Test
    void retriesARequestThatGetsNoAnswerInTimeThenReportsTheTimeout() {
        server.enqueue(ScriptedServer.Reply.silence(), json(200, COMPLETION), ScriptedServer.Reply.silence());
        try (var client =
                client(server, waits, o -> o.timeout(Duration.ofMillis(200)).maxRetries(1))) {
            assertThat(client.chat(hello()).text()).isEqualTo("Hello!");
            assertThat(waits.waits()).hasSize(1);
            server.enqueue(ScriptedServer.Reply.silence());
            assertThatThrownBy(() -> client.chat(hello()))
                    .isInstanceOf(TransportException.class)
                    .hasCauseInstanceOf(java.net.http.HttpTimeoutException.class);
        }
    }

    @Test
    void zeroRetriesMeansOneAttempt() {
        server.enqueue(json(500, SERVER_ERROR), json(200, COMPLETION));
        try (var client = client(server, waits, o -> o.maxRetries(0))) {
            assertThatThrownBy(() -> client.chat(hello())).isInstanceOf(ServerException.class);
        }
        assertThat(server.requests()).hasSize(1);
    }

    /** The seed's tenacity {@code @retry(wait=wait_random_exponential(min=1, max=60), stop=stop_after_attempt(6))}. */
    @Test
    void expressesTenacitysRandomExponentialWaitAndSixAttempts() {
        for (int i = 0; i < 6; i++) server.enqueue(json(500, SERVER_ERROR));
        RandomGenerator highest = () -> -1L; // nextDouble() just below 1: the top of each range
        try (var client = client(
                server,
                waits,
                o -> o.initialRetryDelay(Duration.ofSeconds(1))
                        .minRetryDelay(Duration.ofSeconds(1))
                        .maxRetryDelay(Duration.ofSeconds(60))
                        .maxRetries(5)
                        .random(highest))) {
            assertThatThrownBy(() -> client.chat(hello())).isInstanceOf(ServerException.class);
        }
        assertThat(server.requests()).hasSize(6);
        assertThat(waits.waits()).hasSize(5);
        long[] ceilings = {1, 2, 4, 8, 16};
        for (int i = 0; i < 5; i++) {
            assertThat(waits.waits().get(i)).isBetween(Duration.ofSeconds(1), Duration.ofSeconds(ceilings[i]));
            assertThat(waits.waits().get(i))
                    .isGreaterThan(Duration.ofSeconds(ceilings[i]).minusMillis(1));
        }
    }
}
