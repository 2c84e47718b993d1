package dev.parley.server.limits;

import static dev.parley.server.limits.Keyed.key;
import static dev.parley.server.limits.Keyed.post;
import static dev.parley.server.limits.Keyed.promptOnly;
import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.completions.CompletionCreateParams;
import dev.parley.api.CompletionRequest;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.client.Sleeper;
import dev.parley.server.ParleyServer;
import dev.parley.server.auth.ApiKeys;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that honour {@code retry-after} get through a limited key by waiting, against the real clock:
 * 60 requests per minute, so a wait is at most one second.
 */
@Timeout(60)
class ClientRetryTest {
    static ParleyServer server;
    static String base;

    @BeforeAll
    static void start(@TempDir Path dir) {
        Path keys = Keyed.keysFile(
                dir,
                key("parley", 60, 1_000_000, null, null, List.of()),
                key("sdk", 60, 1_000_000, null, null, List.of()));
        server = ParleyServer.start(
                Keyed.engine(),
                ApiKeys.load(keys),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0);
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void parleysClientWaitsOutA429AndSucceeds() {
        var waits = new CopyOnWriteArrayList<Duration>();
        Sleeper recording = wait -> {
            waits.add(wait);
            Sleeper.REAL.sleep(wait);
        };
        var options = ClientOptions.builder(name -> null)
                .baseUrl(base + "/v1")
                .apiKey(Keyed.secret("parley"))
                .maxRetries(2)
                .sleeper(recording)
                .build();
        try (var client = ParleyClient.create(options)) {
            // Spend the key's requests until one call meets a 429, waits, and still succeeds.
            for (int call = 0; call < 200 && waits.isEmpty(); call++) {
                assertThat(client.complete(CompletionRequest.of("demo", Keyed.PROMPT)
                                        .withMaxTokens(0))
                                .choices())
                        .hasSize(1);
            }
        }
        assertThat(waits).hasSize(1);
        assertThat(waits.getFirst()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void theOfficialOpenAiJavaSdkRetriesA429AndSucceeds() throws Exception {
        spendAllButAWaitOfHalfASecond("sdk");
        var client = OpenAIOkHttpClient.builder()
                .baseUrl(base + "/v1")
                .apiKey(Keyed.secret("sdk"))
                .maxRetries(3)
                .build();
        try {
            var completion = client.completions()
                    .create(CompletionCreateParams.builder()
                            .model("demo")
                            .prompt(Keyed.PROMPT)
                            .maxTokens(0)
                            .build());
            assertThat(completion.choices()).hasSize(1);
        } finally {
            client.close();
        }
    }

    /**
     * Sends requests until the key's request budget is spent and the next request token is at least half
     * a second away, so the next request surely meets a 429.
     */
    static void spendAllButAWaitOfHalfASecond(String key) throws Exception {
        for (int i = 0; i < 300; i++) {
            var response = post(base, key, "/v1/completions", promptOnly());
            if (response.statusCode() == 200) continue;
            assertThat(response.statusCode()).isEqualTo(429);
            long waitMs = Long.parseLong(
                    response.headers().firstValue("retry-after-ms").orElseThrow());
            if (waitMs >= 500) return;
            Thread.sleep(waitMs + 10);
        }
        throw new AssertionError("the key's budget was never spent");
    }
}
