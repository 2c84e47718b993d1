package dev.parley.server.http;

import dev.parley.server.ServerOptions;
import dev.parley.server.engine.Engine;
import dev.parley.server.limits.RateLimits;
import dev.parley.server.usage.UsageLedger;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * What a server does around its API routes: request ids, CORS, Jetty's own errors in OpenAI's shape, an
 * access-log line and metrics per request, {@code GET /metrics}, {@code /health} and {@code /slots}, the web
 * {@link Playground} at {@code GET /}, the {@link Drain} of a graceful stop, and, once the first request is
 * answered, the {@link WireExamples} prepared in the background. Installed once into the Javalin configuration,
 * before the routes.
 */
final class Operations {
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    /** An incoming {@code x-request-id} is kept when it is short and plain; otherwise a new one is made. */
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    private final Cors cors;
    private final Metrics metrics;
    private final Drain drain = new Drain();
    private final HealthRoutes health;
    private final Playground playground = new Playground();
    private final AtomicBoolean answered = new AtomicBoolean(); // the server has finished a request

    Operations(ServerOptions options, Engine engine, RateLimits limits, UsageLedger ledger) {
        this.cors = new Cors(options.corsOrigins());
        this.metrics = new Metrics(engine, limits, ledger);
        this.health = new HealthRoutes(engine, limits, drain);
    }

    void install(JavalinConfig config) {
        config.jetty.modifyServer(server -> server.setErrorHandler(new JettyErrors()));
        config.jetty.modifyServletContextHandler(context -> context.setErrorHandler(new JettyErrors()));
        config.appData(Drain.KEY, drain);
        config.routes.before(ctx -> {
            String id = requestId(ctx);
            Exchange.begin(ctx, id, drain);
            ctx.header("x-request-id", id);
            cors.headers(ctx);
            drain.enter(ctx);
        });
        config.routes.options("/*", cors::preflight);
        HttpApi.get(config, "/metrics", ctx -> ctx.contentType(PROMETHEUS_TEXT).result(metrics.scrape()));
        HttpApi.get(config, "/health", health::health);
        HttpApi.get(config, "/slots", health::slots);
        playground.install(config);
        config.requestLogger.http((ctx, ignored) -> finished(ctx));
    }

    /**
     * After a reply is complete (a stream included): its metrics and its access-log line; after the first, the wire
     * types' preparation starts.
     */
    private void finished(Context ctx) {
        Exchange exchange = Exchange.of(ctx);
        if (exchange.drain != null) exchange.drain.leave();
        long nanos = System.nanoTime() - exchange.startNanos;
        int status = ctx.statusCode();
        String method = ctx.method().name();
        metrics.record(exchange, route(ctx), method, status, nanos);
        AccessLog.write(exchange, method, ctx.path(), status, nanos);
        if (!answered.get() && answered.compareAndSet(false, true))
            Thread.ofVirtual().name("parley-prepare").start(WireExamples::prepare);
    }

    /** The route's pattern ({@code /v1/models/{id}}), so that paths never multiply the metrics' series. */
    private static String route(Context ctx) {
        try {
            Endpoint endpoint = ctx.endpoints().matchedHttpEndpoint();
            if (endpoint != null) return endpoint.path;
        } catch (RuntimeException e) {
            // no route matched
        }
        return "unmatched";
    }

    static String requestId(Context ctx) {
        String given = ctx.header("x-request-id");
        return given != null && REQUEST_ID.matcher(given).matches() ? given : Ids.request();
    }
}
