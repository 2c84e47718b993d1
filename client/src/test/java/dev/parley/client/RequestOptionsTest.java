package dev.parley.client;

import static dev.parley.client.Fixtures.COMPLETION;
import static dev.parley.client.Fixtures.client;
import static dev.parley.client.Fixtures.hello;
import static dev.parley.client.ScriptedServer.Reply.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.CompletionRequest;
import dev.parley.api.Json;
import dev.parley.api.ServerException;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Per-call options, async calls and a client over the caller's own HttpClient, against a scripted server. */
class RequestOptionsTest {
    static final String TEXT_COMPLETION = """
            {"id":"cmpl-1","object":"text_completion","created":1700000000,"model":"m",
             "choices":[{"text":" there","index":0,"logprobs":null,"finish_reason":"length"}]}""";

    final ScriptedServer server = ScriptedServer.start();
    final Waits waits = new Waits();

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void extraBodyFieldsAreMergedIntoTheJsonAndHeadersAreAddedOrReplaced() {
        server.enqueue(json(200, COMPLETION));
        var call = RequestOptions.builder()
                .extraBody("top_k", 40)
                .extraBody("reasoning_effort", "low")
                .extraBody(Map.of("logit_bias", Map.of("50256", -100)))
                .header("X-Trace", "t-1")
                .header("Authorization", "Bearer sk-other")
                .build();
        try (var client = client(server, waits)) {
            assertThat(client.chat(hello(), call).text()).isEqualTo("Hello!");
        }
        var sent = server.lastRequest();
        var body = Json.tree(sent.body());
        assertThat(body.get("model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(body.get("top_k").asInt()).isEqualTo(40);
        assertThat(body.get("reasoning_effort").asText()).isEqualTo("low");
        assertThat(body.get("logit_bias").toString()).isEqualTo("{\"50256\":-100}");
        assertThat(sent.header("x-trace")).isEqualTo("t-1");
        assertThat(sent.header("authorization")).isEqualTo("Bearer sk-other");
    }

    @Test
    void anExtraFieldReplacesTheRequestsOwnOfTheSameName() {
        server.enqueue(json(200, TEXT_COMPLETION));
        try (var client = client(server, waits)) {
            client.complete(
                    CompletionRequest.of("m", "Hi").withMaxTokens(4),
                    RequestOptions.builder().extraBody("max_tokens", 8).build());
        }
        assertThat(Json.tree(server.lastRequest().body()).get("max_tokens").asInt())
                .isEqualTo(8);
    }

    @Test
    void aCallsTimeoutReplacesTheClients() {
        server.enqueue(ScriptedServer.Reply.silence());
        try (var client = client(server, waits, o -> o.maxRetries(0).timeout(Duration.ofMinutes(10)))) {
            assertThatThrownBy(() -> client.chat(
                            hello(),
                            RequestOptions.builder()
                                    .timeout(Duration.ofMillis(200))
                                    .build()))
                    .isInstanceOf(TransportException.class)
                    .hasMessageContaining("timed out");
        }
    }

    @Test
    void asyncCallsCompleteWithTheAnswerOrTheSameExceptionThePlainCallThrows() throws Exception {
        server.enqueue(
                json(200, COMPLETION),
                json(200, TEXT_COMPLETION),
                json(
                        200,
                        "{\"object\":\"list\",\"data\":[{\"id\":\"m\",\"object\":\"model\",\"created\":1,\"owned_by\":\"x\"}]}"),
                json(500, Fixtures.SERVER_ERROR));
        try (var client = client(server, waits, o -> o.maxRetries(0))) {
            assertThat(client.chatAsync(hello()).get().text()).isEqualTo("Hello!");
            assertThat(client.completeAsync(CompletionRequest.of("m", "Hi"))
                            .get()
                            .text())
                    .isEqualTo(" there");
            assertThat(client.modelsAsync().get().data())
                    .extracting(m -> m.id())
                    .containsExactly("m");
            var failed = client.chatAsync(hello(), RequestOptions.NONE);
            assertThatThrownBy(failed::join)
                    .isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(ServerException.class);
        }
    }

    @Test
    void aClientOverTheCallersHttpClientSendsThroughItAndLeavesItOpen() {
        var tasks = new AtomicInteger();
        var executor = Executors.newCachedThreadPool();
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .executor(command -> {
                    tasks.incrementAndGet();
                    executor.execute(command);
                })
                .build();
        server.enqueue(json(200, COMPLETION), json(200, COMPLETION));
        var options = ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl())
                .apiKey("sk-test")
                .build();
        try (var client = ParleyClient.create(options, http)) {
            assertThat(client.chat(hello()).text()).isEqualTo("Hello!");
        }
        assertThat(tasks.get()).isPositive();
        assertThat(http.isTerminated()).isFalse();
        try (var again = ParleyClient.create(options, http)) {
            assertThat(again.chat(hello()).text()).isEqualTo("Hello!");
        } finally {
            http.close();
            executor.shutdownNow();
        }
        assertThat(server.requests())
                .extracting(ScriptedServer.Recorded::path)
                .isEqualTo(List.of("/v1/chat/completions", "/v1/chat/completions"));
    }
}
