package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
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
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The batch issue's proof, end to end: {@code parley batch} against a real Parley server whose API key is
 * limited server-side. The key had 120 RPM and 20,000 TPM; here both are ten times that (1,200 RPM,
 * 200,000 TPM, the same ratio), so that the run takes some 20 s instead of minutes, and the requests are
 * small, so that requests per minute bind.
 */
@Timeout(180)
class BatchAgainstALimitedKeyTest {
    static final String SECRET = "sk-test-batch";
    static final int RPM = 1_200;
    static final int TPM = 200_000;
    static final int LINES = 400;
    /** Requests the key has left when the batch starts: two seconds' worth. */
    static final int LEFT = 40;

    static final Pattern SUMMARY = Pattern.compile(
            "binding limit: ([0-9.]+)% of ([0-9,]+) RPM; answered 429: ([0-9.]+)% \\((\\d+) of (\\d+)\\)");

    @TempDir
    Path dir;

    @Test
    void aBatchToldMoreThanItsKeyMayFollowsTheServersLimitAndUsesAtLeastNinetyPercentWithUnderTwoPercent429s()
            throws Exception {
        Path keys = dir.resolve("keys.json");
        KeysFile.add(keys, new KeyEntry("batch", KeysFile.sha256(SECRET), RPM, TPM, null, null, List.of()));
        var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(4)
                .withContextPerSequence(256));
        try (var server = ParleyServer.start(
                engine,
                ApiKeys.load(keys),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0)) {
            String base = "http://127.0.0.1:" + server.port() + "/v1";
            // A key's bucket starts full, a whole minute's worth: a 20 s run could never meet the server's limit.
            // The key has been busy instead: its minute is spent but for two seconds' worth, so the server's limit
            // binds from the first request on and any overrun is answered 429.
            spendAllBut(base, LEFT);
            Path input = dir.resolve("in.jsonl");
            Files.write(
                    input,
                    IntStream.range(0, LINES)
                            .mapToObj(i -> "{\"custom_id\":\"r" + i
                                    + "\",\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time "
                                    + i
                                    + "\"}],\"max_tokens\":4,\"temperature\":0}")
                            .toList());
            Path output = dir.resolve("out.jsonl");

            // Told twice the key's limits: the x-ratelimit-* headers bring it down.
            var out = new StringWriter();
            var err = new StringWriter();
            CommandLine command = Main.commandLine();
            command.setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
            int exit = command.execute(
                    "batch",
                    input.toString(),
                    "--output",
                    output.toString(),
                    "--base-url",
                    base,
                    "--api-key",
                    SECRET,
                    "--max-requests-per-minute",
                    Integer.toString(2 * RPM),
                    "--max-tokens-per-minute",
                    Integer.toString(2 * TPM),
                    "--max-concurrency",
                    "8",
                    "--log-level",
                    "WARNING");

            System.out.println("[batch against a key limited to 1,200 RPM] "
                    + out.toString().lines().findFirst().orElse(""));
            assertThat(exit).as(err.toString()).isZero();
            var summary = SUMMARY.matcher(out.toString());
            assertThat(summary.find()).as(out.toString()).isTrue();
            assertThat(summary.group(2)).isEqualTo("1,200"); // the server's limit, not 2,400
            assertThat(Double.parseDouble(summary.group(1))).isGreaterThanOrEqualTo(90.0);
            assertThat(Double.parseDouble(summary.group(3))).isLessThan(2.0);
            assertThat(Long.parseLong(summary.group(5))).isGreaterThanOrEqualTo(LINES);
            List<JsonNode> results =
                    Files.readAllLines(output).stream().map(Json::tree).toList();
            assertThat(results)
                    .hasSize(LINES)
                    .allSatisfy(line ->
                            assertThat(line.has("response")).as(line.toString()).isTrue());
            Set<String> ids =
                    results.stream().map(line -> line.get("custom_id").asText()).collect(Collectors.toSet());
            assertThat(ids)
                    .isEqualTo(IntStream.range(0, LINES).mapToObj(i -> "r" + i).collect(Collectors.toSet()));
        }
    }

    /** Spends the key's requests until at most {@code left} remain, with cheap prompt-only completions. */
    static void spendAllBut(String base, int left) throws Exception {
        var http = HttpClient.newHttpClient();
        var request = HttpRequest.newBuilder(URI.create(base + "/completions"))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + SECRET)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"prompt\":\"Once\",\"max_tokens\":0}"))
                .build();
        var enough = new AtomicBoolean();
        try (var senders = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 4; i++) {
                senders.submit(() -> {
                    while (!enough.get()) {
                        var response = http.send(request, HttpResponse.BodyHandlers.discarding());
                        assertThat(response.statusCode()).isEqualTo(200);
                        Long remaining = RateLimitSnapshot.parse(
                                        response.headers().map())
                                .remainingRequests();
                        if (remaining != null && remaining <= left + 4) enough.set(true); // four may be on their way
                    }
                    return null;
                });
            }
        }
    }
}
