package dev.parley.server;

import dev.parley.server.auth.ApiKeys;
import dev.parley.server.batches.Batches;
import dev.parley.server.engine.Engine;
import dev.parley.server.http.HttpApi;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import io.javalin.Javalin;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A running Parley server: the HTTP surface over one engine, for the holders of its keys within their
 * limits. Closing it stops the HTTP server first, then the limits and the engine.
 *
 * <p>Thread-safe; {@link #close} is idempotent.
 */
public final class ParleyServer implements AutoCloseable {
    private final Javalin http;
    private final Engine engine;
    private final RateLimits limits;
    private final Batches batches; // null without a data directory
    private boolean closed;

    private ParleyServer(Javalin http, Engine engine, RateLimits limits, Batches batches) {
        this.http = http;
        this.engine = engine;
        this.limits = limits;
        this.batches = batches;
    }

    /** Starts serving {@code engine} to anyone on {@code host}:{@code port} (0 picks a free port). Takes ownership of the engine. */
    public static ParleyServer start(Engine engine, String host, int port) {
        return start(engine, ApiKeys.open(), new RateLimits(Limiter.inMemory(Clock.systemUTC()), false), host, port);
    }

    /**
     * Starts serving {@code engine} to the holders of {@code keys} within {@code limits} on
     * {@code host}:{@code port}. Takes ownership of the engine and the limits.
     */
    public static ParleyServer start(Engine engine, ApiKeys keys, RateLimits limits, String host, int port) {
        return start(engine, keys, limits, host, port, null);
    }

    /**
     * As {@link #start(Engine, ApiKeys, RateLimits, String, int)}, with OpenAI's Files and Batch API keeping its
     * files and batches under {@code dataDir} (null: no Batch API); batches that had not finished resume.
     */
    public static ParleyServer start(
            Engine engine, ApiKeys keys, RateLimits limits, String host, int port, Path dataDir) {
        var opened = new AtomicReference<Batches>();
        try {
            Javalin http = HttpApi.create(engine, keys, limits, host, port, Clock.systemUTC(), dataDir, opened::set)
                    .start();
            return new ParleyServer(http, engine, limits, opened.get());
        } catch (RuntimeException e) {
            if (opened.get() != null) opened.get().close();
            limits.close();
            engine.close();
            throw e;
        }
    }

    public int port() {
        return http.port();
    }

    /** The base URL clients use, e.g. {@code http://127.0.0.1:8080/v1}. */
    public String baseUrl(String host) {
        return "http://" + host + ":" + port() + "/v1";
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (batches != null) batches.close(); // the line running now resumes at the next start
        http.stop();
        limits.close();
        engine.close();
    }
}
