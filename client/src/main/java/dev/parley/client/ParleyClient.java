package dev.parley.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.ModelList;
import dev.parley.api.TextCompletion;
import dev.parley.api.check.RequestCheck;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

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
 * <p>Every call takes {@link RequestOptions} too: headers, a timeout, and body fields the request records do
 * not model ({@code top_k}, {@code verbosity}, …). The {@code …Async} calls answer a
 * {@link CompletableFuture} at once and run the call, retries included, on a virtual thread of the
 * client's; a failure completes the future exceptionally with the exception the plain call throws.
 *
 * <p>Thread-safe: share one client. {@link #close} aborts what is in flight and releases its connections;
 * a client made with {@link #create(ClientOptions, HttpClient)} leaves that {@link HttpClient} open, as it
 * is the caller's.
 */
public final class ParleyClient implements AutoCloseable {
    private static final String JSON = "application/json";
    private static final String EVENT_STREAM = "text/event-stream";

    private final ClientOptions options;
    private final HttpClient http;
    private final boolean ownsHttp;
    private final Transport transport;
    private final ExecutorService async = Executors.newVirtualThreadPerTaskExecutor();
    private final WithResponse withResponse = new WithResponse();

    private ParleyClient(ClientOptions options, HttpClient given) {
        this.options = options;
        this.ownsHttp = given == null;
        this.http = given != null ? given : http(options);
        // The request path: retry (backoff, retry-after) around pace (shared budget) around one HTTP exchange.
        Transport attempt = new JdkTransport(http);
        if (options.pacer() != null)
            attempt = new PacingTransport(attempt, options.pacer(), options.sleeper(), options);
        this.transport = new RetryingTransport(attempt, RetryRules.from(options), options.sleeper());
    }

    private static HttpClient http(ClientOptions options) {
        var http = HttpClient.newBuilder()
                .connectTimeout(options.connectTimeout())
                .followRedirects(HttpClient.Redirect.NORMAL);
        if (options.caCertificates() != null) http.sslContext(CaCertificates.trusting(options.caCertificates()));
        return http.build();
    }

    /**
     * A client as {@code options} say.
     *
     * @throws IllegalArgumentException when the options' CA certificates cannot be read
     */
    public static ParleyClient create(ClientOptions options) {
        return new ParleyClient(options, null);
    }

    /**
     * A client that sends through {@code http}, e.g. one with your proxy, SSL context, executor or HTTP
     * version; its connect timeout and redirect policy are then yours, and closing this client leaves it
     * open.
     */
    public static ParleyClient create(ClientOptions options, HttpClient http) {
        return new ParleyClient(options, Objects.requireNonNull(http, "http"));
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
        return chat(request, RequestOptions.NONE);
    }

    /** {@link #chat(ChatCompletionRequest)} with this call's own options. */
    public ChatCompletion chat(ChatCompletionRequest request, RequestOptions call) {
        return withResponse.chat(request, call).body();
    }

    /** {@link #chat(ChatCompletionRequest)}, answering at once. */
    public CompletableFuture<ChatCompletion> chatAsync(ChatCompletionRequest request) {
        return chatAsync(request, RequestOptions.NONE);
    }

    /** {@link #chat(ChatCompletionRequest, RequestOptions)}, answering at once. */
    public CompletableFuture<ChatCompletion> chatAsync(ChatCompletionRequest request, RequestOptions call) {
        return supplyAsync(() -> chat(request, call));
    }

    /**
     * {@code POST /chat/completions} with {@code stream: true}; the caller's {@code stream_options} are
     * kept. Returns once the response headers are in: failures before then are retried, none after.
     * The caller closes the stream.
     */
    public ChatStream stream(ChatCompletionRequest request) {
        return stream(request, RequestOptions.NONE);
    }

    /** {@link #stream(ChatCompletionRequest)} with this call's own options. */
    public ChatStream stream(ChatCompletionRequest request, RequestOptions call) {
        ChatCompletionRequest streaming = request.toBuilder().stream(true).build();
        RequestCheck.chat(streaming);
        Response<InputStream> response =
                transport.send(post("/chat/completions", streaming, EVENT_STREAM, call), BodyHandlers.ofInputStream());
        var events = new EventReader<>(
                response.body(), ChatCompletionChunk.class, response.info(), options.streamIdleTimeout());
        return new HttpChatStream(events, response.info(), streaming, options.usageCounter());
    }

    /**
     * {@code POST /responses} (OpenAI's Responses API) without streaming, as JSON both ways: {@code body} is sent as it
     * is but for {@code stream}, left out, and the {@code response} object comes back as a tree. Checked only as far as
     * sending needs (an object naming its {@code model}); the server checks the rest. Retried as every call is.
     */
    public ObjectNode responses(ObjectNode body) {
        return responses(body, RequestOptions.NONE);
    }

    /** {@link #responses(ObjectNode)} with this call's own options. */
    public ObjectNode responses(ObjectNode body, RequestOptions call) {
        return withResponse.responses(body, call).body();
    }

    /**
     * {@code POST /responses} with {@code stream: true}: the Responses API's events as they arrive, each a JSON object
     * (see {@link ResponsesStream}). Returns once the response headers are in: failures before then are retried, none
     * after. The caller closes the stream.
     */
    public ResponsesStream streamResponses(ObjectNode body) {
        return streamResponses(body, RequestOptions.NONE);
    }

    /** {@link #streamResponses(ObjectNode)} with this call's own options. */
    public ResponsesStream streamResponses(ObjectNode body, RequestOptions call) {
        ObjectNode streaming = named(body).put("stream", true);
        Response<InputStream> response =
                transport.send(post("/responses", streaming, EVENT_STREAM, call), BodyHandlers.ofInputStream());
        return new ResponsesStream(
                EventReader.responses(response.body(), response.info(), options.streamIdleTimeout()), response.info());
    }

    /**
     * {@code GET /responses/{id}}: a response the server kept (one created with {@code store} true or left out), as it
     * was answered; a {@link dev.parley.api.NotFoundException} when it is not kept for this key.
     */
    public ObjectNode retrieveResponse(String id) {
        return withResponse.retrieveResponse(id, RequestOptions.NONE).body();
    }

    /**
     * {@code GET /responses/{id}/input_items}: the items a kept response answered, oldest first, every page of them.
     */
    public List<ObjectNode> responseInputItems(String id) {
        return responseInputItems(id, 20); // OpenAI's default page
    }

    /** {@link #responseInputItems(String)}, asked for {@code pageSize} items at a time (OpenAI allows 1 to 100). */
    public List<ObjectNode> responseInputItems(String id, int pageSize) {
        return everyPage(responsePath(id) + "/input_items", pageSize);
    }

    /** The items of the list at {@code path}, oldest first, {@code pageSize} a page, every page of them. */
    private List<ObjectNode> everyPage(String path, int pageSize) {
        if (pageSize < 1 || pageSize > 100)
            throw InvalidRequestException.of(
                    "limit", "invalid_value", "A page holds 1 to 100 items, not %d.".formatted(pageSize));
        List<ObjectNode> items = new ArrayList<>();
        String after = null;
        while (true) {
            String query = "?order=asc&limit=" + pageSize
                    + (after == null ? "" : "&after=" + URLEncoder.encode(after, StandardCharsets.UTF_8));
            ObjectNode page = get(path + query);
            JsonNode data = page.path("data");
            data.forEach(item -> items.add((ObjectNode) item));
            if (!page.path("has_more").asBoolean(false) || data.isEmpty()) return items; // an empty page ends it too
            after = items.getLast().path("id").asText();
        }
    }

    /**
     * {@code POST /responses/input_tokens}: how many input tokens a Responses API request would read (its {@code
     * usage.input_tokens}), nothing generated.
     */
    public long countResponseInputTokens(ObjectNode body) {
        ObjectNode plain = named(body);
        plain.remove("stream");
        ObjectNode counted = read(
                        transport.send(post("/responses/input_tokens", plain, JSON, RequestOptions.NONE), Body.whole()),
                        ObjectNode.class)
                .body();
        return counted.path("input_tokens").asLong();
    }

    /**
     * {@code POST /responses/{id}/cancel}: ends a response being made in the background ({@code background: true})
     * where it is; the response as it then stands ({@code cancelled}, or as it ended when it had).
     */
    public ObjectNode cancelResponse(String id) {
        return post(Json.object(), responsePath(id) + "/cancel");
    }

    /**
     * {@code GET /responses/{id}?stream=true}: the events of a response being made in the background with {@code
     * stream: true}, again, after the event numbered {@code startingAfter} (-1: from the first); for a reader that
     * lost its stream. The caller closes the stream.
     */
    public ResponsesStream followResponse(String id, long startingAfter) {
        String query = "?stream=true" + (startingAfter < 0 ? "" : "&starting_after=" + startingAfter);
        Response<InputStream> response = transport.send(
                request(responsePath(id) + query, EVENT_STREAM, RequestOptions.NONE)
                        .GET()
                        .build(),
                BodyHandlers.ofInputStream());
        return new ResponsesStream(
                EventReader.responses(response.body(), response.info(), options.streamIdleTimeout()), response.info());
    }

    /** {@code DELETE /responses/{id}}: forgets a kept response; a {@link dev.parley.api.NotFoundException} when there is none. */
    public void deleteResponse(String id) {
        withResponse.deleteResponse(id, RequestOptions.NONE);
    }

    /** The path of a kept response, its id escaped as a path segment. */
    private static String responsePath(String id) {
        return "/responses/" + segment("id", id);
    }

    /**
     * {@code POST /conversations}: starts a conversation (OpenAI's Conversations API) with {@code body}'s {@code items}
     * (at most 20, as a response's input items) and {@code metadata}, both optional; the {@code conversation} object.
     * A response names it with {@code conversation}, reads its items before its input and adds its own to them.
     */
    public ObjectNode createConversation(ObjectNode body) {
        return post(body == null ? Json.object() : body, "/conversations");
    }

    /** {@code GET /conversations/{id}}; a {@link dev.parley.api.NotFoundException} when this key has none by that id. */
    public ObjectNode retrieveConversation(String id) {
        return get(conversationPath(id));
    }

    /** {@code POST /conversations/{id}}: sets the conversation's {@code metadata}; the conversation as it then is. */
    public ObjectNode updateConversation(String id, ObjectNode metadata) {
        ObjectNode body = Json.object();
        body.set("metadata", metadata);
        return post(body, conversationPath(id));
    }

    /** {@code DELETE /conversations/{id}}: deletes the conversation and its items. */
    public void deleteConversation(String id) {
        delete(conversationPath(id));
    }

    /** {@code GET /conversations/{id}/items}: the conversation's items, oldest first, every page of them. */
    public List<ObjectNode> conversationItems(String id) {
        return everyPage(conversationPath(id) + "/items", 100);
    }

    /** {@code POST /conversations/{id}/items}: adds {@code items} (at most 20) after its last; those added, with ids. */
    public List<ObjectNode> addConversationItems(String id, ArrayNode items) {
        ObjectNode body = Json.object();
        body.set("items", items);
        List<ObjectNode> added = new ArrayList<>();
        post(body, conversationPath(id) + "/items").path("data").forEach(item -> added.add((ObjectNode) item));
        return added;
    }

    /** {@code GET /conversations/{id}/items/{itemId}}: one item of the conversation. */
    public ObjectNode retrieveConversationItem(String id, String itemId) {
        return get(conversationPath(id) + "/items/" + segment("item_id", itemId));
    }

    /** {@code DELETE /conversations/{id}/items/{itemId}}: deletes one item; the conversation. */
    public ObjectNode deleteConversationItem(String id, String itemId) {
        return delete(conversationPath(id) + "/items/" + segment("item_id", itemId));
    }

    private static String conversationPath(String id) {
        return "/conversations/" + segment("id", id);
    }

    /** {@code value}, required, escaped as a path segment; a missing one is named {@code name}. */
    private static String segment(String name, String value) {
        if (value == null || value.isBlank())
            throw InvalidRequestException.of(
                    name, "missing_required_parameter", "Missing required parameter: '%s'.".formatted(name));
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private ObjectNode get(String path) {
        return read(
                        transport.send(
                                request(path, JSON, RequestOptions.NONE).GET().build(), Body.whole()),
                        ObjectNode.class)
                .body();
    }

    private ObjectNode post(ObjectNode body, String path) {
        return read(transport.send(post(path, body, JSON, RequestOptions.NONE), Body.whole()), ObjectNode.class)
                .body();
    }

    private ObjectNode delete(String path) {
        return read(
                        transport.send(
                                request(path, JSON, RequestOptions.NONE)
                                        .DELETE()
                                        .build(),
                                Body.whole()),
                        ObjectNode.class)
                .body();
    }

    /** A copy of a Responses API body, which must name its model. */
    private static ObjectNode named(ObjectNode body) {
        if (body == null
                || !body.path("model").isTextual()
                || body.path("model").asText().isBlank())
            throw InvalidRequestException.of(
                    "model", "missing_required_parameter", "Missing required parameter: 'model'.");
        return body.deepCopy();
    }

    /** {@code POST /completions} (legacy) without streaming. */
    public TextCompletion complete(CompletionRequest request) {
        return complete(request, RequestOptions.NONE);
    }

    /** {@link #complete(CompletionRequest)} with this call's own options. */
    public TextCompletion complete(CompletionRequest request, RequestOptions call) {
        return withResponse.complete(request, call).body();
    }

    /** {@link #complete(CompletionRequest)}, answering at once. */
    public CompletableFuture<TextCompletion> completeAsync(CompletionRequest request) {
        return completeAsync(request, RequestOptions.NONE);
    }

    /** {@link #complete(CompletionRequest, RequestOptions)}, answering at once. */
    public CompletableFuture<TextCompletion> completeAsync(CompletionRequest request, RequestOptions call) {
        return supplyAsync(() -> complete(request, call));
    }

    /** {@code POST /completions} (legacy) with {@code stream: true}, retried like {@link #stream}. */
    public CompletionStream streamCompletion(CompletionRequest request) {
        return streamCompletion(request, RequestOptions.NONE);
    }

    /** {@link #streamCompletion(CompletionRequest)} with this call's own options. */
    public CompletionStream streamCompletion(CompletionRequest request, RequestOptions call) {
        CompletionRequest streaming = request.withStream(true);
        RequestCheck.completion(streaming);
        Response<InputStream> response =
                transport.send(post("/completions", streaming, EVENT_STREAM, call), BodyHandlers.ofInputStream());
        return new HttpCompletionStream(
                new EventReader<>(response.body(), TextCompletion.class, response.info(), options.streamIdleTimeout()),
                response.info());
    }

    /** {@code GET /models}. */
    public ModelList models() {
        return withResponse.models().body();
    }

    /** {@link #models()}, answering at once. */
    public CompletableFuture<ModelList> modelsAsync() {
        return supplyAsync(this::models);
    }

    /** The same calls, answering the body together with the response's status and headers. */
    public WithResponse withResponse() {
        return withResponse;
    }

    /**
     * Aborts requests and streams in flight and releases connections (of an {@link HttpClient} given to
     * {@link #create(ClientOptions, HttpClient)}, only what this client's calls hold: the rest is the
     * caller's).
     */
    @Override
    public void close() {
        async.shutdownNow();
        if (ownsHttp) http.shutdownNow();
    }

    private <T> CompletableFuture<T> supplyAsync(Supplier<T> call) {
        return CompletableFuture.supplyAsync(call, async);
    }

    /** {@link ParleyClient}'s plain calls, each answering a {@link Response}. Thread-safe. */
    public final class WithResponse {
        private WithResponse() {}

        public Response<ChatCompletion> chat(ChatCompletionRequest request) {
            return chat(request, RequestOptions.NONE);
        }

        public Response<ChatCompletion> chat(ChatCompletionRequest request, RequestOptions call) {
            ChatCompletionRequest plain = request.toBuilder().stream(null).build();
            RequestCheck.chat(plain);
            return read(
                    transport.send(post("/chat/completions", plain, JSON, call), Body.whole()), ChatCompletion.class);
        }

        public Response<TextCompletion> complete(CompletionRequest request) {
            return complete(request, RequestOptions.NONE);
        }

        public Response<TextCompletion> complete(CompletionRequest request, RequestOptions call) {
            CompletionRequest plain = request.withStream(null);
            RequestCheck.completion(plain);
            return read(transport.send(post("/completions", plain, JSON, call), Body.whole()), TextCompletion.class);
        }

        public Response<ObjectNode> responses(ObjectNode body, RequestOptions call) {
            ObjectNode plain = named(body);
            plain.remove("stream");
            return read(transport.send(post("/responses", plain, JSON, call), Body.whole()), ObjectNode.class);
        }

        public Response<ObjectNode> retrieveResponse(String id, RequestOptions call) {
            return read(
                    transport.send(request(responsePath(id), JSON, call).GET().build(), Body.whole()),
                    ObjectNode.class);
        }

        public Response<ObjectNode> deleteResponse(String id, RequestOptions call) {
            return read(
                    transport.send(
                            request(responsePath(id), JSON, call).DELETE().build(), Body.whole()),
                    ObjectNode.class);
        }

        public Response<ModelList> models() {
            return models(RequestOptions.NONE);
        }

        public Response<ModelList> models(RequestOptions call) {
            return read(transport.send(request("/models", JSON, call).GET().build(), Body.whole()), ModelList.class);
        }
    }

    private HttpRequest post(String path, Object body, String accept, RequestOptions call) {
        String json;
        if (call.extraBody().isEmpty()) {
            json = Json.write(body);
        } else {
            ObjectNode tree = Json.mapper().valueToTree(body);
            tree.setAll(call.extraBody());
            json = tree.toString();
        }
        return request(path, accept, call)
                .header("Content-Type", JSON)
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.utf8(json)))
                .build();
    }

    private HttpRequest.Builder request(String path, String accept, RequestOptions call) {
        var builder = HttpRequest.newBuilder(URI.create(options.baseUrl() + path))
                .timeout(call.timeout() != null ? call.timeout() : options.timeout())
                .header("Accept", accept)
                .header("User-Agent", "parley-java");
        if (options.apiKey() != null) builder.header("Authorization", "Bearer " + options.apiKey());
        if (options.organization() != null) builder.header("OpenAI-Organization", options.organization());
        if (options.project() != null) builder.header("OpenAI-Project", options.project());
        call.headers().forEach(builder::setHeader);
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
