package dev.parley.server.engine.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.client.ClientOptions;
import dev.parley.server.ParleyServer;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway in front of {@link HostileUpstream}, which answers each request with a seeded hostile answer. Whatever
 * the upstream sends, the caller gets it as it came (a whole answer byte for byte, a stream's events ending in
 * {@code [DONE]}) or an OpenAI error (before a stream starts, a 4xx or 502 in OpenAI's shape; after, an error event
 * as the stream's last), never a 500 and never a hang; and the key's budget afterwards is what the well-formed
 * answers and the gateway's own counts spent, not what a broken upstream said.
 *
 * <p>Seeded: {@code -Dparley.fuzz.seed=N} replays a run, {@code -Dparley.fuzz.upstream.cases=N} sets its size.
 */
@Timeout(300)
class HostileUpstreamTest {
    static final long SEED = Long.getLong("parley.fuzz.seed", 20261203L);
    static final int CASES = Integer.getInteger("parley.fuzz.upstream.cases", 360);
    static final long TPM = 100_000_000;

    @Test
    void everyHostileAnswerReachesTheCallerAsItCameOrAsAnOpenAiErrorNeverA500(@TempDir Path dir) throws Exception {
        System.out.println("HostileUpstreamTest seed " + SEED + " (-Dparley.fuzz.seed=" + SEED + " replays it)");
        var keys = dir.resolve("keys.json");
        KeysFile.add(keys, new KeyEntry("team", KeysFile.sha256("sk-team"), 1_000_000, TPM, null, null, List.of()));
        try (var upstream = HostileUpstream.start(SEED);
                var gateway = ParleyServer.start(
                        ProxyEngine.connect(
                                ClientOptions.builder(name -> null)
                                        .baseUrl(upstream.baseUrl())
                                        .apiKey("test")
                                        .maxRetries(0)
                                        .timeout(Duration.ofSeconds(20))
                                        .build(),
                                List.of(upstream.baseUrl()),
                                List.of(),
                                2000,
                                Duration.ZERO), // a replica answering 5xx is asked again at once
                        ApiKeys.load(keys),
                        // A clock that stands still: nothing refills, so what the run spent stays visible.
                        new RateLimits(Limiter.inMemory(Clock.fixed(Instant.EPOCH, ZoneOffset.UTC)), false),
                        "127.0.0.1",
                        0);
                var http = HttpClient.newHttpClient()) {
            List<String> failures = new ArrayList<>();
            Map<String, Integer> outcomes = new TreeMap<>();
            for (int number = 0; number < CASES; number++) {
                String route = ROUTES.get(number % ROUTES.size());
                boolean stream = !route.equals("/embeddings") && number / ROUTES.size() % 2 == 1;
                var response = send(http, gateway, route, "case-" + number, stream);
                String problem = problem(response, stream, upstream.answered(number));
                outcomes.merge(
                        route + (stream ? " stream " : " ") + response.statusCode() + (problem == null ? "" : " BAD"),
                        1,
                        Integer::sum);
                if (problem != null)
                    failures.add("case " + number + ": " + problem + "\n  upstream sent: "
                            + shortened(upstream.answered(number)) + "\n  caller got: " + shortened(response.body()));
            }
            System.out.println("HostileUpstreamTest outcomes " + outcomes);
            assertThat(failures).as("seed " + SEED).isEmpty();

            // Afterwards the gateway serves as before, and the key has paid for what the answers held (the long
            // ones without usage are counted: up to 80,000 tokens each, a few hundred thousand in all), not for
            // what a broken upstream said it used: one such count would have taken the whole minute's tokens.
            var plain = send(http, gateway, "/chat/completions", "", false);
            assertThat(plain.statusCode()).as(plain.body()).isEqualTo(200);
            long remaining = Long.parseLong(
                    plain.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow());
            assertThat(remaining).isGreaterThan(TPM / 2);
        }
    }

    /** The routes the cases go to, in turn. */
    static final List<String> ROUTES = List.of("/chat/completions", "/embeddings", "/responses");

    private static HttpResponse<String> send(
            HttpClient http, ParleyServer gateway, String route, String user, boolean stream) throws Exception {
        String input = route.equals("/chat/completions")
                ? "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]"
                : "\"input\":\"Hi\"";
        String body = "{\"model\":\"gpt-4o\"," + input + ",\"user\":\"" + user + "\""
                + (stream ? ",\"stream\":true" : "") + "}";
        return http.send(
                HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + route))
                        .header("Authorization", "Bearer sk-team")
                        .timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /**
     * What is wrong with what the caller got for what the upstream {@code sent}, or null. A stream ends with {@code
     * [DONE]}, or with an error event, or without either when the upstream's own stream had no whole {@code [DONE]}
     * event (a stream that reported its usage and then ended is relayed as it was). An upstream's 5xx comes back as it is;
     * any other failure is a 4xx or 502 in OpenAI's shape.
     */
    private static String problem(HttpResponse<String> response, boolean stream, String sent) {
        int status = response.statusCode();
        String body = response.body();
        if (status == 200 && stream) {
            if (body.endsWith("data: [DONE]\n\n") || !sent.contains("data: [DONE]\n\n")) return null;
            int last = body.lastIndexOf("data: ", body.length() - 3);
            if (last < 0) return "a stream with no end";
            String event = body.substring(last + 6).strip();
            return isOpenAiError(event) ? null : "a stream ending in neither [DONE] nor an error event";
        }
        if (status == 200) return null; // relayed as it came: the upstream's bytes (checked by ProxyEngineTest)
        boolean upstreams = sent.startsWith("HTTP/1.1 " + status + " ");
        if (status < 400 || (status >= 500 && status != 502 && !upstreams)) return "status " + status;
        return isOpenAiError(body) ? null : "status " + status + " without an OpenAI error";
    }

    private static boolean isOpenAiError(String json) {
        try {
            JsonNode error = Json.tree(json).path("error");
            return error.path("message").isTextual()
                    && error.path("type").isTextual()
                    && error.has("param")
                    && error.has("code");
        } catch (RuntimeException notJson) {
            return false;
        }
    }

    private static String shortened(String text) {
        return text.length() > 1500 ? text.substring(0, 1500) + "… (" + text.length() + " chars)" : text;
    }
}
