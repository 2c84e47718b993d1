package dev.parley.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.ModelList;
import dev.parley.api.NotFoundException;
import dev.parley.api.QuotaExceededException;
import dev.parley.api.check.RequestReader;
import dev.parley.limits.RateLimitSnapshot;
import dev.parley.server.ServerOptions;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.Tenant;
import dev.parley.server.batches.Batches;
import dev.parley.server.batches.FileStore;
import dev.parley.server.engine.Embeddings;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.Health;
import dev.parley.server.engine.ModelCard;
import dev.parley.server.engine.Prepared;
import dev.parley.server.engine.Relayed;
import dev.parley.server.limits.RateLimits;
import dev.parley.server.limits.Reservation;
import dev.parley.server.responses.Conversation;
import dev.parley.server.responses.KeptConversations;
import dev.parley.server.responses.KeptResponses;
import dev.parley.server.responses.StoredResponse;
import dev.parley.server.usage.Price;
import dev.parley.server.usage.UsageLedger;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.config.SizeUnit;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;
import io.javalin.router.EndpointNotFound;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.eclipse.jetty.http.BadMessageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible routes over one {@link Engine}, assembled once. A generating route authenticates
 * the key, reads and checks its body, checks the key may use the model, lets the engine count the
 * prompt, admits the request against the key's budgets, generates, replies, and settles the budgets
 * against what was used. Every response carries {@code x-request-id}; once a key is known, every response
 * also carries its {@code x-ratelimit-*}; every error, including unknown routes and oversized bodies, is
 * an OpenAI error body. {@link TokenizeRoutes} tokenize for the same keys without generating.
 */
public final class HttpApi {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    private static final String REPLIED = "parley.replied";
    private static final String TENANT = "parley.tenant";

    /** The largest request body accepted; larger ones get 413 before they are read. */
    public static final long MAX_BODY_BYTES = 32L << 20;

    private final Engine engine;
    private final ApiKeys keys;
    private final RateLimits limits;
    private final UsageLedger ledger;
    private final Map<String, Price> prices;
    private final Duration keepAlive; // a stream's longest silence before a comment; zero: none
    private final ChatReply chat;
    private final ResponsesReply responses;
    private final KeptResponses kept;
    private final KeptConversations conversations;
    private final BackgroundResponses background;
    private final CompletionReply completion;
    private final Clock clock;

    private HttpApi(
            Engine engine,
            ApiKeys keys,
            RateLimits limits,
            UsageLedger ledger,
            KeptResponses kept,
            KeptConversations conversations,
            Map<String, Price> prices,
            Clock clock,
            Duration keepAlive) {
        this.engine = engine;
        this.keys = keys;
        this.limits = limits;
        this.ledger = ledger;
        this.prices = prices;
        this.keepAlive = keepAlive;
        this.clock = clock;
        this.chat = new ChatReply(clock, keepAlive);
        this.kept = kept;
        this.conversations = conversations;
        this.responses = new ResponsesReply(clock, keepAlive, kept, conversations);
        this.background = new BackgroundResponses(engine, kept, responses, clock, keepAlive);
        this.completion = new CompletionReply(clock, keepAlive);
    }

    /**
     * Runs one line of a batch for the key named {@code owner}, as the route of {@code url} would answer it, but
     * only when the engine has a free slot and nobody waiting (live callers come first), and within the key's
     * budgets: a 429 of the key's own limits or a 503 of a full engine is waited out, never the line's answer.
     */
    private Batches.Response runLine(String owner, String url, ObjectNode body) throws InterruptedException {
        byte[] bytes = Json.bytes(body);
        while (true) {
            Tenant tenant = keys.tenant(owner).orElse(null);
            if (tenant == null) {
                return new Batches.Response(
                        401,
                        Json.mapper()
                                .valueToTree(new ApiError(
                                                "The API key that created this batch no longer exists.",
                                                ApiError.INVALID_REQUEST,
                                                null,
                                                "invalid_api_key")
                                        .body()));
            }
            awaitIdleEngine();
            try {
                Object answer;
                if (url.equals("/v1/chat/completions")) {
                    ChatCompletionRequest request = RequestReader.chat(bytes);
                    requireAccess(tenant, request.model());
                    Prepared prepared = engine.chat(request, () -> body); // a relay passes every field on
                    answer = runToEnd(
                            tenant,
                            request.model(),
                            prepared,
                            g -> g instanceof Relayed relayed
                                    ? Json.tree(relayed.body())
                                    : chat.completion(request, g));
                } else if (url.equals("/v1/responses")) {
                    String model = modelOf(body);
                    requireAccess(tenant, model);
                    if (engine.relays(model)) {
                        Prepared prepared = engine.relay(
                                Engine.RESPONSES, model, relayedBody(tenant, body), continued(tenant, body));
                        answer = runToEnd(tenant, model, prepared, g -> {
                            JsonNode relayed = Json.tree(((Relayed) g).body());
                            keepRelayed(tenant, body, (Relayed) g);
                            return relayed;
                        });
                    } else {
                        ResponsesRequest request = ResponsesRequest.read(body, kept, conversations, owner);
                        if (request.background())
                            throw InvalidRequestException.of(
                                    "background",
                                    "invalid_value",
                                    "A batch line is answered in the batch's output file: send it without background.");
                        Prepared prepared = request.prepare(engine::chat);
                        answer = runToEnd(tenant, model, prepared, g -> responses.response(request, g, owner));
                    }
                } else if (url.equals("/v1/embeddings")) {
                    String model = modelOf(body);
                    requireAccess(tenant, model);
                    Prepared prepared = engine.embed(model, body); // 400 when the model has no embeddings
                    answer = runToEnd(tenant, model, prepared, g -> switch (g) {
                        case Embeddings embeddings -> embeddings.result();
                        case Relayed relayed -> Json.tree(relayed.body());
                        default -> throw new IllegalStateException("an embeddings request answered " + g);
                    });
                } else {
                    CompletionRequest request = RequestReader.completion(bytes);
                    requireAccess(tenant, request.model());
                    Prepared prepared = engine.complete(request, () -> body);
                    answer = runToEnd(
                            tenant,
                            request.model(),
                            prepared,
                            g -> g instanceof Relayed relayed
                                    ? Json.tree(relayed.body())
                                    : completion.completion(request, g));
                }
                return new Batches.Response(200, Json.mapper().valueToTree(answer));
            } catch (ApiException e) {
                boolean waitable = e.status() == 503
                        || e.status() == 429
                                && !"insufficient_quota".equals(e.error().code());
                if (!waitable)
                    return new Batches.Response(
                            e.status(), Json.mapper().valueToTree(e.error().body()));
                Thread.sleep(retryAfterMillis(e));
            }
        }
    }

    private interface Answer {
        Object from(Generation generation) throws InterruptedException;
    }

    private Object runToEnd(Tenant tenant, String model, Prepared prepared, Answer answer) throws InterruptedException {
        Admitted admitted = admit(tenant, model, prepared);
        long used = 0;
        try (Generation generation = prepared.start()) {
            try {
                return answer.from(generation);
            } finally {
                used = (long) generation.promptTokens() + generation.completionTokens();
                ledger.record(
                        tenant.name(), admitted.model(), generation.promptTokens(), generation.completionTokens());
            }
        } finally {
            admitted.reservation().settle(used);
        }
    }

    /** Waits while every slot of the engine is busy or a live request waits for one. */
    private void awaitIdleEngine() throws InterruptedException {
        while (true) {
            Health health = engine.health();
            boolean free = health.slots() == null
                    || health.slots().busy() < health.slots().total();
            boolean nobodyWaits = health.queue() == null || health.queue().waiting() == 0;
            if (free && nobodyWaits) return;
            Thread.sleep(20);
        }
    }

    /** How long an error asks to wait: its {@code retry-after-ms} or {@code retry-after}, else one second. */
    private static long retryAfterMillis(ApiException e) {
        try {
            List<String> ms = e.headers().get("retry-after-ms");
            if (ms != null && !ms.isEmpty()) return Math.clamp(Long.parseLong(ms.getFirst()), 10, 60_000);
            List<String> seconds = e.headers().get("retry-after");
            if (seconds != null && !seconds.isEmpty())
                return Math.clamp((long) (Double.parseDouble(seconds.getFirst()) * 1000), 10, 60_000);
        } catch (NumberFormatException ignored) {
            // a malformed header: the default wait
        }
        return 1000;
    }

    /**
     * A Javalin server serving {@code engine} on {@code host}:{@code port} to the holders of {@code keys}, within
     * {@code limits}, each request recorded in {@code ledger}, responses and conversations kept in {@code kept} and
     * {@code conversations}, run as {@code options} say; not yet started. With a
     * data directory in the options, also OpenAI's Files and Batch API, whose batches are handed to {@code opened}
     * so the caller can close them with the server. The caller closes the ledger after the server stops. With
     * {@code tls}, HTTPS only.
     */
    public static Javalin create(
            Engine engine,
            ApiKeys keys,
            RateLimits limits,
            UsageLedger ledger,
            KeptResponses kept,
            KeptConversations conversations,
            String host,
            int port,
            Clock clock,
            ServerOptions options,
            ServerTls tls,
            Consumer<Batches> opened) {
        HttpApi api = new HttpApi(
                engine, keys, limits, ledger, kept, conversations, options.prices(), clock, options.sseKeepAlive());
        StoredResponseRoutes stored = new StoredResponseRoutes(kept, api.background, api::authenticate);
        ConversationRoutes conversationRoutes = new ConversationRoutes(conversations, api::authenticate, clock);
        UsageRoutes usage = new UsageRoutes(ledger, options.prices(), keys, api::authenticate, clock);
        Operations operations = new Operations(options, engine, limits, ledger);
        TokenizeRoutes tokenize = new TokenizeRoutes(engine, api);
        BatchRoutes batches = null;
        if (options.dataDir() != null) {
            try {
                FileStore files = new FileStore(options.dataDir());
                Batches running = new Batches(options.dataDir(), files, api::runLine, clock);
                opened.accept(running);
                batches = new BatchRoutes(files, running, api::authenticate, clock, options.maxFileBytes());
            } catch (IllegalStateException | java.io.UncheckedIOException e) {
                log.warn("Serving without the Files and Batch API: {}", e.getMessage());
            }
        }
        BatchRoutes batchRoutes = batches;
        return Javalin.create(config -> {
            config.jetty.host = host;
            config.jetty.port = port;
            if (tls != null) config.jetty.addConnector((server, http) -> tls.connector(server, http, host, port));
            config.concurrency.useVirtualThreads = true;
            config.http.maxRequestSize = MAX_BODY_BYTES;
            // An upload's parts are read by the multipart parser, not as a body: limited here, before any is stored.
            config.jetty.multipartConfig.maxFileSize(options.maxFileBytes(), SizeUnit.BYTES);
            config.jetty.multipartConfig.maxTotalRequestSize(
                    Math.max(options.maxFileBytes(), options.maxFileBytes() + (1 << 20)), SizeUnit.BYTES);
            config.startup.showJavalinBanner = false;
            config.appData(BackgroundResponses.KEY, api.background);
            operations.install(config);
            config.routes.post("/v1/chat/completions", api::chat);
            config.routes.post("/v1/completions", api::complete);
            config.routes.post("/v1/embeddings", api::embeddings);
            config.routes.post("/v1/responses", api::responses);
            config.routes.post("/v1/responses/input_tokens", api::responseInputTokens);
            get(config, "/v1/responses/{id}", stored::retrieve);
            get(config, "/v1/responses/{id}/input_items", stored::inputItems);
            config.routes.delete("/v1/responses/{id}", stored::delete);
            config.routes.post("/v1/responses/{id}/cancel", stored::cancel);
            config.routes.post("/v1/conversations", conversationRoutes::create);
            get(config, "/v1/conversations/{id}", conversationRoutes::retrieve);
            config.routes.post("/v1/conversations/{id}", conversationRoutes::update);
            config.routes.delete("/v1/conversations/{id}", conversationRoutes::delete);
            get(config, "/v1/conversations/{id}/items", conversationRoutes::listItems);
            config.routes.post("/v1/conversations/{id}/items", conversationRoutes::addItems);
            get(config, "/v1/conversations/{id}/items/{item_id}", conversationRoutes::item);
            config.routes.delete("/v1/conversations/{id}/items/{item_id}", conversationRoutes::deleteItem);
            get(config, "/v1/models", api::models);
            for (String prefix : List.of("", "/v1")) {
                config.routes.post(prefix + "/tokenize", tokenize::tokenize);
                config.routes.post(prefix + "/detokenize", tokenize::detokenize);
            }
            get(config, "/v1/models/{id}", api::model);
            get(config, "/v1/organization/usage/completions", usage::completions);
            if (!options.prices().isEmpty()) get(config, "/v1/organization/costs", usage::costs);
            if (batchRoutes != null) {
                config.routes.post("/v1/files", batchRoutes::upload);
                get(config, "/v1/files", batchRoutes::listFiles);
                get(config, "/v1/files/{id}", batchRoutes::file);
                get(config, "/v1/files/{id}/content", batchRoutes::fileContent);
                config.routes.delete("/v1/files/{id}", batchRoutes::deleteFile);
                config.routes.post("/v1/batches", batchRoutes::createBatch);
                get(config, "/v1/batches", batchRoutes::listBatches);
                get(config, "/v1/batches/{id}", batchRoutes::batch);
                config.routes.post("/v1/batches/{id}/cancel", batchRoutes::cancelBatch);
            }
            config.routes.exception(ApiException.class, (e, ctx) -> {
                Exchange.of(ctx).error = e.error();
                e.headers().forEach((name, values) -> ctx.header(name, values.getFirst()));
                api.rateLimitHeaders(ctx);
                api.reply(ctx, e.status(), e.error().body());
            });
            // No route for the method and path: OpenAI's words, not the router's ("Endpoint GET /x not found").
            config.routes.exception(EndpointNotFound.class, (e, ctx) -> api.unknownRoute(ctx));
            config.routes.exception(
                    HttpResponseException.class,
                    (e, ctx) -> api.reply(
                            ctx,
                            e.getStatus(),
                            new ApiError(e.getMessage(), ApiError.INVALID_REQUEST, null, null).body()));
            config.routes.exception(Exception.class, (e, ctx) -> {
                log.error("Unexpected failure answering {} {}", ctx.method(), ctx.path(), e);
                api.reply(
                        ctx,
                        500,
                        new ApiError(
                                        "The server had an error while processing your request.",
                                        ApiError.SERVER_ERROR,
                                        null,
                                        null)
                                .body());
            });
            config.routes.error(404, ctx -> api.unknownRoute(ctx));
            config.routes.error(405, ctx -> api.unknownRoute(ctx));
        });
    }

    private void chat(Context ctx) throws InterruptedException {
        Tenant tenant = authenticate(ctx); // 401
        byte[] body = body(ctx);
        ChatCompletionRequest request = RequestReader.chat(body); // 400
        requireAccess(tenant, request.model()); // 404
        Prepared prepared = engine.chat(request, tree(body)); // 404, 400 context_length_exceeded, n
        Admitted admitted = admit(ctx, tenant, request.model(), prepared); // 429
        generate(
                ctx,
                prepared,
                admitted,
                request.streaming(),
                generation -> { // 503 when the engine is full
                    if (request.streaming()) chat.stream(ctx, request, generation);
                    else chat.json(ctx, request, generation);
                });
    }

    private void complete(Context ctx) throws InterruptedException {
        Tenant tenant = authenticate(ctx);
        byte[] body = body(ctx);
        CompletionRequest request = RequestReader.completion(body);
        requireAccess(tenant, request.model());
        Prepared prepared = engine.complete(request, tree(body));
        Admitted admitted = admit(ctx, tenant, request.model(), prepared);
        generate(ctx, prepared, admitted, request.streaming(), generation -> {
            if (request.streaming()) completion.stream(ctx, request, generation);
            else completion.json(ctx, request, generation);
        });
    }

    /**
     * {@code /v1/responses}: relayed as {@link #relayed} relays, to a model served by another server; for a model of
     * Parley's own, read as the chat it amounts to ({@link ResponsesRequest}: after the conversation it continues,
     * when it names one), run as a chat is, and answered in the Responses API's shapes ({@link ResponsesReply}), kept
     * when asked.
     */
    private void responses(Context ctx) throws InterruptedException {
        Tenant tenant = authenticate(ctx);
        ObjectNode body = RequestReader.read(body(ctx), ObjectNode.class);
        String model = modelOf(body);
        requireAccess(tenant, model);
        if (engine.relays(model)) {
            relayed(ctx, tenant, Engine.RESPONSES, model, body);
            return;
        }
        ResponsesRequest request = ResponsesRequest.read(body, kept, conversations, tenant.name());
        Prepared prepared = request.prepare(engine::chat);
        Admitted admitted = admit(ctx, tenant, model, prepared);
        if (request.background()) {
            background.start(ctx, request, prepared, tenant.name(), generation -> {
                long used = 0;
                if (generation != null) {
                    used = (long) generation.promptTokens() + generation.completionTokens();
                    ledger.record(
                            tenant.name(), admitted.model(), generation.promptTokens(), generation.completionTokens());
                }
                admitted.reservation().settle(used);
            });
            return;
        }
        generate(ctx, prepared, admitted, request.streaming(), generation -> {
            if (request.streaming()) responses.stream(ctx, request, generation, tenant.name());
            else responses.json(ctx, request, generation, tenant.name());
        });
    }

    /**
     * {@code POST /v1/responses/input_tokens}: the input tokens a Responses API request would read (its {@code
     * usage.input_tokens}), the conversation it continues included; no answer is generated, so none of the key's
     * budgets is spent. A model of another server is asked by that server, as any request for it.
     */
    private void responseInputTokens(Context ctx) throws InterruptedException {
        Tenant tenant = authenticate(ctx);
        ObjectNode body = RequestReader.read(body(ctx), ObjectNode.class);
        String model = modelOf(body);
        requireAccess(tenant, model);
        body.remove("stream"); // a count is one JSON object, never a stream
        if (engine.relays(model)) {
            relayed(ctx, tenant, Engine.RESPONSE_INPUT_TOKENS, model, body);
            return;
        }
        body.put("store", false); // counting keeps nothing
        ResponsesRequest request = ResponsesRequest.read(body, kept, conversations, tenant.name());
        // Prepared as the response would be (never started, it holds nothing): the same room left for the output
        // decides what truncation drops, and the same 400 when nothing fits.
        Prepared prepared = request.prepare(engine::chat);
        rateLimitHeaders(ctx);
        reply(
                ctx,
                200,
                Json.object().put("object", "response.input_tokens").put("input_tokens", prepared.promptTokens()));
    }

    /**
     * A request for a model another server serves, passed to it ({@code /v1/responses}), its body checked as far as
     * Parley relies on it (a JSON object naming its model): admitted against the key's budgets like any request, and
     * answered with the other server's own answer.
     */
    private void relayed(Context ctx, Tenant tenant, String endpoint, String model, ObjectNode body)
            throws InterruptedException {
        boolean responses = endpoint.equals(Engine.RESPONSES);
        Prepared prepared =
                engine.relay(endpoint, model, relayedBody(tenant, body), responses ? continued(tenant, body) : null);
        Admitted admitted = admit(ctx, tenant, model, prepared);
        boolean streaming = body.path("stream").asBoolean(false);
        generate(ctx, prepared, admitted, streaming, generation -> {
            relay(ctx, (Relayed) generation, streaming);
            if (responses) keepRelayed(tenant, body, (Relayed) generation);
        });
    }

    /**
     * Where the response a relayed Responses API request continues was made, when this server keeps it for the
     * caller's key (so that any replica of this server sends it there); null when it keeps none by that id.
     *
     * @throws InvalidRequestException 400 {@code previous_response_not_found} when it keeps it for another key
     */
    private String continued(Tenant tenant, ObjectNode body) {
        JsonNode previous = body.get("previous_response_id");
        if (previous == null || !previous.isTextual()) return null;
        return kept.continuable(tenant.name(), previous.asText())
                .map(StoredResponse::upstream)
                .orElse(null);
    }

    /**
     * Keeps a relayed response as the other server finished it, with the input it answered and where it was made,
     * for the caller's key to fetch, list and delete here, and to continue through any replica of this server; adds
     * both to the conversation the request names, as a response of this server's own would.
     */
    private void keepRelayed(Tenant tenant, ObjectNode body, Relayed relayed) {
        ObjectNode finished = relayed.finished();
        if (finished == null || !finished.path("id").isTextual()) return;
        ArrayNode input = ResponsesRequest.items(body.get("input"));
        String conversation = ResponsesRequest.conversationId(body);
        if (conversation != null
                && ResponsesReply.ADDED.contains(finished.path("status").asText()))
            ResponsesReply.addToConversation(conversations, tenant.name(), conversation, input, finished);
        if (!kept.keeps() || !body.path("store").asBoolean(true)) return;
        JsonNode previous = body.get("previous_response_id");
        kept.keep(new StoredResponse(
                finished.path("id").asText(),
                tenant.name(),
                finished.path("created_at").asLong(clock.instant().getEpochSecond()),
                previous != null && previous.isTextual() ? previous.asText() : null,
                input,
                finished,
                relayed.origin()));
    }

    /**
     * A Responses API request's body as another server is sent it: a conversation is Parley's own, so the request
     * goes with that conversation's items before its input instead of its id (each item as an answer's output is
     * passed back: a message of the caller's without the id Parley gave it). Any other body goes as it came.
     */
    private ObjectNode relayedBody(Tenant tenant, ObjectNode body) {
        String id = ResponsesRequest.conversationId(body);
        if (id == null) return body;
        Conversation conversation = ResponsesRequest.conversation(conversations, tenant.name(), id);
        ArrayNode input = Json.mapper().createArrayNode();
        for (ObjectNode item : conversation.items()) {
            ObjectNode sent = item.deepCopy();
            if ("message".equals(sent.path("type").asText())
                    && !"assistant".equals(sent.path("role").asText())) sent.remove("id");
            input.add(sent);
        }
        JsonNode given = body.get("input");
        if (given != null && given.isTextual())
            input.addObject().put("role", "user").put("content", given.asText());
        else if (given != null && given.isArray()) input.addAll((ArrayNode) given);
        ObjectNode sent = body.deepCopy();
        sent.remove("conversation");
        sent.set("input", input);
        return sent;
    }

    /**
     * {@code /v1/embeddings}: relayed as {@link #relayed} relays, unless the engine computes the vectors itself;
     * then the engine checks the body, and the key is charged the real count of input tokens.
     */
    private void embeddings(Context ctx) throws InterruptedException {
        Tenant tenant = authenticate(ctx);
        ObjectNode body = RequestReader.read(body(ctx), ObjectNode.class);
        String model = modelOf(body);
        requireAccess(tenant, model);
        Prepared prepared = engine.embed(model, body); // 400 when the model has no embeddings
        Admitted admitted = admit(ctx, tenant, model, prepared);
        boolean streaming = body.path("stream").asBoolean(false); // only a relay may stream
        generate(ctx, prepared, admitted, streaming, generation -> {
            switch (generation) {
                case Embeddings embeddings -> reply(ctx, 200, embeddings.result());
                case Relayed relayed -> relay(ctx, relayed, streaming);
                default -> throw new IllegalStateException("an embeddings request answered " + generation);
            }
        });
    }

    private void relay(Context ctx, Relayed relayed, boolean streaming) throws InterruptedException {
        if (streaming) EventStream.relay(ctx, keepAlive, relayed);
        else ctx.status(200).contentType("application/json").result(relayed.body());
    }

    /** The {@code model} a relayed body names: the one field Parley relies on before passing it on. */
    private static String modelOf(ObjectNode body) {
        JsonNode model = body.get("model");
        if (model == null || model.isNull()) {
            throw InvalidRequestException.of(
                    "model", "missing_required_parameter", "Missing required parameter: 'model'.");
        }
        if (!model.isTextual() || model.asText().isBlank()) {
            throw InvalidRequestException.of(
                    "model", "invalid_type", "Invalid type for 'model': expected a non-empty string.");
        }
        return model.asText();
    }

    /**
     * The whole request body. One that ends before it is complete (the client closed its upload mid-body,
     * or sent fewer bytes than its {@code Content-Length}) is a 400: the request is the client's to fix,
     * and nothing on the server failed.
     */
    static byte[] body(Context ctx) {
        try {
            return ctx.bodyAsBytes();
        } catch (Exception e) { // Jetty's EofException is checked, yet thrown through Javalin undeclared
            if (!readFailure(e)) throw e;
            throw InvalidRequestException.of(
                    null, null, "We could not read the body of your request: it ended before it was complete.");
        }
    }

    /** A body that {@link RequestReader} accepted, as the JSON object the caller sent, read when asked for. */
    private static Supplier<ObjectNode> tree(byte[] body) {
        return () -> RequestReader.read(body, ObjectNode.class);
    }

    /** Whether reading failed on the wire (an I/O error, or a malformed chunk), not in our code. */
    private static boolean readFailure(Throwable e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof IOException || cause instanceof BadMessageException) return true;
        }
        return false;
    }

    private void models(Context ctx) {
        Tenant tenant = authenticate(ctx);
        rateLimitHeaders(ctx);
        reply(
                ctx,
                200,
                ModelList.of(engine.models().stream()
                        .filter(m -> mayUse(tenant, m.id()))
                        .map(ModelCard::toModel)
                        .toList()));
    }

    private void model(Context ctx) {
        Tenant tenant = authenticate(ctx);
        String id = ctx.pathParam("id");
        requireAccess(tenant, id);
        ModelCard card = engine.models().stream()
                .filter(m -> m.id().equals(id))
                .findFirst()
                .orElseThrow(() -> modelNotFound(id));
        rateLimitHeaders(ctx);
        reply(ctx, 200, card.toModel());
    }

    /** The key's tenant, remembered on the request so every later reply can carry its budgets. */
    Tenant authenticate(Context ctx) {
        Tenant tenant = keys.authenticate(ctx.header("Authorization"));
        ctx.attribute(TENANT, tenant);
        Exchange.of(ctx).key = tenant.name();
        return tenant;
    }

    /** A model the key may not use does not exist for it, as at OpenAI. */
    private void requireAccess(Tenant tenant, String model) {
        if (!mayUse(tenant, model)) throw modelNotFound(model);
    }

    /** Whether the key may use a model by this name: the name itself, or the model it is an alias of. */
    boolean mayUse(Tenant tenant, String model) {
        return tenant.mayUse(model) || tenant.mayUse(engine.canonical(model));
    }

    /** A request let through to the engine: whose, for which model, and what it holds of the key's budgets. */
    private record Admitted(Tenant tenant, String model, Reservation reservation) {}

    /**
     * Checks the key's monthly budget, then reserves the prompt plus the most the answer may take; the budgets'
     * headers go on the reply.
     */
    private Admitted admit(Context ctx, Tenant tenant, String model, Prepared prepared) {
        Exchange.of(ctx).model = engine.canonical(model);
        Admitted admitted = admit(tenant, model, prepared);
        admitted.reservation().snapshot().toHeaders().forEach(ctx::header);
        return admitted;
    }

    /** As {@link #admit(Context, Tenant, String, Prepared)}, for a request with no reply of its own (a batch line). */
    private Admitted admit(Tenant tenant, String model, Prepared prepared) {
        String counted = engine.canonical(model); // an alias is counted (metrics, ledger, prices) as its model
        requireQuota(tenant); // 429 insufficient_quota
        long estimate = (long) prepared.promptTokens() + prepared.completionCap();
        Reservation reservation = limits.admit(tenant.name(), tenant.limits(), model, estimate); // 429
        return new Admitted(tenant, counted, reservation);
    }

    /**
     * Refuses every request of a key whose spend this calendar month (UTC) has reached its monthly budget, as
     * OpenAI refuses an account out of credit: 429 {@code insufficient_quota}, without {@code retry-after}, since
     * waiting minutes does not help.
     */
    private void requireQuota(Tenant tenant) {
        Double budget = tenant.monthlyBudget();
        if (budget == null || ledger.spent(tenant.name(), prices) < budget) return;
        throw new QuotaExceededException(new ApiError(
                "You exceeded your current quota, please check your plan and billing details. For more information on"
                        + " this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                QuotaExceededException.CODE,
                null,
                QuotaExceededException.CODE));
    }

    private interface Reply {
        void send(Generation generation) throws InterruptedException;
    }

    /**
     * Runs a prepared request and replies; then settles the reservation against the tokens really used,
     * whether the reply completed, failed or was cut off, so what was reserved but not used comes back, and
     * records them in the usage ledger.
     * While a non-streaming answer is generated, its connection is watched: a client that goes cancels it
     * (a stream notices by itself, when a write fails).
     */
    private void generate(Context ctx, Prepared prepared, Admitted admitted, boolean streaming, Reply reply)
            throws InterruptedException {
        long used = 0;
        Exchange exchange = Exchange.of(ctx);
        Generation started;
        try {
            started = prepared.start(); // 503 when the engine is full, 502 when its upstream is unreachable
        } catch (RuntimeException e) {
            admitted.reservation().settle(0); // nothing ran: the reserved tokens go back to the key
            throw e;
        }
        try (Generation generation = switch (started) {
            case Relayed relayed -> new TimedRelay(relayed, exchange);
            case Embeddings embeddings -> new TimedEmbeddings(embeddings, exchange);
            default -> new TimedGeneration(started, exchange);
        }) {
            ctx.attribute(REPLIED, true);
            Thread replying = Thread.currentThread();
            ClientWatch watch = streaming
                    ? ClientWatch.none()
                    : ClientWatch.start(ctx, () -> {
                        generation.close();
                        replying.interrupt(); // stops waiting for events that will never come
                    });
            try {
                reply.send(generation);
            } catch (InterruptedException | RuntimeException e) {
                if (!watch.stop()) throw e;
                log.debug("The client of {} {} has gone; its generation is cancelled", ctx.method(), ctx.path());
            } finally {
                if (watch.stop()) Thread.interrupted(); // the watch's own interrupt, not the server's
                if (watch.consumedInput()) ctx.header("Connection", "close");
                used = (long) generation.promptTokens() + generation.completionTokens();
                exchange.promptTokens = generation.promptTokens();
                exchange.completionTokens = generation.completionTokens();
                ledger.record(
                        admitted.tenant().name(),
                        admitted.model(),
                        generation.promptTokens(),
                        generation.completionTokens());
            }
        } finally {
            admitted.reservation().settle(used);
        }
    }

    /**
     * Ends the background responses {@code app} (made by {@link #create}) is making, each kept as it ended: for a
     * server that is closing, after it has stopped taking requests and before the stores close.
     */
    public static void stopBackgroundResponses(Javalin app) {
        app.unsafe.appDataManager.get(BackgroundResponses.KEY).close();
    }

    /** Puts the key's budgets on a reply that has none yet (an error before admission, the model routes). */
    void rateLimitHeaders(Context ctx) {
        Tenant tenant = ctx.attribute(TENANT);
        if (tenant == null || tenant.limits() == null || ctx.res().getHeader(RateLimitSnapshot.LIMIT_REQUESTS) != null)
            return;
        limits.peek(tenant.name(), tenant.limits()).toHeaders().forEach(ctx::header);
    }

    /** 404 {@code model_not_found}, in OpenAI's words. */
    public static NotFoundException modelNotFound(String id) {
        return new NotFoundException(new ApiError(
                "The model `%s` does not exist or you do not have access to it.".formatted(id),
                ApiError.INVALID_REQUEST,
                null,
                "model_not_found"));
    }

    private void unknownRoute(Context ctx) {
        if (ctx.attribute(REPLIED) != null) return;
        reply(
                ctx,
                404,
                new ApiError(
                                "Invalid URL (%s %s)".formatted(ctx.method(), ctx.path()),
                                ApiError.INVALID_REQUEST,
                                null,
                                null)
                        .body());
    }

    /**
     * A GET route that HEAD asks too, with the same handler (Jetty sends no body for HEAD). Left to the router, a
     * HEAD of any GET route is answered 200 without running it, so {@code HEAD /health} said 200 on a server whose
     * {@code GET /health} said 503, and {@code HEAD /v1/models/nope} 200 for a 404.
     */
    static void get(JavalinConfig config, String path, Handler handler) {
        config.routes.get(path, handler);
        config.routes.head(path, handler);
    }

    void reply(Context ctx, int status, Object body) {
        ctx.attribute(REPLIED, true);
        ctx.status(status).contentType("application/json").result(Json.write(body));
    }
}
