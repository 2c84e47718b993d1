package dev.parley.server.limits;

import static dev.parley.server.limits.Keyed.chat;
import static dev.parley.server.limits.Keyed.completion;
import static dev.parley.server.limits.Keyed.get;
import static dev.parley.server.limits.Keyed.key;
import static dev.parley.server.limits.Keyed.post;
import static dev.parley.server.limits.Keyed.promptOnly;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletion;
import dev.parley.api.Json;
import dev.parley.limits.RateLimitDuration;
import dev.parley.limits.RateLimitSnapshot;
import dev.parley.server.ParleyServer;
import dev.parley.server.auth.ApiKeys;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real server with a keys file and in-memory limits on a loopback port, real HTTP. The limiter's clock
 * moves only when a test moves it, so every count below is exact. Each test uses its own key.
 */
@Timeout(60)
class KeysAndLimitsTest {
    static final Keyed.StepClock clock = new Keyed.StepClock();
    static ParleyServer server;
    static String base;
    /** Tokens of {@link Keyed#PROMPT} as a legacy prompt. */
    static int p;

    @BeforeAll
    static void start(@TempDir Path dir) {
        var engine = Keyed.engine();
        p = Keyed.promptTokens(engine);
        Path keys = Keyed.keysFile(
                dir,
                key("rpm", 5, 1_000_000, null, null, List.of()),
                key("tpm", 100, 3L * p, null, null, List.of()),
                key("exact", 100, p + 9, null, null, List.of()),
                key("headers", 60, 6_000, null, null, List.of("demo")),
                key("refund", 100, 10_000, null, null, List.of()),
                key("stream", 100, 10_000, null, null, List.of()),
                key("cut", 100, 10_000, null, null, List.of()),
                key("elsewhere", 100, 10_000, null, null, List.of("gpt-4o")),
                key("thousand", 100, 1_000, null, null, List.of()));
        server = ParleyServer.start(
                engine, ApiKeys.load(keys), new RateLimits(Limiter.inMemory(clock), false), "127.0.0.1", 0);
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static RateLimitSnapshot limits(HttpResponse<?> response) {
        return RateLimitSnapshot.parse(response.headers().map());
    }

    static JsonNode error(HttpResponse<String> response) {
        return Json.tree(response.body()).get("error");
    }

    @Test
    void aMissingOrWrongKeyIs401InvalidApiKeyAndTheKeyIsNotEchoed() throws Exception {
        var missing = post(base, null, "/v1/chat/completions", chat(1));
        assertThat(missing.statusCode()).isEqualTo(401);
        assertThat(error(missing).get("code").asText()).isEqualTo("invalid_api_key");
        var wrong = post(base, "nobody", "/v1/chat/completions", chat(1));
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(error(wrong).get("code").asText()).isEqualTo("invalid_api_key");
        assertThat(wrong.body()).doesNotContain(Keyed.secret("nobody"));
        assertThat(get(base, null, "/v1/models").statusCode()).isEqualTo(401);
    }

    @Test
    void aModelTheKeyMayNotUseDoesNotExistForIt() throws Exception {
        var response = post(base, "elsewhere", "/v1/chat/completions", chat(1));
        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(error(response).get("code").asText()).isEqualTo("model_not_found");
        assertThat(Json.tree(get(base, "elsewhere", "/v1/models").body()).get("data"))
                .isEmpty();
        assertThat(get(base, "elsewhere", "/v1/models/demo").statusCode()).isEqualTo(404);
    }

    @Test
    void requestsPerMinuteAreEnforcedToTheRequest() throws Exception {
        for (int i = 0; i < 5; i++) {
            var admitted = post(base, "rpm", "/v1/completions", promptOnly());
            assertThat(admitted.statusCode()).isEqualTo(200);
            assertThat(limits(admitted).remainingRequests()).isEqualTo(4 - i);
        }
        var refused = post(base, "rpm", "/v1/completions", promptOnly());
        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(error(refused).get("type").asText()).isEqualTo("requests");
        assertThat(error(refused).get("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(error(refused).get("param").isNull()).isTrue();
        assertThat(error(refused).get("message").asText())
                .startsWith(
                        "Rate limit reached for demo in organization rpm on requests per min (RPM): Limit 5, Used 5, Requested 1. Please try again in 12s.");
        assertThat(refused.headers().firstValue("retry-after")).hasValue("12");
        assertThat(refused.headers().firstValue("retry-after-ms")).hasValue("12000");
        assertThat(refused.headers().firstValue("x-ratelimit-reset-requests")).hasValue("1m0s");

        clock.advance(Duration.ofSeconds(12));
        assertThat(post(base, "rpm", "/v1/completions", promptOnly()).statusCode())
                .isEqualTo(200);
        assertThat(post(base, "rpm", "/v1/completions", promptOnly()).statusCode())
                .isEqualTo(429);
    }

    @Test
    void tokensPerMinuteAreEnforcedToTheTokenAndARefusalStillCostsARequest() throws Exception {
        for (int i = 0; i < 3; i++) {
            var admitted = post(base, "tpm", "/v1/completions", promptOnly());
            assertThat(admitted.statusCode()).isEqualTo(200);
            assertThat(limits(admitted).remainingTokens()).isEqualTo((2L - i) * p);
        }
        var refused = post(base, "tpm", "/v1/completions", promptOnly());
        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(error(refused).get("type").asText()).isEqualTo("tokens");
        assertThat(error(refused).get("message").asText())
                .startsWith(
                        "Rate limit reached for demo in organization tpm on tokens per min (TPM): Limit %d, Used %d, Requested %d. Please try again in "
                                .formatted(3 * p, 3 * p, p));
        assertThat(limits(refused).remainingTokens()).isZero();
        assertThat(limits(refused).remainingRequests()).isEqualTo(96);
        // The wait asked for is exactly the time p tokens take to come back at 3p per minute: 20 s.
        assertThat(refused.headers().firstValue("retry-after-ms")).hasValue("20000");
    }

    @Test
    void hugeCapsTimesManyChoicesAreRefusedNeverAdmittedByOverflow() throws Exception {
        // 8 × 2^31-1 overflows an int to a negative estimate: it must be refused, not admitted.
        var overflowing = post(
                base,
                "thousand",
                "/v1/completions",
                completion(Integer.MAX_VALUE).replace("}", ",\"n\":8}"));
        assertThat(overflowing.statusCode()).isEqualTo(400);
        assertThat(error(overflowing).get("param").asText()).isEqualTo("max_tokens");
        assertThat(error(overflowing).get("code").asText()).isEqualTo("context_length_exceeded");

        // Each choice fits the context, all 8 together not the key's 1,000 TPM: exactly p + 8 × 200 requested.
        var tooLarge = post(base, "thousand", "/v1/completions", completion(200).replace("}", ",\"n\":8}"));
        assertThat(tooLarge.statusCode()).isEqualTo(429);
        assertThat(error(tooLarge).get("message").asText())
                .startsWith(
                        "Request too large for demo in organization thousand on tokens per min (TPM): Limit 1000, Requested %d."
                                .formatted(p + 8 * 200));
        assertThat(limits(tooLarge).remainingTokens()).isEqualTo(1_000);
    }

    @Test
    void anEstimateThatFitsToTheTokenIsAdmittedAndOneTokenMoreCanNeverBe() throws Exception {
        var tooLarge = post(base, "exact", "/v1/completions", completion(10));
        assertThat(tooLarge.statusCode()).isEqualTo(429);
        assertThat(error(tooLarge).get("message").asText())
                .startsWith(
                        "Request too large for demo in organization exact on tokens per min (TPM): Limit %d, Requested %d. The input or output tokens must be reduced"
                                .formatted(p + 9, p + 10));
        assertThat(tooLarge.headers().firstValue("retry-after")).isEmpty();
        assertThat(limits(tooLarge).remainingTokens()).isEqualTo(p + 9);

        var fits = post(base, "exact", "/v1/completions", completion(9));
        assertThat(fits.statusCode()).isEqualTo(200);
        assertThat(limits(fits).remainingTokens()).isZero();
    }

    @Test
    void everyResponseOfAKeyCarriesConsistentHeadersWhoseResetsParseBackToTheInstantItIsFull() throws Exception {
        var responses = List.of(
                post(base, "headers", "/v1/chat/completions", chat(5)), // 200
                post(
                        base,
                        "headers",
                        "/v1/chat/completions",
                        chat(5).replace("\"temperature\":0", "\"temperature\":3")), // 400
                post(base, "headers", "/v1/chat/completions", chat(5).replace("demo", "gpt-4o")), // 404
                post(base, "headers", "/v1/chat/completions", "{not json"), // 400
                get(base, "headers", "/v1/models")); // 200
        assertThat(responses).extracting(HttpResponse::statusCode).containsExactly(200, 400, 404, 400, 200);
        for (var response : responses) {
            for (String header : List.of(
                    RateLimitSnapshot.LIMIT_REQUESTS,
                    RateLimitSnapshot.LIMIT_TOKENS,
                    RateLimitSnapshot.REMAINING_REQUESTS,
                    RateLimitSnapshot.REMAINING_TOKENS,
                    RateLimitSnapshot.RESET_REQUESTS,
                    RateLimitSnapshot.RESET_TOKENS)) {
                assertThat(response.headers().firstValue(header))
                        .as(header + " of a " + response.statusCode())
                        .isPresent();
            }
            var limits = limits(response);
            assertThat(limits.limitRequests()).isEqualTo(60);
            assertThat(limits.limitTokens()).isEqualTo(6_000);
            // One request refills per second and one token per 10 ms: the reset is what is missing, at that rate.
            assertThat(limits.resetRequests()).isEqualTo(Duration.ofSeconds(60 - limits.remainingRequests()));
            assertThat(limits.resetTokens()).isEqualTo(Duration.ofMillis(10 * (6_000 - limits.remainingTokens())));
        }
        assertThat(limits(responses.getLast()).remainingRequests()).isEqualTo(59);

        var last = limits(responses.getLast());
        clock.advance(RateLimitDuration.parse(responses
                        .getLast()
                        .headers()
                        .firstValue("x-ratelimit-reset-tokens")
                        .orElseThrow())
                .minusMillis(10));
        var almost = limits(get(base, "headers", "/v1/models"));
        assertThat(almost.remainingTokens()).isEqualTo(5_999);
        clock.advance(Duration.ofMillis(10));
        var full = get(base, "headers", "/v1/models");
        assertThat(limits(full).remainingTokens()).isEqualTo(6_000);
        assertThat(full.headers().firstValue("x-ratelimit-reset-tokens")).hasValue("0s");
        assertThat(last.resetRequests()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void settlementGivesBackTheTokensTheAnswerDidNotUse() throws Exception {
        var response = post(base, "refund", "/v1/chat/completions", chat(50));
        assertThat(response.statusCode()).isEqualTo(200);
        var usage = Json.read(response.body(), ChatCompletion.class).usage();
        assertThat(limits(response).remainingTokens()).isEqualTo(10_000 - usage.promptTokens() - 50);
        assertThat(limits(get(base, "refund", "/v1/models")).remainingTokens()).isEqualTo(10_000 - usage.totalTokens());
    }

    @Test
    void aStreamCarriesTheHeadersAndIsSettledWhenItEnds() throws Exception {
        String body = chat(50);
        var response = post(
                base,
                "stream",
                "/v1/chat/completions",
                body.substring(0, body.length() - 1) + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        String[] events = response.body().replace(": keep-alive\n\n", "").split("\n\n");
        var usage = Json.tree(events[events.length - 2].substring("data: ".length()))
                .get("usage");
        int prompt = usage.get("prompt_tokens").asInt();
        assertThat(limits(response).remainingTokens()).isEqualTo(10_000 - prompt - 50);
        assertThat(limits(get(base, "stream", "/v1/models")).remainingTokens())
                .isEqualTo(10_000 - usage.get("total_tokens").asInt());
    }

    @Test
    void aStreamTheClientCutsOffIsSettledForWhatWasGenerated() throws Exception {
        String body = chat(460);
        var request = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .header("Authorization", "Bearer " + Keyed.secret("cut"))
                .POST(HttpRequest.BodyPublishers.ofString(body.substring(0, body.length() - 1) + ",\"stream\":true}"))
                .build();
        var response = Keyed.HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
        long reserved = 10_000 - limits(response).remainingTokens();
        try (InputStream events = response.body()) {
            assertThat(events.read(new byte[64])).isPositive(); // the role chunk has begun; then the client goes away
        }
        long remaining = 10_000 - reserved;
        for (int attempt = 0; attempt < 100 && remaining == 10_000 - reserved; attempt++) {
            Thread.sleep(50);
            remaining = limits(get(base, "cut", "/v1/models")).remainingTokens();
        }
        // Settled for the prompt and the tokens made before the server noticed, not for all 460.
        assertThat(remaining).isGreaterThan(10_000 - reserved);
    }
}
