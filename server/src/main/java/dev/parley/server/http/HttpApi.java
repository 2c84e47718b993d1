package dev.parley.server.http;

import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Json;
import dev.parley.api.ModelList;
import dev.parley.api.NotFoundException;
import dev.parley.api.check.RequestReader;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.ModelCard;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.time.Clock;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible routes over one {@link Engine}, assembled once; each route reads and checks its
 * body, asks the engine, and replies. Every response carries {@code x-request-id}; every error, including
 * unknown routes and oversized bodies, is an OpenAI error body.
 */
public final class HttpApi {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    private static final String REPLIED = "parley.replied";

    /** The largest request body accepted; larger ones get 413 before they are read. */
    public static final long MAX_BODY_BYTES = 32L << 20;

    private final Engine engine;
    private final ChatReply chat;
    private final CompletionReply completion;

    private HttpApi(Engine engine, Clock clock) {
        this.engine = engine;
        this.chat = new ChatReply(clock);
        this.completion = new CompletionReply(clock);
    }

    /** A Javalin server serving {@code engine} on {@code host}:{@code port}, not yet started. */
    public static Javalin create(Engine engine, String host, int port, Clock clock) {
        HttpApi api = new HttpApi(engine, clock);
        return Javalin.create(config -> {
            config.jetty.host = host;
            config.jetty.port = port;
            config.concurrency.useVirtualThreads = true;
            config.http.maxRequestSize = MAX_BODY_BYTES;
            config.startup.showJavalinBanner = false;
            config.routes.before(ctx -> ctx.header("x-request-id", Ids.request()));
            config.routes.post("/v1/chat/completions", api::chat);
            config.routes.post("/v1/completions", api::complete);
            config.routes.get("/v1/models", api::models);
            config.routes.get("/v1/models/{id}", api::model);
            config.routes.get("/health", ctx -> api.reply(ctx, 200, Map.of("status", "ok")));
            config.routes.exception(ApiException.class, (e, ctx) -> api.reply(ctx, e.status(), e.error().body()));
            config.routes.exception(HttpResponseException.class, (e, ctx) -> api.reply(ctx, e.getStatus(),
                    new ApiError(e.getMessage(), ApiError.INVALID_REQUEST, null, null).body()));
            config.routes.exception(Exception.class, (e, ctx) -> {
                log.error("Unexpected failure answering {} {}", ctx.method(), ctx.path(), e);
                api.reply(ctx, 500, new ApiError("The server had an error while processing your request.",
                        ApiError.SERVER_ERROR, null, null).body());
            });
            config.routes.error(404, ctx -> api.unknownRoute(ctx));
            config.routes.error(405, ctx -> api.unknownRoute(ctx));
        });
    }

    private void chat(Context ctx) throws InterruptedException {
        ChatCompletionRequest request = RequestReader.chat(ctx.bodyAsBytes());
        try (Generation generation = engine.chat(request)) {
            ctx.attribute(REPLIED, true);
            if (request.streaming()) chat.stream(ctx, request, generation);
            else chat.json(ctx, request, generation);
        }
    }

    private void complete(Context ctx) throws InterruptedException {
        CompletionRequest request = RequestReader.completion(ctx.bodyAsBytes());
        try (Generation generation = engine.complete(request)) {
            ctx.attribute(REPLIED, true);
            if (request.streaming()) completion.stream(ctx, request, generation);
            else completion.json(ctx, request, generation);
        }
    }

    private void models(Context ctx) {
        reply(ctx, 200, ModelList.of(engine.models().stream().map(ModelCard::toModel).toList()));
    }

    private void model(Context ctx) {
        String id = ctx.pathParam("id");
        ModelCard card = engine.models().stream()
                .filter(m -> m.id().equals(id))
                .findFirst()
                .orElseThrow(() -> modelNotFound(id));
        reply(ctx, 200, card.toModel());
    }

    /** 404 {@code model_not_found}, in OpenAI's words. */
    public static NotFoundException modelNotFound(String id) {
        return new NotFoundException(new ApiError(
                "The model `%s` does not exist or you do not have access to it.".formatted(id),
                ApiError.INVALID_REQUEST, null, "model_not_found"));
    }

    private void unknownRoute(Context ctx) {
        if (ctx.attribute(REPLIED) != null) return;
        reply(ctx, 404, new ApiError("Invalid URL (%s %s)".formatted(ctx.method(), ctx.path()),
                ApiError.INVALID_REQUEST, null, null).body());
    }

    private void reply(Context ctx, int status, Object body) {
        ctx.attribute(REPLIED, true);
        ctx.status(status).contentType("application/json").result(Json.write(body));
    }
}
