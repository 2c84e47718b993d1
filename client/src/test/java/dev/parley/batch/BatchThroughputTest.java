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
 * End to end in real time against a server that enforces its limits and answers 429: the batch uses
 * nearly all of the binding limit and is almost never turned away, from a cold start. 400 requests at
 * 50 a second take about 8 s; the bounds are the issue's, generous for a shared machine.
 */
@Timeout(60)
class BatchThroughputTest {
    static final int REQUESTS = 400;

    @TempDir
    Path dir;

    BatchSummary run(LimitingServer server, BudgetLimits limits) throws Exception {
        var summary = batch(server, limits, dir, REQUESTS);
        System.out.println("[batch throughput] " + summary.describe());
        return summary;
    }

    BatchSummary batch(LimitingServer server, BudgetLimits limits, Path dir, int requests) throws Exception {
        Path input = dir.resolve("in.jsonl");
        Files.write(
                input,
                IntStream.range(0, requests)
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
                        BatchOptions.builder().limits(limits).maxConcurrency(50).build())
                .run(input, output);

        List<String> lines = Files.readAllLines(output);
        assertThat(lines).hasSize(requests);
        assertThat(new HashSet<>(lines.stream()
                        .map(line -> Json.tree(line).get("id").asText())
                        .toList()))
                .hasSize(requests);
        assertThat(summary.progress().succeeded()).isEqualTo(requests);
        return summary;
    }

    @Test
    void aRequestBoundBatchUsesNinetyPercentOfTheRpmWithUnderTwoPercent429() throws Exception {
        try (var server = new LimitingServer(3000, 10_000_000)) { // 50 requests a second
            var summary = run(server, new BudgetLimits(3000, 10_000_000, Duration.ofSeconds(1)));
            assertThat(summary.tokensBound()).isFalse();
            assertThat(summary.utilisation()).isGreaterThanOrEqualTo(0.9);
            assertThat(summary.rateLimitedShare()).isLessThan(0.02);
        }
    }

    @Test
    void aTokenBoundBatchUsesNinetyPercentOfTheTpmWithUnderTwoPercent429() throws Exception {
        // Each request costs 11 prompt + 100 completion tokens: 333,000 TPM is about 50 requests a second.
        try (var server = new LimitingServer(1_000_000, 333_000)) {
            var summary = run(server, new BudgetLimits(1_000_000, 333_000, Duration.ofSeconds(1)));
            assertThat(summary.tokensBound()).isTrue();
            assertThat(summary.utilisation()).isGreaterThanOrEqualTo(0.9);
            assertThat(summary.rateLimitedShare()).isLessThan(0.02);
        }
    }

    @Test
    void aBatchConfiguredAboveTheServersLimitFollowsItsHeadersDown() throws Exception {
        try (var server = new LimitingServer(3000, 10_000_000)) {
            var summary = run(server, new BudgetLimits(6000, 10_000_000, Duration.ofSeconds(1)));
            assertThat(summary.usage().requestsPerMinute()).isEqualTo(3000); // learnt from x-ratelimit-limit-requests
            assertThat(summary.rateLimitedShare()).isLessThan(0.02);
        }
    }
}
