package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.Json;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /metrics} of a real keyed server, scraped and parsed after real requests. */
@Timeout(60)
class MetricsTest {
    static ParleyServer server;
    static Loopback loopback;

    @BeforeAll
    static void start(@TempDir Path dir) {
        Path keys = dir.resolve("keys.json");
        KeysFile.add(keys, new KeyEntry("team-a", KeysFile.sha256("sk-a"), 1000, 1_000_000, null, null, List.of()));
        KeysFile.add(keys, new KeyEntry("tiny", KeysFile.sha256("sk-tiny"), 1, 1_000_000, null, null, List.of()));
        server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(128)),
                ApiKeys.load(keys),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0);
        loopback = Loopback.to(server);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (loopback != null) loopback.close();
    }

    HttpResponse<String> post(String key, String path, String body) throws Exception {
        return loopback.http()
                .send(
                        HttpRequest.newBuilder(URI.create(loopback.base() + path))
                                .header("Authorization", "Bearer " + key)
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    /** Every sample of a Prometheus text exposition: {@code name{labels}} → value. */
    static Map<String, Double> scrape() throws Exception {
        var response = loopback.get("/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
        return parse(response.body());
    }

    /** The samples of a Prometheus text exposition: {@code name{labels}} → value. */
    static Map<String, Double> parse(String text) {
        Map<String, Double> samples = new LinkedHashMap<>();
        Pattern sample = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{.*})?) (\\S+)");
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            Matcher matcher = sample.matcher(line);
            assertThat(matcher.matches()).as(line).isTrue();
            samples.put(matcher.group(1), Double.parseDouble(matcher.group(2)));
        }
        return samples;
    }

    /** The sum of the samples named {@code name} whose labels include every one of {@code labels}. */
    static double sum(Map<String, Double> samples, String name, String... labels) {
        double total = 0;
        for (var entry : samples.entrySet()) {
            String series = entry.getKey();
            if (!series.equals(name) && !series.startsWith(name + "{")) continue;
            boolean all = true;
            for (String label : labels) all &= series.contains(label);
            if (all) total += entry.getValue();
        }
        return total;
    }

    @Test
    void aScrapeAllocatesAboutWhatItWrites() throws Exception {
        scrape(); // every class loaded
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getTotalThreadAllocatedBytes();
        long written = 0;
        for (int i = 0; i < 10; i++) written += loopback.get("/metrics").body().length();
        long allocated = threads.getTotalThreadAllocatedBytes() - before;
        // Written on the request's virtual thread, each 4 KB scrape made 13 MB of garbage (a buffer grown by copies).
        assertThat(written).isPositive();
        assertThat(allocated).isLessThan(10 * 2_000_000L);
    }

    @Test
    void requestsTokensLatencyAndRefusalsAreCountedByRouteModelKeyAndStatus() throws Exception {
        long started = System.nanoTime();
        var before = scrape();
        String chat = "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                + "\"max_tokens\":5,\"temperature\":0}";
        var first = post("sk-a", "/v1/chat/completions", chat);
        String stream = "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                + "\"max_tokens\":5,\"temperature\":0,\"stream\":true}";
        var second = post("sk-a", "/v1/chat/completions", stream);
        assertThat(second.body()).startsWith("data: ").endsWith("data: [DONE]\n\n");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(post("sk-tiny", "/v1/chat/completions", chat).statusCode()).isEqualTo(200);
        assertThat(post("sk-tiny", "/v1/chat/completions", chat).statusCode()).isEqualTo(429);
        assertThat(post("sk-wrong", "/v1/chat/completions", chat).statusCode()).isEqualTo(401);
        int prompt = Json.tree(first.body()).path("usage").path("prompt_tokens").asInt();

        var after = scrape();
        String route = "route=\"/v1/chat/completions\"";
        assertThat(sum(after, "parley_requests_total", route, "key=\"team-a\"", "model=\"demo\"", "status=\"200\"")
                        - sum(before, "parley_requests_total", route, "key=\"team-a\"", "status=\"200\""))
                .isEqualTo(2);
        assertThat(sum(after, "parley_requests_total", route, "key=\"tiny\"", "status=\"429\""))
                .isEqualTo(1);
        assertThat(sum(after, "parley_requests_total", route, "key=\"\"", "status=\"401\""))
                .isEqualTo(1);
        assertThat(sum(after, "parley_rate_limited_total", "limit=\"requests\"", "key=\"tiny\""))
                .isEqualTo(1);
        assertThat(sum(after, "parley_prompt_tokens_total", "key=\"team-a\"", "model=\"demo\""))
                .isEqualTo(2.0 * prompt);
        assertThat(sum(after, "parley_completion_tokens_total", "key=\"team-a\"", "model=\"demo\""))
                .isEqualTo(10);
        assertThat(sum(after, "parley_time_to_first_token_seconds_count", "model=\"demo\""))
                .isEqualTo(3);
        assertThat(sum(after, "parley_request_duration_seconds_count", route, "model=\"demo\""))
                .isEqualTo(4);
        assertThat(sum(after, "parley_request_duration_seconds_bucket", route, "model=\"demo\"", "le=\"+Inf\""))
                .isEqualTo(4);
        assertThat(after).containsEntry("parley_engine_up", 1.0);
        assertThat(after).containsEntry("parley_engine_slots", 2.0);
        assertThat(after).containsEntry("parley_engine_slots_busy", 0.0);
        assertThat(after).containsEntry("parley_engine_queue_waiting", 0.0);
        assertThat(after).containsEntry("parley_limiter_down", 0.0);
        // The engine decoded for the three answered requests; each decode is counted once in both summaries.
        double decodes = sum(after, "parley_engine_decode_batch_tokens_count")
                - sum(before, "parley_engine_decode_batch_tokens_count");
        assertThat(decodes).isPositive();
        assertThat(sum(after, "parley_engine_decode_batch_tokens_bucket", "le=\"+Inf\"")
                        - sum(before, "parley_engine_decode_batch_tokens_bucket", "le=\"+Inf\""))
                .isEqualTo(decodes);
        assertThat(sum(after, "parley_engine_decode_batch_tokens_sum")
                        - sum(before, "parley_engine_decode_batch_tokens_sum"))
                .isGreaterThanOrEqualTo(decodes);
        assertThat(sum(after, "parley_engine_decode_per_token_milliseconds_count")
                        - sum(before, "parley_engine_decode_per_token_milliseconds_count"))
                .isEqualTo(decodes);
        assertThat(sum(after, "parley_engine_decode_seconds_count") - sum(before, "parley_engine_decode_seconds_count"))
                .isEqualTo(decodes);
        // Every decode takes some time, and together no longer than the test has run.
        double decodeSeconds =
                sum(after, "parley_engine_decode_seconds_sum") - sum(before, "parley_engine_decode_seconds_sum");
        assertThat(decodeSeconds).isPositive().isLessThan((System.nanoTime() - started) / 1e9);
        assertThat(after).containsEntry("parley_limiter_errors_total", 0.0);
    }
}
