package dev.parley.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.Json;
import dev.parley.client.ClientOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner end to end, over real HTTP, against a server that enforces its limits over one-second windows
 * and answers 429: the batch uses nearly all of the binding limit and is almost never turned away, from a
 * cold start. Server and batch share one stepped clock, moved only by the batch's waits, and the batch sends
 * one request at a time, so each run is the same however busy the machine is: these are the pacing's
 * numbers, not this machine's. How the same runs fare in real time with many requests in flight is
 * {@code BatchBenchmark}'s question.
 */
@Timeout(60)
class BatchThroughputTest {
    static final int REQUESTS = 400;

    @TempDir
    Path dir;

    final SteppingTime time = new SteppingTime();

    BatchSummary run(LimitingServer server, BudgetLimits limits) throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(
                input,
                IntStream.range(0, REQUESTS)
                        .mapToObj(i -> "{\"custom_id\":\"r" + i
                                + "\",\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Question "
                                + i + "\"}],\"max_tokens\":100}")
                        .toList());
        Path output = dir.resolve("out.jsonl");
        var client = ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl())
                .apiKey("sk-x")
                .build();
        var summary = BatchRunner.create(
                        client,
                        BatchOptions.builder()
                                .limits(limits)
                                .maxConcurrency(1)
                                .nanoTime(time)
                                .sleeper(time)
                                .build())
                .run(input, output);
        System.out.println("[batch throughput, simulated time] " + summary.describe());

        List<String> lines = Files.readAllLines(output);
        assertThat(lines).hasSize(REQUESTS);
        assertThat(new HashSet<>(lines.stream()
                        .map(line -> Json.tree(line).get("id").asText())
                        .toList()))
                .hasSize(REQUESTS);
        assertThat(summary.progress().succeeded()).isEqualTo(REQUESTS);
        return summary;
    }

    @Test
    void aRequestBoundBatchUsesNinetyPercentOfTheRpmWithUnderTwoPercent429() throws Exception {
        try (var server = new LimitingServer(3000, 10_000_000, time)) { // 50 requests a second
            var summary = run(server, new BudgetLimits(3000, 10_000_000, Duration.ofSeconds(1)));
            assertThat(summary.tokensBound()).isFalse();
            assertThat(summary.utilisation()).isGreaterThanOrEqualTo(0.9);
            assertThat(summary.rateLimitedShare()).isLessThan(0.02);
            // 400 at 50 a second, the first 25 at once: 7.5 s of simulated time.
            assertThat(summary.progress().elapsed()).isLessThanOrEqualTo(Duration.ofMillis(7600));
        }
    }

    @Test
    void aTokenBoundBatchUsesNinetyPercentOfTheTpmWithUnderTwoPercent429() throws Exception {
        // Each request costs 11 prompt + 100 completion tokens: 333,000 TPM is about 50 requests a second.
        try (var server = new LimitingServer(1_000_000, 333_000, time)) {
            var summary = run(server, new BudgetLimits(1_000_000, 333_000, Duration.ofSeconds(1)));
            assertThat(summary.tokensBound()).isTrue();
            assertThat(summary.utilisation()).isGreaterThanOrEqualTo(0.9);
            assertThat(summary.rateLimitedShare()).isLessThan(0.02);
        }
    }

    @Test
    void aBatchConfiguredAboveTheServersLimitFollowsItsHeadersDown() throws Exception {
        try (var server = new LimitingServer(3000, 10_000_000, time)) {
            var summary = run(server, new BudgetLimits(6000, 10_000_000, Duration.ofSeconds(1)));
            assertThat(summary.usage().requestsPerMinute()).isEqualTo(3000); // learnt from x-ratelimit-limit-requests
            assertThat(summary.rateLimitedShare()).isLessThan(0.02);
            assertThat(server.rejected.get()).isLessThanOrEqualTo(REQUESTS / 50);
        }
    }
}
