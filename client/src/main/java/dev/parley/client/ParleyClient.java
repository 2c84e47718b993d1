package dev.parley.client;

import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Json;
import dev.parley.api.ModelList;
import dev.parley.api.TextCompletion;
import dev.parley.api.check.RequestCheck;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;

/**
 * The client of an OpenAI-compatible server: chat and legacy completions, plain or streamed, and the
 * model list. Each plain method answers the body; {@link #withResponse()} answers the same calls with
 * the response's {@code x-request-id} and {@code x-ratelimit-*} as well, and streams carry them in
 * {@link ChatStream#info()}.
 *
 * <p>Requests are checked against OpenAI's rules before they are sent (an
 * {@link dev.parley.api.InvalidRequestException} naming the {@code param}). Transient failures are
 * retried as {@link ClientOptions} describes; what is left is thrown as the
 * {@link dev.parley.api.ApiException} of the status, or a {@link TransportException}.
 *
 * <p>Thread-safe: share one client. {@link #close} releases its connections and aborts what is in flight.
 */
public final class ParleyClient implements AutoCloseable {
    private static final String JSON = "application/json";
    private static final String EVENT_STREAM = "text/event-stream";

    private final ClientOptions options;
    private final HttpClient http;
    private final Transport transport;
    private final WithResponse withResponse = new WithResponse();

    private ParleyClient(ClientOptions options) {
        this.options = options;
        this.http = HttpClient.newBuilder()
                .connectTimeout(options.connectTimeout())
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        // The request path: retry (backoff, retry-after) around pace (shared budget) around one HTTP exchange.
        Transport attempt = new JdkTransport(http);
        if (options.pacer() != null)
            attempt = new PacingTransport(attempt, options.pacer(), options.sleeper(), options);
        this.transport = new RetryingTransport(attempt, RetryRules.from(options), options.sleeper());
    }

    public static ParleyClient create(ClientOptions options) {
        return new ParleyClient(options);
    }

    /** A client configured from {@code OPENAI_BASE_URL} and {@code OPENAI_API_KEY}. */
    public static ParleyClient fromEnv() {
        return create(ClientOptions.builder().build());
    }

    public ClientOptions options() {
        return options;
    }

    /** {@code POST /chat/completions} without streaming ({@code stream} is sent as absent). */
    public ChatCompletion chat(ChatCompletionRequest request) {
        return withResponse.chat(request).body();
    }

    /**
     * {@code POST /chat/completions} with {@code stream: true}; the caller's {@code stream_options} are
     * kept. Returns once the response headers are in: failures before then are retried, none after.
     * The caller closes the stream.
     */
    public ChatStream stream(ChatCompletionRequest request) {
        ChatCompletionRequest streaming = request.toBuilder().stream(true).build();
        RequestCheck.chat(streaming);
        Response<InputStream> response =
                transport.send(post("/chat/completions", streaming, EVENT_STREAM), BodyHandlers.ofInputStream());
        var events = new EventReader<>(response.body(), ChatCompletionChunk.class, response.info());
        return new HttpChatStream(events, response.info(), streaming, options.usageCounter());
    }

    /** {@code POST /completions} (legacy) without streaming. */
    public TextCompletion complete(CompletionRequest request) {
        return withResponse.complete(request).body();
    }

    /** {@code POST /completions} (legacy) with {@code stream: true}, retried like {@link #stream}. */
    public CompletionStream streamCompletion(CompletionRequest request) {
        CompletionRequest streaming = request.withStream(true);
        RequestCheck.completion(streaming);
        Response<InputStream> response =
                transport.send(post("/completions", streaming, EVENT_STREAM), BodyHandlers.ofInputStream());
        return new HttpCompletionStream(
                new EventReader<>(response.body(), TextCompletion.class, response.info()), response.info());
    }

    /** {@code GET /models}. */
    public ModelList models() {
        return withResponse.models().body();
    }

    /** The same calls, answering the body together with the response's status and headers. */
    public WithResponse withResponse() {
        return withResponse;
    }

    /** Releases connections and aborts requests and streams in flight. */
    @Override
    public void close() {
        http.shutdownNow();
    }

    /** {@link ParleyClient}'s plain calls, each answering a {@link Response}. Thread-safe. */
    public final class WithResponse {
        private WithResponse() {}

        public Response<ChatCompletion> chat(ChatCompletionRequest request) {
            ChatCompletionRequest plain = request.toBuilder().stream(null).build();
            RequestCheck.chat(plain);
            return read(
                    transport.send(post("/chat/completions", plain, JSON), BodyHandlers.ofByteArray()),
                    ChatCompletion.class);
        }

        public Response<TextCompletion> complete(CompletionRequest request) {
            CompletionRequest plain = request.withStream(null);
            RequestCheck.completion(plain);
            return read(
                    transport.send(post("/completions", plain, JSON), BodyHandlers.ofByteArray()),
                    TextCompletion.class);
        }

        public Response<ModelList> models() {
            return read(
                    transport.send(request("/models", JSON).GET().build(), BodyHandlers.ofByteArray()),
                    ModelList.class);
        }
    }

    private HttpRequest post(String path, Object body, String accept) {
        return request(path, accept)
                .header("Content-Type", JSON)
                .POST(HttpRequest.BodyPublishers.ofString(Json.write(body)))
                .build();
    }

    private HttpRequest.Builder request(String path, String accept) {
        var builder = HttpRequest.newBuilder(URI.create(options.baseUrl() + path))
                .timeout(options.timeout())
                .header("Accept", accept)
                .header("User-Agent", "parley-java");
        if (options.apiKey() != null) builder.header("Authorization", "Bearer " + options.apiKey());
        if (options.organization() != null) builder.header("OpenAI-Organization", options.organization());
        if (options.project() != null) builder.header("OpenAI-Project", options.project());
        return builder;
    }

    private static <T> Response<T> read(Response<byte[]> response, Class<T> type) {
        try {
            return new Response<>(Json.mapper().readValue(response.body(), type), response.info());
        } catch (IOException | UncheckedIOException e) {
            String start = new String(
                    response.body(), 0, Math.min(200, response.body().length), java.nio.charset.StandardCharsets.UTF_8);
            throw new TransportException("the response is not a %s: %s".formatted(type.getSimpleName(), start), e);
        }
    }
}
