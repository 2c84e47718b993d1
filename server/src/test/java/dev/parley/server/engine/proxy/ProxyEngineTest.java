package dev.parley.server.engine.proxy;

import static dev.parley.client.ScriptedServer.Reply.json;
import static dev.parley.client.ScriptedServer.Reply.sse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.CompletionRequest;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.NotFoundException;
import dev.parley.api.StreamOptions;
import dev.parley.api.ToolCall;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.client.ScriptedServer;
import dev.parley.server.ParleyServer;
import dev.parley.server.ServerOptions;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Parley server proxying to another Parley server (the demo model through llama.cpp), both real, on
 * loopback: what a client gets through the proxy is what it gets from the upstream. Tool calls come from
 * a scripted upstream, since the demo model makes none.
 */
@Timeout(120)
class ProxyEngineTest {
    static ParleyServer upstream;
    static ParleyServer proxy;
    static ParleyClient direct;
    static ParleyClient proxied;

    @BeforeAll
    static void start() {
        upstream = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(256)),
                "127.0.0.1",
                0);
        direct = client(upstream.baseUrl("127.0.0.1"));
        proxy = ParleyServer.start(
                ProxyEngine.connect(options(upstream.baseUrl("127.0.0.1")), List.of()), "127.0.0.1", 0);
        proxied = client(proxy.baseUrl("127.0.0.1"));
    }

    @AfterAll
    static void stop() {
        proxied.close();
        direct.close();
        proxy.close();
        upstream.close();
    }

    static ClientOptions options(String baseUrl) {
        return ClientOptions.builder(name -> null)
                .baseUrl(baseUrl)
                .apiKey("test")
                .maxRetries(0)
                .build();
    }

    static ParleyClient client(String baseUrl) {
        return ParleyClient.create(options(baseUrl));
    }

    static ChatCompletionRequest.Builder story() {
        return ChatCompletionRequest.builder("demo")
                .messages(ChatMessage.user("Once upon a time"))
                .temperature(0.0)
                .maxTokens(20);
    }

    @Test
    void servesTheModelsTheUpstreamLists() {
        assertThat(proxied.models().data()).extracting(m -> m.id()).containsExactly("demo");
    }

    @Test
    void answersAsTheUpstreamDoesWithItsUsage() {
        var expected = direct.chat(story().build());
        var answer = proxied.chat(story().build());
        assertThat(answer.text()).isEqualTo(expected.text()).isNotBlank();
        assertThat(answer.choices().getFirst().finishReason())
                .isEqualTo(expected.choices().getFirst().finishReason());
        // The counts; the second request may find the first one's prompt cached.
        assertThat(answer.usage())
                .usingRecursiveComparison()
                .ignoringFields("promptTokensDetails")
                .isEqualTo(expected.usage());
        assertThat(answer.id()).isNotEqualTo(expected.id());
    }

    @Test
    void streamsAsTheUpstreamDoesEndingWithItsUsage() {
        var expected = direct.chat(story().n(2).build());
        var streamed = proxied.stream(
                        story().n(2).streamOptions(StreamOptions.withUsage()).build())
                .accumulate();
        assertThat(streamed.completion().choices())
                .extracting(c -> c.message().text())
                .isEqualTo(
                        expected.choices().stream().map(c -> c.message().text()).toList());
        // The counts; the second request may find the first one's prompt cached.
        assertThat(streamed.completion().usage())
                .usingRecursiveComparison()
                .ignoringFields("promptTokensDetails")
                .isEqualTo(expected.usage());
        assertThat(streamed.usageCountedLocally()).isFalse();
    }

    @Test
    void passesLegacyCompletionsThroughWholeAndStreamed() {
        var request = CompletionRequest.of("demo", "Once upon a time")
                .withMaxTokens(10)
                .withTemperature(0.0);
        var expected = direct.complete(request);
        assertThat(proxied.complete(request).text()).isEqualTo(expected.text());
        StringBuilder streamed = new StringBuilder();
        try (var stream = proxied.streamCompletion(request)) {
            stream.forEach(event -> streamed.append(event.text()));
        }
        assertThat(streamed.toString()).isEqualTo(expected.text());
    }

    @Test
    void refusesAModelTheUpstreamDoesNotServeWithoutAskingIt() {
        assertThatThrownBy(() -> proxied.chat(story().model("gpt-4o").build()))
                .isInstanceOfSatisfying(
                        NotFoundException.class,
                        e -> assertThat(e.error().code()).isEqualTo("model_not_found"));
    }

    @Test
    void passesTheUpstreamsErrorsOnWithTheirStatus() {
        String tooLong = "Once upon a time there was a little girl. ".repeat(60);
        assertThatThrownBy(() ->
                        proxied.chat(story().messages(ChatMessage.user(tooLong)).build()))
                .isInstanceOfSatisfying(
                        InvalidRequestException.class,
                        e -> assertThat(e.error().code()).isEqualTo("context_length_exceeded"));
    }

    @Test
    void aClientLeavingMidStreamCancelsTheUpstreamRequest() throws Exception {
        var http = HttpClient.newHttpClient();
        String body = Json.write(story().maxTokens(200).stream(true).build());
        for (int i = 0; i < 4; i++) { // more than the upstream's 2 slots: uncancelled requests would hold them
            var request = HttpRequest.newBuilder(URI.create(proxy.baseUrl("127.0.0.1") + "/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build();
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                assertThat(in.readNBytes(64)).hasSize(64);
            }
        }
        assertThat(proxied.chat(story().maxTokens(3).build()).usage().completionTokens())
                .isEqualTo(3);
    }

    @Test
    void relaysTheUpstreamsToolCallsWholeAndStreamed() {
        String pieces = """
                data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}

                data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\":"}}]},"finish_reason":null}]}

                data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"Paris\\"}"}}]},"finish_reason":null}]}

                data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

                data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":57,"completion_tokens":15,"total_tokens":72}}

                data: [DONE]

                """;
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(
                    json(
                            200,
                            "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\",\"object\":\"model\",\"created\":1,\"owned_by\":\"system\"}]}"));
            String whole =
                    "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"
                            + "\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
                            + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],"
                            + "\"usage\":{\"prompt_tokens\":57,\"completion_tokens\":15,\"total_tokens\":72}}";
            scripted.enqueue(json(200, whole), sse(pieces));
            try (var toolProxy = ParleyServer.start(
                            ProxyEngine.connect(options(scripted.baseUrl()), List.of()), "127.0.0.1", 0);
                    var client = client(toolProxy.baseUrl("127.0.0.1"))) {
                var request = ChatCompletionRequest.builder("gpt-4o")
                        .messages(ChatMessage.user("Weather in Paris?"))
                        .build();
                var answer = client.chat(request);
                var message = answer.choices().getFirst().message();
                assertThat(message.content()).isNull();
                assertThat(message.toolCalls())
                        .containsExactly(ToolCall.function("call_1", "get_weather", "{\"city\":\"Paris\"}"));
                assertThat(answer.choices().getFirst().finishReason()).isEqualTo("tool_calls");
                assertThat(answer.usage().promptTokens()).isEqualTo(57);
                assertThat(answer.usage().completionTokens()).isEqualTo(15);

                var streamed = client.stream(request).accumulate().completion();
                assertThat(streamed.choices().getFirst().message().toolCalls()).isEqualTo(message.toolCalls());
                String sent = scripted.lastRequest().body();
                assertThat(Json.tree(sent).path("stream").asBoolean()).isTrue();
                assertThat(Json.tree(sent)
                                .path("stream_options")
                                .path("include_usage")
                                .asBoolean())
                        .isTrue();
            }
        }
    }

    @Test
    void eventsThatHaveArrivedReachTheCallerWhileTheUpstreamIsStillWriting() throws Exception {
        // Two events sent together, then the upstream goes quiet with the stream open: the gateway may send the two
        // in one write, but must not hold them waiting for a third. The gateway then stops with that upstream stream
        // still open, which must not wait for it.
        String two = ONE_WORD.substring(
                0,
                ONE_WORD.indexOf("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
                        + "\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],"));
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(json(200, GPT_4O_MODELS), ScriptedServer.Reply.sseHeldOpen(two));
            try (var gateway =
                    ParleyServer.start(ProxyEngine.connect(options(scripted.baseUrl()), List.of()), "127.0.0.1", 0)) {
                var request = HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + "/chat/completions"))
                        .POST(
                                HttpRequest.BodyPublishers.ofString(
                                        "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                        .build();
                HttpResponse<InputStream> response =
                        HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream in = response.body()) {
                    // Blocks until the bytes come: a held flush would end this test by its timeout.
                    byte[] received = in.readNBytes(two.length());
                    assertThat(new String(received, java.nio.charset.StandardCharsets.UTF_8))
                            .isEqualTo(two);
                }
            }
        }
    }

    @Test
    void aSilentUpstreamStreamIsKeptAliveAndACallerWhoLeavesDuringTheSilenceEndsTheUpstreamRequest() throws Exception {
        // The upstream sends a chunk and an event whose data spans two lines, then stays silent with the stream open,
        // as a model reading a long prompt does. The caller gets both events as sent (the two lines joined back
        // by its reader), then comments while the silence lasts; when it hangs up, a comment finds it gone and the
        // gateway ends the upstream request then, not when the upstream would next have written.
        String chunk = ONE_WORD.substring(0, ONE_WORD.indexOf("\n\n") + 2);
        String sent = chunk + "event: note\ndata: line one\ndata: line two\n\n";
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(json(200, GPT_4O_MODELS), ScriptedServer.Reply.sseHeldOpen(sent));
            try (var gateway = ParleyServer.start(
                    ProxyEngine.connect(options(scripted.baseUrl()), List.of()),
                    ApiKeys.open(),
                    new RateLimits(Limiter.inMemory(java.time.Clock.systemUTC()), false),
                    "127.0.0.1",
                    0,
                    ServerOptions.defaults().withSseKeepAlive(java.time.Duration.ofMillis(50)))) {
                var caller = new java.net.Socket("127.0.0.1", gateway.port());
                caller.setSoTimeout(30_000); // a gateway that sends no comment fails the test, not its timeout
                String body =
                        "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
                caller.getOutputStream()
                        .write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                                        + body.length() + "\r\n\r\n" + body)
                                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                InputStream in = caller.getInputStream();
                var received = new java.io.ByteArrayOutputStream();
                String comment = ": keep-alive\n\n";
                while (received.toString(java.nio.charset.StandardCharsets.UTF_8)
                                .split(comment, -1)
                                .length
                        < 4) { // three comments
                    int b = in.read();
                    assertThat(b).as("the stream so far: " + received).isNotNegative();
                    received.write(b);
                }
                String text = received.toString(java.nio.charset.StandardCharsets.UTF_8);
                // Each event and comment went out in a chunk of its own; their order is as sent, comments after.
                String events =
                        text.substring(text.indexOf("\r\n\r\n") + 4).replaceAll("(?m)^[0-9a-fA-F]+\r\n|\r\n", "");
                assertThat(dev.parley.sse.SseParser.parseAll(events))
                        .as(text)
                        .isEqualTo(dev.parley.sse.SseParser.parseAll(sent));
                assertThat(events).startsWith(chunk).endsWith(comment + comment + comment);
                assertThat(events.substring(0, events.indexOf(comment)))
                        .isEqualTo(chunk + "event: note\ndata: line one\ndata: line two\n\n");

                caller.close();
                assertThat(scripted.awaitClientHangUp(java.time.Duration.ofSeconds(30)))
                        .as("the gateway ends the upstream request once its caller has gone")
                        .isTrue();
            }
        }
    }

    @Test
    void anUpstreamStreamThatPassesNoEventForTheIdleTimeoutEndsWithAnErrorEventAndIsClosed() throws Exception {
        // The upstream's stream begins, then stops for good with its connection open (a replica whose machine
        // hangs). The server's comments keep the caller's read timeout from ever firing, so the gateway itself ends
        // the stream once no event came for the fleet's idle timeout, and closes the upstream request.
        String chunk = ONE_WORD.substring(0, ONE_WORD.indexOf("\n\n") + 2);
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(json(200, GPT_4O_MODELS), ScriptedServer.Reply.sseHeldOpen(chunk));
            var fleet = new ProxyEngine.Fleet(
                    List.of(UpstreamReplica.of(scripted.baseUrl())),
                    List.of(),
                    ProxyEngine.DEFAULT_OUTPUT_RESERVE,
                    java.util.Map.of(),
                    ProxyEngine.DEFAULT_COOLDOWN,
                    java.time.Duration.ofMillis(300));
            try (var gateway = ParleyServer.start(
                            ProxyEngine.connect(options(scripted.baseUrl()), fleet),
                            ApiKeys.open(),
                            new RateLimits(Limiter.inMemory(java.time.Clock.systemUTC()), false),
                            "127.0.0.1",
                            0,
                            ServerOptions.defaults().withSseKeepAlive(java.time.Duration.ofMillis(50)));
                    var http = HttpClient.newHttpClient()) {
                // Waited for with a limit: a gateway that never ends the stream fails here, not by the class's timeout.
                var response = http.sendAsync(
                                HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + "/chat/completions"))
                                        .timeout(java.time.Duration.ofSeconds(30))
                                        .POST(
                                                HttpRequest.BodyPublishers.ofString(
                                                        "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString())
                        .get(30, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(response.statusCode()).isEqualTo(200);
                var events = dev.parley.sse.SseParser.parseAll(response.body());
                assertThat(events.getFirst().data())
                        .isEqualTo(chunk.substring("data: ".length()).strip());
                assertThat(events).hasSize(2);
                var error = Json.tree(events.getLast().data()).path("error");
                assertThat(error.path("code").asText()).isEqualTo("upstream_timeout");
                assertThat(error.path("message").asText())
                        .isEqualTo("The upstream provider sent nothing for 0.3 s; the stream was ended.");
                assertThat(response.body()).doesNotContain("[DONE]");
                assertThat(scripted.awaitClientHangUp(java.time.Duration.ofSeconds(30)))
                        .isTrue();
            }
        }
    }

    @Test
    void aStreamWhoseUpstreamReportsNoUsageIsCountedFromItsText() throws Exception {
        // An upstream that ignores stream_options: its chunks say "usage":null and no usage chunk comes, so the
        // gateway counts the answer's pieces itself, each as the model's tokenizer counts it.
        List<String> pieces = List.of("Once upon", " a time", " there was", " a relay");
        StringBuilder stream = new StringBuilder();
        for (String piece : pieces) {
            stream.append("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\","
                            + "\"choices\":[{\"index\":0,\"delta\":{\"content\":")
                    .append(Json.write(piece))
                    .append("},\"finish_reason\":null}],\"usage\":null}\n\n");
        }
        stream.append("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\","
                        + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n")
                .append("data: [DONE]\n\n");
        var counter = dev.parley.tokens.TokenCounter.forModel("gpt-4o");
        int expected = pieces.stream().mapToInt(counter::count).sum();
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(json(200, GPT_4O_MODELS), sse(stream.toString()));
            try (var gateway = ParleyServer.start(
                            ProxyEngine.connect(options(scripted.baseUrl()), List.of()), "127.0.0.1", 0);
                    var client = client(gateway.baseUrl("127.0.0.1"))) {
                var request = ChatCompletionRequest.builder("gpt-4o")
                        .messages(ChatMessage.user("Tell me a story"))
                        .build();
                var answer = client.stream(request).accumulate().completion();
                assertThat(answer.choices().getFirst().message().text()).isEqualTo(String.join("", pieces));
                // The request is recorded as its handler ends, which may be just after the caller read [DONE].
                double counted = 0;
                for (long deadline = System.nanoTime() + 10_000_000_000L;
                        counted == 0 && System.nanoTime() < deadline; ) {
                    counted = completionTokensCounted(gateway, "gpt-4o");
                    if (counted == 0) Thread.sleep(20);
                }
                assertThat(counted).isEqualTo(expected);
            }
        }
    }

    /** {@code parley_completion_tokens_total} of {@code model} in the server's metrics, all keys together. */
    static double completionTokensCounted(ParleyServer server, String model) throws Exception {
        String metrics = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(
                                        URI.create(server.baseUrl("127.0.0.1").replace("/v1", "") + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        return metrics.lines()
                .filter(line ->
                        line.startsWith("parley_completion_tokens_total{") && line.contains("model=\"" + model + "\""))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .sum();
    }

    @Test
    void onlyAUsageObjectMakesARelayedChunkWorthParsing() {
        assertThat(Relay.mayReportUsage("{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}"))
                .isTrue();
        assertThat(Relay.mayReportUsage("{\"usage\" :\n {\"prompt_tokens\":1}}"))
                .isTrue();
        assertThat(Relay.mayReportUsage("{\"response\":{\"usage\":{\"input_tokens\":1}}}"))
                .isTrue();
        assertThat(Relay.mayReportUsage("{\"choices\":[],\"usage\":null}")).isFalse();
        assertThat(Relay.mayReportUsage("{\"choices\":[{\"delta\":{\"content\":\"say \\\"usage\\\":{\"}}]}"))
                .isFalse();
        assertThat(Relay.mayReportUsage("{\"choices\":[{\"delta\":{\"content\":\"usage\"}}]}"))
                .isFalse();
    }

    static final String GPT_4O_MODELS =
            "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\",\"object\":\"model\",\"created\":1,\"owned_by\":\"system\"}]}";

    static final String ONE_WORD = """
            data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}

            data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

            data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}

            data: [DONE]

            """;

    static final String ONE_WORD_WHOLE =
            "{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"
                    + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
                    + "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}";

    @Test
    void anUpstream429ComesBackAtOnceWithTheUpstreamsPacingHeaders() throws Exception {
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(json(200, GPT_4O_MODELS));
            scripted.enqueue(json(
                    429,
                    "{\"error\":{\"message\":\"Rate limit reached for gpt-4o on requests per min (RPM): Limit 3, Used 3, Requested 1.\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}",
                    "retry-after",
                    "7",
                    "retry-after-ms",
                    "6500",
                    "x-ratelimit-limit-requests",
                    "3",
                    "x-ratelimit-remaining-requests",
                    "0",
                    "x-ratelimit-reset-requests",
                    "6.5s",
                    "x-request-id",
                    "req_upstream"));
            // Asked for retries: the gateway sends each request once all the same, and leaves retrying to the caller.
            var options = options(scripted.baseUrl()).toBuilder().maxRetries(3).build();
            try (var gateway = ParleyServer.start(ProxyEngine.connect(options, List.of()), "127.0.0.1", 0)) {
                var openai = com.openai.client.okhttp.OpenAIOkHttpClient.builder()
                        .baseUrl(gateway.baseUrl("127.0.0.1"))
                        .apiKey("none")
                        .maxRetries(0)
                        .build();
                try {
                    assertThatThrownBy(() -> openai.chat()
                                    .completions()
                                    .create(com.openai.models.chat.completions.ChatCompletionCreateParams.builder()
                                            .model("gpt-4o")
                                            .addUserMessage("Hi")
                                            .build()))
                            .isInstanceOfSatisfying(com.openai.errors.RateLimitException.class, e -> {
                                assertThat(e.statusCode()).isEqualTo(429);
                                assertThat(e.code()).hasValue("rate_limit_exceeded");
                                assertThat(e.headers().values("retry-after")).containsExactly("7");
                                assertThat(e.headers().values("retry-after-ms")).containsExactly("6500");
                                assertThat(e.headers().values("x-ratelimit-remaining-requests"))
                                        .containsExactly("0");
                                assertThat(e.headers().values("x-ratelimit-reset-requests"))
                                        .containsExactly("6.5s");
                                assertThat(e.headers().values("x-request-id")).doesNotContain("req_upstream");
                            });
                } finally {
                    openai.close();
                }
                assertThat(scripted.requests())
                        .as("the model list, then the one chat request: no retries")
                        .hasSize(2);
                // While the upstream's wait lasts, callers hear it from the gateway without the upstream being asked.
                try (var http = HttpClient.newHttpClient()) {
                    var again = http.send(
                            HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + "/chat/completions"))
                                    .POST(
                                            HttpRequest.BodyPublishers.ofString(
                                                    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
                    assertThat(again.statusCode()).isEqualTo(429);
                    assertThat(Json.tree(again.body()).at("/error/code").asText())
                            .isEqualTo("rate_limit_exceeded");
                    double retryAfter = Double.parseDouble(
                            again.headers().firstValue("retry-after").orElseThrow());
                    assertThat(retryAfter).isGreaterThan(0).isLessThanOrEqualTo(7);
                }
                assertThat(scripted.requests()).hasSize(2);
            }
        }
    }

    @Test
    void aRequestWithoutMaxTokensReservesAnAnswersWorthNotTheWholeContext(@TempDir java.nio.file.Path dir)
            throws Exception {
        // gpt-4o's context is 128,000 tokens: reserving all of it would refuse every such request of a 30k-TPM key.
        var keys = dir.resolve("keys.json");
        KeysFile.add(keys, new KeyEntry("team", KeysFile.sha256("sk-team"), 100, 30_000, null, null, List.of()));
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(json(200, GPT_4O_MODELS), json(200, ONE_WORD_WHOLE));
            try (var gateway = ParleyServer.start(
                    ProxyEngine.connect(options(scripted.baseUrl()), List.of(), 2000),
                    ApiKeys.load(keys),
                    new RateLimits(Limiter.inMemory(java.time.Clock.systemUTC()), false),
                    "127.0.0.1",
                    0)) {
                var response = HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + "/chat/completions"))
                                        .header("Authorization", "Bearer sk-team")
                                        .POST(
                                                HttpRequest.BodyPublishers.ofString(
                                                        "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());

                assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                // Admitted with the prompt and 2,000 reserved, then settled to the 10 tokens really used.
                long remaining = Long.parseLong(response.headers()
                        .firstValue("x-ratelimit-remaining-tokens")
                        .orElseThrow());
                assertThat(remaining).isBetween(30_000L - 2_100, 30_000L - 2_000);
            }
        }
    }

    @Test
    void anUpstreamsAbsurdUsageNeitherChargesItNorHoldsTheKeyBackForLong(@TempDir java.nio.file.Path dir)
            throws Exception {
        var keys = dir.resolve("keys.json");
        KeysFile.add(keys, new KeyEntry("team", KeysFile.sha256("sk-team"), 100, 30_000, null, null, List.of()));
        String notCounts = ONE_WORD_WHOLE.replace("\"prompt_tokens\":9", "\"prompt_tokens\":1e30");
        String notCountsStreamed = ONE_WORD.replace(
                "\"prompt_tokens\":9,\"completion_tokens\":1",
                "\"prompt_tokens\":-5,\"completion_tokens\":99999999999999999999");
        String huge = ONE_WORD_WHOLE.replace("\"completion_tokens\":1", "\"completion_tokens\":2000000000");
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(
                    json(200, GPT_4O_MODELS),
                    json(200, notCounts),
                    sse(notCountsStreamed),
                    json(200, ONE_WORD_WHOLE),
                    json(200, huge));
            // A clock that stands still: no budget refills between requests, so every level below is exact.
            var clock =
                    java.time.Clock.fixed(java.time.Instant.parse("2026-12-01T00:00:00Z"), java.time.ZoneOffset.UTC);
            try (var gateway = ParleyServer.start(
                            ProxyEngine.connect(options(scripted.baseUrl()), List.of(), 2000),
                            ApiKeys.load(keys),
                            new RateLimits(Limiter.inMemory(clock), false),
                            "127.0.0.1",
                            0);
                    var http = HttpClient.newHttpClient()) {
                String ask = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
                var whole = send(http, gateway, ask + "}");
                assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);
                assertThat(whole.body()).isEqualTo(notCounts);
                var streamed = send(http, gateway, ask + ",\"stream\":true}");
                assertThat(streamed.statusCode()).as(streamed.body()).isEqualTo(200);
                assertThat(streamed.body()).endsWith("data: [DONE]\n\n").doesNotContain("usage\":{");

                // Both were charged what the gateway counted (a few tokens each), not what the upstream said.
                var counted = send(http, gateway, ask + "}");
                assertThat(counted.statusCode()).as(counted.body()).isEqualTo(200);
                long reserve = 2000 + 20; // the answer's default reserve and a two-word prompt, generously
                assertThat(remainingTokens(counted)).isBetween(30_000 - reserve - 2 * 20, 30_000L - 2000);

                // A count that is a number, however large, is taken, but costs at most a minute's tokens more
                // than the request reserved: the next request waits about that long, not for months.
                var large = send(http, gateway, ask + "}");
                assertThat(large.statusCode()).as(large.body()).isEqualTo(200);
                var held = send(http, gateway, ask + "}");
                assertThat(held.statusCode()).as(held.body()).isEqualTo(429);
                double retryAfter = Double.parseDouble(
                        held.headers().firstValue("retry-after").orElseThrow());
                assertThat(retryAfter).isBetween(1.0, 120.0);
            }
            assertThat(scripted.requests()).hasSize(5);
        }
    }

    private static HttpResponse<String> send(HttpClient http, ParleyServer gateway, String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + "/chat/completions"))
                        .header("Authorization", "Bearer sk-team")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static long remainingTokens(HttpResponse<String> response) {
        return Long.parseLong(
                response.headers().firstValue("x-ratelimit-remaining-tokens").orElseThrow());
    }

    @Test
    void everyFieldPassesBothWaysWholeAndStreamed() throws Exception {
        String whole = """
                {"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-4o","system_fingerprint":"fp_1","service_tier":"flex",                "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that.","annotations":[]},                "logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16,                "prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":3}}}""";
        String chunks = """
                data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1","service_tier":"flex","choices":[{"index":0,"delta":{"role":"assistant","refusal":"No."},"finish_reason":null}],"usage":null}

                data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp_1","service_tier":"flex","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}

                data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10,"completion_tokens_details":{"reasoning_tokens":0}}}

                data: [DONE]

                """;
        // A lone surrogate (an emoji cut in half) reaches the upstream as the escape it came as, not as "?".
        String asked = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi \\ud83d\"}],"
                + "\"reasoning_effort\":\"low\",\"service_tier\":\"flex\",\"metadata\":{\"team\":\"a\"},\"store\":false,"
                + "\"prediction\":{\"type\":\"content\",\"content\":\"x\"},\"modalities\":[\"text\"],\"verbosity\":\"low\","
                + "\"prompt_cache_key\":\"k\",\"safety_identifier\":\"u1\",\"web_search_options\":{},\"top_k\":5}";
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(json(200, GPT_4O_MODELS), json(200, whole), sse(chunks));
            try (var gateway = ParleyServer.start(
                            ProxyEngine.connect(options(scripted.baseUrl()), List.of()), "127.0.0.1", 0);
                    var http = HttpClient.newHttpClient()) {
                var answer = http.send(
                        HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + "/chat/completions"))
                                .POST(HttpRequest.BodyPublishers.ofString(asked))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());

                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
                assertThat(Json.tree(answer.body())).isEqualTo(Json.tree(whole));
                assertThat(Json.tree(scripted.lastRequest().body())).isEqualTo(Json.tree(asked));

                String streamedAsk = asked.replace("{\"model\"", "{\"stream\":true,\"model\"");
                var streamed = http.send(
                        HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + "/chat/completions"))
                                .POST(HttpRequest.BodyPublishers.ofString(streamedAsk))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());

                var sent = (com.fasterxml.jackson.databind.node.ObjectNode)
                        Json.tree(scripted.lastRequest().body());
                assertThat(sent.path("stream_options").path("include_usage").asBoolean())
                        .isTrue();
                sent.remove("stream_options");
                assertThat(sent).isEqualTo(Json.tree(streamedAsk));
                // The chunks as the upstream sent them; the usage event the caller did not ask for is left out.
                List<String> expected = dev.parley.sse.SseParser.parseAll(chunks).stream()
                        .map(dev.parley.sse.SseEvent::data)
                        .filter(data -> !data.contains("\"choices\":[]"))
                        .toList();
                List<String> got = dev.parley.sse.SseParser.parseAll(streamed.body()).stream()
                        .map(dev.parley.sse.SseEvent::data)
                        .toList();
                assertThat(got).isEqualTo(expected);
            }
        }
    }

    @Test
    void embeddingsAndTheResponsesApiAreRelayedAsTheUpstreamAnswers() throws Exception {
        String embeddingModels =
                "{\"object\":\"list\",\"data\":[{\"id\":\"text-embedding-3-small\",\"object\":\"model\",\"created\":1,\"owned_by\":\"system\"},"
                        + "{\"id\":\"gpt-4o\",\"object\":\"model\",\"created\":1,\"owned_by\":\"system\"}]}";
        String embedding =
                "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.25,-0.5]}],"
                        + "\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}";
        String events = """
                event: response.created
                data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress"}}

                event: response.output_text.delta
                data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}

                event: response.completed
                data: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_1","object":"response","status":"completed","usage":{"input_tokens":5,"output_tokens":1,"total_tokens":6}}}

                """;
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(json(200, embeddingModels), json(200, embedding), sse(events));
            try (var gateway = ParleyServer.start(
                            ProxyEngine.connect(options(scripted.baseUrl()), List.of()), "127.0.0.1", 0);
                    var http = HttpClient.newHttpClient()) {
                String embed = "{\"model\":\"text-embedding-3-small\",\"input\":\"Hello world\",\"dimensions\":2}";
                var embedded = http.send(
                        HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + "/embeddings"))
                                .POST(HttpRequest.BodyPublishers.ofString(embed))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(embedded.statusCode()).as(embedded.body()).isEqualTo(200);
                assertThat(Json.tree(embedded.body())).isEqualTo(Json.tree(embedding));
                assertThat(scripted.lastRequest().path()).endsWith("/embeddings");
                assertThat(Json.tree(scripted.lastRequest().body())).isEqualTo(Json.tree(embed));

                String ask = "{\"model\":\"gpt-4o\",\"input\":\"Say hi\",\"stream\":true,\"max_output_tokens\":16}";
                var streamed = http.send(
                        HttpRequest.newBuilder(URI.create(gateway.baseUrl("127.0.0.1") + "/responses"))
                                .POST(HttpRequest.BodyPublishers.ofString(ask))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(streamed.statusCode()).isEqualTo(200);
                assertThat(scripted.lastRequest().path()).endsWith("/responses");
                assertThat(dev.parley.sse.SseParser.parseAll(streamed.body()))
                        .isEqualTo(dev.parley.sse.SseParser.parseAll(events));
            }
        }
    }

    @Test
    void aLocalModelRefusesEndpointsOnlyAnUpstreamServes() throws Exception {
        try (var http = HttpClient.newHttpClient()) {
            var response = http.send(
                    HttpRequest.newBuilder(URI.create(upstream.baseUrl("127.0.0.1") + "/embeddings"))
                            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"demo\",\"input\":\"Hi\"}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(400);
            assertThat(Json.tree(response.body()).at("/error/param").asText()).isEqualTo("model");
        }
    }

    static String demoChat(int maxTokens) {
        return "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                + "\"max_tokens\":" + maxTokens + ",\"temperature\":0}";
    }

    static HttpResponse<String> post(HttpClient http, String base, String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(base + "/chat/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> postResponses(HttpClient http, String base, String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(base + "/responses"))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aReplicaStoppedUnderLoadCostsNoRequest() throws Exception {
        List<ParleyServer> replicas = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            replicas.add(demoReplica(256));
        }
        try (var gateway = ParleyServer.start(
                        ProxyEngine.connect(
                                // A replica stopped mid-answer may hold a request without answering: the
                                // timeout is what moves it to the next one.
                                options(replicas.getFirst().baseUrl("127.0.0.1")).toBuilder()
                                        .timeout(java.time.Duration.ofSeconds(10))
                                        .build(),
                                replicas.stream()
                                        .map(r -> r.baseUrl("127.0.0.1"))
                                        .toList(),
                                List.of(),
                                ProxyEngine.DEFAULT_OUTPUT_RESERVE,
                                ProxyEngine.DEFAULT_COOLDOWN),
                        "127.0.0.1",
                        0);
                var http = HttpClient.newHttpClient()) {
            String base = gateway.baseUrl("127.0.0.1");
            var answered = new java.util.concurrent.atomic.AtomicInteger();
            var statuses = java.util.Collections.synchronizedList(new java.util.ArrayList<Integer>());
            List<Thread> callers = new java.util.ArrayList<>();
            for (int c = 0; c < 3; c++) {
                callers.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < 6; i++) {
                        try {
                            statuses.add(post(http, base, demoChat(12)).statusCode());
                        } catch (Exception e) {
                            statuses.add(-1);
                        }
                        answered.incrementAndGet();
                    }
                }));
            }
            var streams = java.util.Collections.synchronizedList(new java.util.ArrayList<String>());
            callers.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 6; i++) {
                    try {
                        var streamed = post(http, base, demoChat(12).replaceFirst("\\{", "{\"stream\":true,"));
                        assertThat(streamed.statusCode()).isEqualTo(200);
                        streams.add(streamed.body());
                    } catch (Exception e) {
                        streams.add("failed: " + e);
                    }
                }
            }));
            while (answered.get() < 3) Thread.sleep(5);
            replicas.get(1).close(); // mid-load: its requests in flight fail before their answer begins

            for (Thread caller : callers) caller.join();
            assertThat(statuses).hasSize(18).containsOnly(200);
            // A stream is one answer: whole, or cut with an error event if its replica stopped mid-answer; never
            // begun again on another replica.
            assertThat(streams).hasSize(6).allSatisfy(body -> {
                List<String> data = java.util.Arrays.stream(body.split("\n\n"))
                        .filter(event -> !event.equals(": keep-alive"))
                        .map(event -> event.substring(event.indexOf("data: ") + "data: ".length()))
                        .toList();
                boolean whole = data.getLast().equals("[DONE]");
                List<String> chunks = whole ? data.subList(0, data.size() - 1) : data;
                if (!whole) assertThat(body).contains("\"error\"");
                var ids = chunks.stream()
                        .map(Json::tree)
                        .filter(chunk -> chunk.has("id"))
                        .map(chunk -> chunk.path("id").asText())
                        .distinct()
                        .toList();
                assertThat(ids).as(body).hasSizeLessThanOrEqualTo(1);
                assertThat(chunks.stream()
                                .filter(chunk -> chunk.contains("\"role\":\"assistant\""))
                                .count())
                        .as(body)
                        .isLessThanOrEqualTo(1);
            });
        } finally {
            replicas.forEach(ParleyServer::close);
        }
    }

    @Test
    void aResponseIsContinuedOnTheReplicaThatKeepsItWholeAndStreamed() throws Exception {
        List<ParleyServer> replicas = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            replicas.add(demoReplica(512));
        }
        // The first replica allows one request a minute of the gateway's clock: one spends it, so the next request
        // goes to the second replica, and when the clock has moved on, the first is the rotation's choice again.
        var now = new java.util.concurrent.atomic.AtomicReference<>(java.time.Instant.parse("2026-01-01T00:00:00Z"));
        var clock = new java.time.Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public java.time.Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public java.time.Instant instant() {
                return now.get();
            }
        };
        List<UpstreamReplica> fleet = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++)
            fleet.add(new UpstreamReplica(
                    replicas.get(i).baseUrl("127.0.0.1"),
                    null,
                    i == 0 ? new dev.parley.server.limits.Limits(1, 1_000_000, null, null) : null));
        try (var gateway = ParleyServer.start(
                        ProxyEngine.connect(
                                options(replicas.getFirst().baseUrl("127.0.0.1")).toBuilder()
                                        .clock(clock)
                                        .build(),
                                new ProxyEngine.Fleet(
                                        fleet,
                                        List.of("demo"),
                                        ProxyEngine.DEFAULT_OUTPUT_RESERVE,
                                        java.util.Map.of(),
                                        ProxyEngine.DEFAULT_COOLDOWN,
                                        ProxyEngine.DEFAULT_IDLE_TIMEOUT)),
                        "127.0.0.1",
                        0);
                var http = HttpClient.newHttpClient()) {
            String base = gateway.baseUrl("127.0.0.1");
            assertThat(post(http, base, demoChat(2)).statusCode()).isEqualTo(200); // the first replica's minute
            String first = "{\"model\":\"demo\",\"input\":\"Once upon a time\",\"max_output_tokens\":4}";
            var made = postResponses(http, base, first);
            assertThat(made.statusCode()).as(made.body()).isEqualTo(200);
            String id = Json.tree(made.body()).path("id").asText();
            now.updateAndGet(t -> t.plusSeconds(61));

            // Each turn goes where the last was made, though the first replica is now idle and first in rotation.
            for (boolean streamed : new boolean[] {false, true, false}) {
                String next = "{\"model\":\"demo\",\"previous_response_id\":\"" + id
                        + "\",\"input\":\"And then?\",\"max_output_tokens\":4" + (streamed ? ",\"stream\":true}" : "}");
                var answer = postResponses(http, base, next);
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
                JsonNode response = streamed
                        ? Json.tree(java.util.Arrays.stream(answer.body().split("\n"))
                                        .filter(line -> line.startsWith("data: "))
                                        .reduce((a, b) -> b)
                                        .orElseThrow()
                                        .substring("data: ".length()))
                                .path("response")
                        : Json.tree(answer.body());
                assertThat(response.path("status").asText()).as(answer.body()).isIn("completed", "incomplete");
                assertThat(response.path("previous_response_id").asText()).isEqualTo(id);
                id = response.path("id").asText();
            }
            // What the replicas say of the last one: only the second keeps it.
            for (int i = 0; i < 3; i++) {
                var kept = http.send(
                        HttpRequest.newBuilder(URI.create(replicas.get(i).baseUrl("127.0.0.1") + "/responses/" + id))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(kept.statusCode()).as("replica " + i).isEqualTo(i == 1 ? 200 : 404);
            }
        } finally {
            replicas.forEach(ParleyServer::close);
        }
    }

    @Test
    void aFailingReplicaRestsAndComesBackWhenItsHealthCheckIsAnswered() throws Exception {
        ParleyServer healthy = upstream; // the demo model, shared with the other tests
        try (var scripted = ScriptedServer.start()) {
            String models =
                    "{\"object\":\"list\",\"data\":[{\"id\":\"demo\",\"object\":\"model\",\"created\":1,\"owned_by\":\"me\"}]}";
            String busy =
                    "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
            String fromScripted =
                    "{\"id\":\"chatcmpl-s\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"demo\","
                            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"from the scripted replica\"},"
                            + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":4,\"total_tokens\":9}}";
            scripted.enqueue(
                    json(200, models), // the model list at connect
                    json(503, busy), // a first request: on to the healthy replica
                    json(503, busy), // a second: the replica rests
                    json(503, busy), // its first health check: still resting
                    json(200, models), // its next: back in rotation
                    json(200, fromScripted));
            try (var gateway = ParleyServer.start(
                            ProxyEngine.connect(
                                    options(scripted.baseUrl()),
                                    List.of(scripted.baseUrl(), healthy.baseUrl("127.0.0.1")),
                                    List.of(),
                                    ProxyEngine.DEFAULT_OUTPUT_RESERVE,
                                    java.time.Duration.ofMinutes(5)),
                            "127.0.0.1",
                            0);
                    var http = HttpClient.newHttpClient()) {
                String base = gateway.baseUrl("127.0.0.1");
                for (int i = 0; i < 3; i++) {
                    var answer = post(http, base, demoChat(4));
                    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
                    assertThat(answer.body()).doesNotContain("from the scripted replica");
                }
                // Three answers from the healthy replica; the resting one was asked twice, then only checked.
                assertThat(scripted.requests().stream()
                                .filter(r -> r.path().endsWith("/chat/completions"))
                                .count())
                        .isEqualTo(2);
                while (scripted.requests().size() < 5) Thread.sleep(20); // its health checks, a second apart
                // The check's answer is read after the scripted server has counted the request: wait until the
                // gateway itself says the replica is back in rotation.
                String health = base.replaceFirst("/v1$", "") + "/health";
                while (!http.send(
                                HttpRequest.newBuilder(URI.create(health)).build(),
                                HttpResponse.BodyHandlers.ofString())
                        .body()
                        .contains("\"healthy\":2")) {
                    Thread.sleep(20);
                }

                var back = post(http, base, demoChat(4));
                assertThat(back.statusCode()).isEqualTo(200);
                assertThat(back.body()).contains("from the scripted replica");
            }
        }
    }

    /** A Parley server of the demo model as {@code demo} (two sequences of {@code context} tokens), on loopback. */
    static ParleyServer demoReplica(int context) {
        return ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(context)),
                "127.0.0.1",
                0);
    }

    /** A gateway serving the model {@code demo} from the one upstream at {@code base}. */
    static ParleyServer gatewayTo(String base) {
        return ParleyServer.start(
                ProxyEngine.connect(
                        options(base),
                        List.of(base),
                        List.of("demo"),
                        ProxyEngine.DEFAULT_OUTPUT_RESERVE,
                        java.time.Duration.ofMinutes(5)),
                "127.0.0.1",
                0);
    }

    /** A base URL on a loopback port nothing listens on. */
    static String deadBaseUrl() throws java.io.IOException {
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return "http://127.0.0.1:" + socket.getLocalPort() + "/v1"; // closed on return
        }
    }

    @Test
    void anUpstreamThatCannotBeReachedIsNamedWithWhatWentWrong() throws Exception {
        String dead = deadBaseUrl();
        try (var gateway = gatewayTo(dead);
                var http = HttpClient.newHttpClient()) {
            var answer = post(http, gateway.baseUrl("127.0.0.1"), demoChat(2));
            assertThat(answer.statusCode()).isEqualTo(502);
            // The JDK's refused connection has no message of its own: its cause's words, not "null".
            assertThat(Json.tree(answer.body()).at("/error/message").asText())
                    .startsWith("The upstream provider could not be reached: " + dead + ": ")
                    .doesNotEndWith("null");
        }
    }

    @Test
    void anAnswerThatIsNotJsonIsQuotedInTheError() throws Exception {
        try (var scripted = ScriptedServer.start()) {
            scripted.enqueue(
                    json(
                            200,
                            "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\",\"object\":\"model\",\"created\":1,\"owned_by\":\"system\"}]}"),
                    ScriptedServer.Reply.text(200, "text/html", "<html>\n  Down for maintenance\n</html>"),
                    json(200, "[1, 2]"),
                    json(200, "{\"id\":\"a\",\"usage\":{\"prompt_tokens\":1}} {\"id\":\"b\"}"));
            try (var gateway = ParleyServer.start(
                            ProxyEngine.connect(options(scripted.baseUrl()), List.of()), "127.0.0.1", 0);
                    var http = HttpClient.newHttpClient()) {
                String chat = demoChat(2).replace("\"demo\"", "\"gpt-4o\"");
                var html = post(http, gateway.baseUrl("127.0.0.1"), chat);
                var array = post(http, gateway.baseUrl("127.0.0.1"), chat);
                var two = post(http, gateway.baseUrl("127.0.0.1"), chat);

                assertThat(html.statusCode()).isEqualTo(502);
                assertThat(Json.tree(html.body()).at("/error/message").asText())
                        .isEqualTo("The upstream provider failed: its answer could not be read: it is not JSON:"
                                + " <html> Down for maintenance </html>");
                assertThat(Json.tree(array.body()).at("/error/message").asText())
                        .isEqualTo("The upstream provider failed: its answer could not be read: it is not a JSON"
                                + " object: [1, 2]");
                assertThat(Json.tree(two.body()).at("/error/message").asText())
                        .startsWith("The upstream provider failed: its answer could not be read: it is not JSON:");
            }
        }
    }

    @Test
    void anUpstreamAnswerTooLargeToHoldEndsThatRequestAloneWholeAndStreamed() throws Exception {
        // 80 MiB without an end: past the 64 MiB a whole answer may have and the 16 Mi characters of an event.
        var endless = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        endless.setExecutor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
        endless.createContext("/v1/chat/completions", exchange -> {
            boolean stream;
            try (InputStream in = exchange.getRequestBody()) {
                stream = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                        .contains("\"stream\":true");
            }
            exchange.getResponseHeaders().set("Content-Type", stream ? "text/event-stream" : "application/json");
            exchange.sendResponseHeaders(200, 0);
            byte[] mebibyte = "x".repeat(1 << 20).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            try (var out = exchange.getResponseBody()) {
                out.write((stream ? "data: {\"choices\":[{\"delta\":{\"content\":\"" : "{\"choices\":\"")
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                for (int i = 0; i < 80; i++) out.write(mebibyte);
            } catch (java.io.IOException hungUp) {
                // the gateway gave up on it: as it should
            }
        });
        endless.start();
        String base = "http://127.0.0.1:" + endless.getAddress().getPort() + "/v1";
        try (var gateway = gatewayTo(base);
                var http = HttpClient.newHttpClient()) {
            var whole = post(http, gateway.baseUrl("127.0.0.1"), demoChat(2));
            var streamed = post(http, gateway.baseUrl("127.0.0.1"), demoChat(2).replace("{", "{\"stream\":true,"));
            var health = http.send(
                    HttpRequest.newBuilder(
                                    URI.create(gateway.baseUrl("127.0.0.1").replace("/v1", "/health")))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(whole.statusCode()).isEqualTo(502);
            assertThat(Json.tree(whole.body()).at("/error/message").asText())
                    .isEqualTo("The upstream provider failed: its answer could not be read: it is larger than 64 MiB");
            assertThat(streamed.body().replace(": keep-alive\n\n", "")) // comments while it read, if it took long
                    .contains("The upstream provider failed: an event of the stream is longer than 16777216 characters")
                    .hasSizeLessThan(1000);
            assertThat(health.statusCode()).isEqualTo(200);
        } finally {
            endless.stop(0);
        }
    }

    @Test
    void healthAndMetricsSayHowManyReplicasAreInRotation() throws Exception {
        String dead = deadBaseUrl();
        try (var gateway = ParleyServer.start(
                        ProxyEngine.connect(
                                options(upstream.baseUrl("127.0.0.1")),
                                List.of(dead, upstream.baseUrl("127.0.0.1")),
                                List.of(),
                                ProxyEngine.DEFAULT_OUTPUT_RESERVE,
                                java.time.Duration.ofMinutes(5)),
                        "127.0.0.1",
                        0);
                var http = HttpClient.newHttpClient()) {
            String base = gateway.baseUrl("127.0.0.1");
            String root = "http://127.0.0.1:" + gateway.port();
            var before = Json.tree(http.send(
                            HttpRequest.newBuilder(URI.create(root + "/health")).build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body());
            assertThat(before.get("status").asText()).isEqualTo("ok");
            assertThat(before.at("/upstream/healthy").asInt()).isEqualTo(2);

            for (int i = 0; i < 2; i++)
                assertThat(post(http, base, demoChat(2)).statusCode()).isEqualTo(200);

            var health = http.send(
                    HttpRequest.newBuilder(URI.create(root + "/health")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
            var after = Json.tree(health.body());
            assertThat(after.get("status").asText()).isEqualTo("degraded");
            assertThat(after.at("/upstream/total").asInt()).isEqualTo(2);
            assertThat(after.at("/upstream/healthy").asInt()).isEqualTo(1);
            assertThat(after.at("/degraded/0/component").asText()).isEqualTo("upstream");
            String metrics = http.send(
                            HttpRequest.newBuilder(URI.create(root + "/metrics"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            assertThat(metrics).containsPattern("(?m)^parley_upstream_replicas_healthy(\\{[^}]*\\})? 1\\.0$");
            assertThat(metrics).containsPattern("(?m)^parley_upstream_replicas(\\{[^}]*\\})? 2\\.0$");
        }
    }
}
