package dev.parley.server;

import dev.parley.server.engine.Engine;
import dev.parley.server.http.HttpApi;
import io.javalin.Javalin;
import java.time.Clock;

/**
 * A running Parley server: the HTTP surface over one engine. Closing it stops the HTTP server first,
 * then the engine.
 *
 * <p>Thread-safe; {@link #close} is idempotent.
 */
public final class ParleyServer implements AutoCloseable {
    private final Javalin http;
    private final Engine engine;
    private boolean closed;

    private ParleyServer(Javalin http, Engine engine) {
        this.http = http;
        this.engine = engine;
    }

    /** Starts serving {@code engine} on {@code host}:{@code port} (0 picks a free port). Takes ownership of the engine. */
    public static ParleyServer start(Engine engine, String host, int port) {
        try {
            Javalin http = HttpApi.create(engine, host, port, Clock.systemUTC()).start();
            return new ParleyServer(http, engine);
        } catch (RuntimeException e) {
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
        http.stop();
        engine.close();
    }
}
