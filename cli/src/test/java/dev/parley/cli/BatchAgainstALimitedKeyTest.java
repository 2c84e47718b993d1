package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.batch.BatchOptions;
import dev.parley.batch.BatchRunner;
import dev.parley.batch.BatchSummary;
import dev.parley.batch.BudgetLimits;
import dev.parley.client.ClientOptions;
import dev.parley.client.Sleeper;
import dev.parley.limits.RateLimitSnapshot;
import dev.parley.server.ParleyServer;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The batch issue's proof, end to end over HTTP: a batch against a real Parley server whose API key is
 * limited server-side. The server's limiter and the batch share one simulated clock, which only the batch's
 * waits move, and the batch sends one request at a time: each run is the same however busy the machine is,
 * so the numbers below are the pacing's (the same runs in real time, with requests in flight, are
 * {@code BatchBenchmark}'s).
 */
@Timeout(180)
class BatchAgainstALimitedKeyTest {
    static final String SECRET = "sk-test-batch";

    @TempDir
    Path dir;

    /** Nanoseconds that move only when something sleeps on them. */
    final AtomicLong now = new AtomicLong(1_000_000_000L);

    final Sleeper sleeper = duration -> now.addAndGet(duration.toNanos());

    ParleyServer server(int rpm, int tpm) throws Exception {
        Path keys = dir.resolve("keys.json");
        KeysFile.add(keys, new KeyEntry("batch", KeysFile.sha256(SECRET), rpm, tpm, null, null, List.of()));
        var limiter = Limiter.inMemory(() -> Instant.EPOCH.plusNanos(now.get()));
        var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(4)
                .withContextPerSequence(256));
        return ParleyServer.start(engine, ApiKeys.load(keys), new RateLimits(limiter, false), "127.0.0.1", 0);
    }

    BatchSummary batch(ParleyServer server, int lines, BudgetLimits limits) throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(
                input,
                IntStream.range(0, lines)
                        .mapToObj(i -> "{\"custom_id\":\"r" + i + "\",\"model\":\"demo\",\"prompt\":\"Once upon a time "
                                + i + "\",\"max_tokens\":2,\"temperature\":0}")
                        .toList());
        Path output = dir.resolve("out.jsonl");
        var client = ClientOptions.builder(name -> null)
                .baseUrl(base(server))
                .apiKey(SECRET)
                .clock(Clock.fixed(Instant.EPOCH, ZoneOffset.UTC))
                .build();
        BatchSummary summary = BatchRunner.create(
                        client,
                        BatchOptions.builder()
                                .limits(limits)
                                .maxConcurrency(1)
                                .nanoTime(now::get)
                                .sleeper(sleeper)
                                .build())
                .run(input, output);
        System.out.println("[batch against a limited key, simulated time] " + summary.describe());

        List<JsonNode> results =
                Files.readAllLines(output).stream().map(Json::tree).toList();
        assertThat(results)
                .hasSize(lines)
                .allSatisfy(line ->
                        assertThat(line.has("response")).as(line.toString()).isTrue());
        Set<String> ids =
                results.stream().map(line -> line.get("custom_id").asText()).collect(Collectors.toSet());
        assertThat(ids)
                .isEqualTo(IntStream.range(0, lines).mapToObj(i -> "r" + i).collect(Collectors.toSet()));
        return summary;
    }

    static String base(ParleyServer server) {
        return "http://127.0.0.1:" + server.port() + "/v1";
    }

    /**
     * The run: 300 requests on a key of 120 RPM and 20,000 TPM whose bucket starts full. The floor is
     * 90 s (120 at once, then 2 a second); at the steady rate alone it would take 150 s.
     */
    @Test
    void threeHundredLinesOnAFreshKeyOf120RpmTakeAtMost100SecondsWithUnderOnePercent429s() throws Exception {
        try (var server = server(120, 20_000)) {
            BatchSummary summary = batch(server, 300, BudgetLimits.defaults()); // the headers bring it down
            assertThat(summary.usage().requestsPerMinute()).isEqualTo(120);
            assertThat(summary.progress().elapsed()).isLessThanOrEqualTo(Duration.ofSeconds(100));
            assertThat(summary.rateLimitedShare()).isLessThan(0.01);
        }
    }

    /**
     * A key that has been busy: its minute is spent but for two seconds' worth, so the server's limit binds
     * from the first request on and any overrun is answered 429. Told twice the key's limits, the batch
     * learns them from the headers.
     */
    @Test
    void aBatchToldMoreThanItsKeyMayFollowsTheServersLimitAndUsesAtLeastNinetyPercentWithUnderTwoPercent429s()
            throws Exception {
        int rpm = 1_200;
        try (var server = server(rpm, 200_000)) {
            spendAllBut(base(server), 40);
            BatchSummary summary = batch(server, 400, new BudgetLimits(2 * rpm, 400_000, Duration.ofSeconds(1)));
            assertThat(summary.usage().requestsPerMinute()).isEqualTo(rpm);
            assertThat(summary.utilisation()).isGreaterThanOrEqualTo(0.9);
            assertThat(summary.rateLimitedShare()).isLessThan(0.02);
        }
    }

    @Test
    void aLineAnswered429IsSentAgainAfterTheServersWaitAndSucceeds() throws Exception {
        try (var server = server(60, 100_000)) {
            spendAllBut(base(server), 0); // the first request of the batch meets the limit
            BatchSummary summary = batch(server, 3, BudgetLimits.defaults());
            assertThat(summary.progress().rateLimited()).isPositive();
            assertThat(summary.progress().succeeded()).isEqualTo(3);
            List<JsonNode> retried = Files.readAllLines(dir.resolve("out.jsonl")).stream()
                    .map(Json::tree)
                    .filter(line -> line.get("attempts").asInt() > 1)
                    .toList();
            assertThat(retried)
                    .isNotEmpty()
                    .allSatisfy(line -> assertThat(line.get("errors"))
                            .allSatisfy(error -> assertThat(error.asText()).startsWith("HTTP 429: ")));
        }
    }

    /** Spends the key's requests until {@code left} remain (the clock stands still meanwhile). */
    static void spendAllBut(String base, int left) throws Exception {
        var http = HttpClient.newHttpClient();
        var request = HttpRequest.newBuilder(URI.create(base + "/completions"))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + SECRET)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"Once\",\"max_tokens\":0}"))
                .build();
        while (true) {
            var response = http.send(request, HttpResponse.BodyHandlers.discarding());
            assertThat(response.statusCode()).isEqualTo(200);
            Long remaining = RateLimitSnapshot.parse(response.headers().map()).remainingRequests();
            if (remaining != null && remaining <= left) return;
        }
    }
}
