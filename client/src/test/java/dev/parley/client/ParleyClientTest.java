package dev.parley.client;

import static dev.parley.client.Fixtures.COMPLETION;
import static dev.parley.client.Fixtures.client;
import static dev.parley.client.Fixtures.hello;
import static dev.parley.client.ScriptedServer.Reply.json;
import static dev.parley.client.ScriptedServer.Reply.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.ApiException;
import dev.parley.api.CompletionRequest;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.ServerException;
import dev.parley.api.StreamOptions;
import dev.parley.limits.RateLimitSnapshot;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ParleyClientTest {
    final ScriptedServer server = ScriptedServer.start();
    final Waits waits = new Waits();

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void postsAChatRequestWithTheKeyOrganizationAndProjectAndReadsTheAnswer() {
        server.enqueue(json(200, COMPLETION));
        try (var client = client(server, waits, o -> o.organization("org-1").project("proj-1"))) {
            var answer = client.chat(hello());
            assertThat(answer.text()).isEqualTo("Hello!");
            assertThat(answer.usage().totalTokens()).isEqualTo(11);
        }
        var request = server.lastRequest();
        assertThat(request.method()).isEqualTo("POST");
        assertThat(request.path()).isEqualTo("/v1/chat/completions");
        assertThat(request.header("authorization")).isEqualTo("Bearer sk-test");
        assertThat(request.header("openai-organization")).isEqualTo("org-1");
        assertThat(request.header("openai-project")).isEqualTo("proj-1");
        assertThat(request.header("content-type")).isEqualTo("application/json");
        var body = Json.tree(request.body());
        assertThat(body.get("model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(body.has("stream")).isFalse();
    }

    @Test
    void aPlainChatNeverAsksForAStreamEvenWhenTheRequestDid() {
        server.enqueue(json(200, COMPLETION));
        try (var client = client(server, waits)) {
            client.chat(hello().toBuilder().stream(true).build());
        }
        assertThat(Json.tree(server.lastRequest().body()).has("stream")).isFalse();
    }

    @Test
    void exposesTheRequestIdAndRateLimitHeadersOfAnAnswer() {
        server.enqueue(json(
                200,
                COMPLETION,
                "x-request-id",
                "req_42",
                "x-ratelimit-limit-requests",
                "60",
                "x-ratelimit-remaining-requests",
                "59",
                "x-ratelimit-limit-tokens",
                "150000",
                "x-ratelimit-remaining-tokens",
                "149990",
                "x-ratelimit-reset-requests",
                "1s",
                "x-ratelimit-reset-tokens",
                "6m0s"));
        try (var client = client(server, waits)) {
            var response = client.withResponse().chat(hello());
            assertThat(response.body().text()).isEqualTo("Hello!");
            assertThat(response.info().status()).isEqualTo(200);
            assertThat(response.info().requestId()).isEqualTo("req_42");
            assertThat(response.info().rateLimit())
                    .isEqualTo(new RateLimitSnapshot(
                            60L, 150_000L, 59L, 149_990L, Duration.ofSeconds(1), Duration.ofMinutes(6)));
        }
    }

    @Test
    void aResponseWithoutRateLimitHeadersHasAnEmptySnapshot() {
        server.enqueue(json(200, COMPLETION));
        try (var client = client(server, waits)) {
            var info = client.withResponse().chat(hello()).info();
            assertThat(info.rateLimit()).isEqualTo(RateLimitSnapshot.EMPTY);
            assertThat(info.requestId()).isNull();
        }
    }

    @Test
    void listsModels() {
        server.enqueue(json(200, """
                {"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1,"owned_by":"system"}]}"""));
        try (var client = client(server, waits)) {
            assertThat(client.models().data()).extracting(m -> m.id()).containsExactly("gpt-4o-mini");
        }
        assertThat(server.lastRequest().method()).isEqualTo("GET");
        assertThat(server.lastRequest().path()).isEqualTo("/v1/models");
    }

    @Test
    void completesALegacyPrompt() {
        server.enqueue(json(200, """
                {"id":"cmpl-1","object":"text_completion","created":1,"model":"gpt-3.5-turbo-instruct",
                 "choices":[{"text":"4,5","index":0,"logprobs":null,"finish_reason":"length"}]}"""));
        try (var client = client(server, waits)) {
            assertThat(client.complete(CompletionRequest.of("gpt-3.5-turbo-instruct", "1,2,3,"))
                            .text())
                    .isEqualTo("4,5");
        }
        assertThat(server.lastRequest().path()).isEqualTo("/v1/completions");
        assertThat(Json.tree(server.lastRequest().body()).get("prompt").asText())
                .isEqualTo("1,2,3,");
    }

    @Test
    void sendsALoneSurrogateAsItsEscapeNotAsAQuestionMark() {
        server.enqueue(json(200, """
                {"id":"cmpl-1","object":"text_completion","created":1,"model":"gpt-3.5-turbo-instruct",
                 "choices":[{"text":"x","index":0,"logprobs":null,"finish_reason":"length"}]}"""));
        String cut = "Hi \ud83d"; // an emoji cut in half, as a substring by chars leaves it
        try (var client = client(server, waits)) {
            client.complete(CompletionRequest.of("gpt-3.5-turbo-instruct", cut));
        }
        assertThat(server.lastRequest().body()).containsIgnoringCase("\\ud83d");
        assertThat(Json.tree(server.lastRequest().body()).get("prompt").asText())
                .isEqualTo(cut);
    }

    @Test
    void failsFastOnARequestThatBreaksOpenAisRulesWithoutSendingIt() {
        try (var client = client(server, waits)) {
            assertThatThrownBy(() ->
                            client.chat(hello().toBuilder().temperature(3.0).build()))
                    .isInstanceOfSatisfying(
                            InvalidRequestException.class,
                            e -> assertThat(e.error().param()).isEqualTo("temperature"));
            assertThatThrownBy(() -> client.chat(hello().toBuilder()
                            .streamOptions(StreamOptions.withUsage())
                            .build()))
                    .isInstanceOfSatisfying(
                            InvalidRequestException.class,
                            e -> assertThat(e.error().param()).isEqualTo("stream_options"));
        }
        assertThat(server.requests()).isEmpty();
    }

    @Test
    void turnsAnErrorBodyIntoTheExceptionOfItsStatusWithItsRequestIdAndHeaders() {
        server.enqueue(json(400, """
                {"error":{"message":"Invalid 'messages[0].name'","type":"invalid_request_error","param":"messages[0].name","code":"invalid_value"}}""", "x-request-id", "req_bad", "x-custom", "yes"));
        try (var client = client(server, waits)) {
            assertThatThrownBy(() -> client.chat(hello())).isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                assertThat(e.status()).isEqualTo(400);
                assertThat(e.error().param()).isEqualTo("messages[0].name");
                assertThat(e.error().code()).isEqualTo("invalid_value");
                assertThat(e.requestId()).contains("req_bad");
                assertThat(e.headers().get("X-Custom")).containsExactly("yes");
            });
        }
        assertThat(server.requests()).hasSize(1);
        assertThat(waits.waits()).isEmpty();
    }

    @Test
    void turnsANonJsonErrorBodyIntoAnExceptionThatQuotesIt() {
        server.enqueue(text(502, "text/html", "<html><body>Bad gateway</body></html>", "x-request-id", "req_proxy"));
        try (var client = client(server, waits, o -> o.maxRetries(0))) {
            assertThatThrownBy(() -> client.chat(hello())).isInstanceOfSatisfying(ServerException.class, e -> {
                assertThat(e.status()).isEqualTo(502);
                assertThat(e.getMessage()).isEqualTo("HTTP 502: <html><body>Bad gateway</body></html>");
                assertThat(e.error().type()).isEqualTo("server_error");
                assertThat(e.requestId()).contains("req_proxy");
            });
        }
    }

    @Test
    void anEmptyErrorBodyStillSaysItsStatus() {
        server.enqueue(text(418, "text/plain", ""));
        try (var client = client(server, waits)) {
            assertThatThrownBy(() -> client.chat(hello()))
                    .isExactlyInstanceOf(ApiException.class)
                    .hasMessage("HTTP 418 with an empty body");
        }
    }

    @Test
    void aSuccessBodyThatIsNotJsonIsATransportFailure() {
        server.enqueue(text(200, "text/html", "<html>captive portal</html>"));
        try (var client = client(server, waits)) {
            assertThatThrownBy(() -> client.chat(hello()))
                    .isInstanceOf(TransportException.class)
                    .hasMessageContaining("not a ChatCompletion")
                    .hasMessageContaining("captive portal");
        }
    }

    @Test
    void anAnswerOrAStreamEventTooLargeToHoldFailsTheCallInsteadOfFillingMemory() {
        String endless = "x".repeat((64 << 20) + 1);
        server.enqueue(
                text(200, "application/json", "{\"id\":\"" + endless + "\"}"),
                ScriptedServer.Reply.sse("data: {\"id\":\"" + endless.substring(0, (16 << 20) + 1) + "\"}\n\n"));
        try (var client = client(server, waits, o -> o.maxRetries(0))) {
            assertThatThrownBy(() -> client.chat(hello()))
                    .isInstanceOf(TransportException.class)
                    .hasMessageEndingWith("failed: the answer is larger than 64 MiB");
            assertThatThrownBy(() -> client.stream(hello()).forEach(chunk -> {}))
                    .isInstanceOf(IncompleteStreamException.class)
                    .hasMessageStartingWith("the stream broke after 0 events, before [DONE]: an event of the stream is"
                            + " longer than 16777216 characters");
        }
    }

    @Test
    void readsTheBaseUrlAndKeyFromTheEnvironmentWithOpenAiAsDefault() {
        var fromEnv = ClientOptions.builder(name -> switch (name) {
                    case "OPENAI_BASE_URL" -> "http://localhost:8080/v1/";
                    case "OPENAI_API_KEY" -> "sk-env";
                    default -> null;
                })
                .build();
        assertThat(fromEnv.baseUrl()).isEqualTo("http://localhost:8080/v1");
        assertThat(fromEnv.apiKey()).isEqualTo("sk-env");
        assertThat(fromEnv.toString()).doesNotContain("sk-env");
        var defaults = ClientOptions.builder(name -> null).build();
        assertThat(defaults.baseUrl()).isEqualTo("https://api.openai.com/v1");
        assertThat(defaults.apiKey()).isNull();
        assertThat(defaults.maxRetries()).isEqualTo(2);
    }

    @Test
    void sendsNoAuthorizationWithoutAKey() {
        server.enqueue(json(200, COMPLETION));
        try (var client = client(server, waits, o -> o.apiKey(null))) {
            client.chat(hello());
        }
        assertThat(server.lastRequest().header("authorization")).isNull();
    }
}
