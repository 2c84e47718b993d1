package dev.parley.server.http;

import dev.parley.api.ApiError;
import io.javalin.http.Context;

/**
 * What one request was, for its access-log line and the metrics: filled in as the request goes (the key
 * once authenticated, the model once admitted, the tokens once generated, the first token's time) and
 * read once its reply is done. Each request has its own, written by the thread serving it.
 */
final class Exchange {
    private static final String ATTRIBUTE = "parley.exchange";

    final String requestId;
    final long startNanos;
    /** The server's drain; null for a request that never passed the before-handlers. */
    final Drain drain;

    volatile String key;
    volatile String model;
    volatile int promptTokens = -1;
    volatile int completionTokens = -1;
    volatile long firstTokenNanos;
    volatile ApiError error;

    private Exchange(String requestId, long startNanos, Drain drain) {
        this.requestId = requestId;
        this.startNanos = startNanos;
        this.drain = drain;
    }

    static Exchange begin(Context ctx, String requestId, Drain drain) {
        Exchange exchange = new Exchange(requestId, System.nanoTime(), drain);
        ctx.attribute(ATTRIBUTE, exchange);
        return exchange;
    }

    /** This request's exchange; a detached one when the request never passed the before-handlers. */
    static Exchange of(Context ctx) {
        Exchange exchange = ctx.attribute(ATTRIBUTE);
        return exchange != null ? exchange : begin(ctx, Operations.requestId(ctx), null);
    }

    void firstToken() {
        if (firstTokenNanos == 0) firstTokenNanos = System.nanoTime();
    }

    /** Milliseconds from the request's arrival to its first generated token, or -1 when none came. */
    double timeToFirstTokenMillis() {
        return firstTokenNanos == 0 ? -1 : (firstTokenNanos - startNanos) / 1e6;
    }
}
