package dev.parley.server.http;

import dev.parley.api.Json;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.Health;
import dev.parley.server.limits.RateLimits;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /health} and {@code GET /slots}, for load balancers and operators; neither needs a key.
 *
 * <p>{@code /health} leads with {@code status}: {@code ok}; {@code unhealthy} with 503 when the server
 * cannot answer requests (the engine has stopped or stalled, the upstream provider cannot be reached, or
 * the rate limiter is down and the server fails closed); or {@code degraded} with 200 when it answers
 * them but not as configured (the rate limiter is down and the server fails open, admitting without
 * limits). {@code degraded} then lists each problem, then come the engine's slots and queue, and whether
 * a shared limiter's Redis answers.
 *
 * <p>{@code /slots} is the engine's state alone: its slots (total, busy, idle), its wait queue, and the
 * requests the server is answering.
 */
final class HealthRoutes {
    private final Engine engine;
    private final RateLimits limits;
    private final Drain drain;

    HealthRoutes(Engine engine, RateLimits limits, Drain drain) {
        this.engine = engine;
        this.limits = limits;
        this.drain = drain;
    }

    private record Problem(String component, String message) {}

    /** The slots as {@code /health} shows them: how many, and how many are busy. */
    private record Counted(int total, int busy) {}

    void health(Context ctx) {
        Health health = engine.health();
        List<Problem> problems = new ArrayList<>();
        boolean serving = true;
        if (!health.ok()) {
            serving = false;
            problems.add(new Problem(
                    "engine",
                    health.slots() == null
                            ? "The upstream provider cannot be reached."
                            : "The engine has stopped or stalled: no request is being generated."));
        }
        if (health.ok() && !health.modelsDown().isEmpty()) {
            problems.add(new Problem(
                    "models",
                    "Not served now (their engine has stopped or their upstream cannot be reached): %s; the other models are."
                            .formatted(String.join(", ", health.modelsDown()))));
        }
        if (health.ok()
                && health.replicas() != null
                && health.replicas().healthy() < health.replicas().total()) {
            problems.add(new Problem(
                    "upstream",
                    "%d of %d upstream replicas rest after failures; requests go to the others."
                            .formatted(
                                    health.replicas().total()
                                            - health.replicas().healthy(),
                                    health.replicas().total())));
        }
        Boolean redisUp = limits.shared() ? limits.check() : null;
        if (Boolean.FALSE.equals(redisUp)) {
            serving &= limits.failsOpen();
            problems.add(new Problem(
                    "limiter",
                    limits.failsOpen()
                            ? "The rate limiter (Redis) is unavailable: requests are admitted without limits."
                            : "The rate limiter (Redis) is unavailable: requests are refused with 503."));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", problems.isEmpty() ? "ok" : serving ? "degraded" : "unhealthy");
        if (!problems.isEmpty()) body.put("degraded", problems);
        if (health.slots() != null)
            body.put("slots", new Counted(health.slots().total(), health.slots().busy()));
        if (health.queue() != null) body.put("queue", health.queue());
        if (health.replicas() != null) body.put("upstream", health.replicas());
        if (redisUp != null) body.put("limiter", Map.of("redis", redisUp ? "up" : "down"));
        reply(ctx, serving ? 200 : 503, body);
    }

    void slots(Context ctx) {
        Health health = engine.health();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("engine", health.ok() ? "ok" : "unhealthy");
        if (health.slots() != null) {
            Map<String, Object> slots = new LinkedHashMap<>();
            slots.put("total", health.slots().total());
            slots.put("busy", health.slots().busy());
            slots.put("idle", health.slots().total() - health.slots().busy());
            if (!health.slots().each().isEmpty())
                slots.put("each", health.slots().each());
            body.put("slots", slots);
        }
        if (health.queue() != null) body.put("queue", health.queue());
        body.put("requests_in_flight", Math.max(0, drain.inFlight() - 1)); // not counting this one
        reply(ctx, 200, body);
    }

    private static void reply(Context ctx, int status, Object body) {
        ctx.status(status).contentType("application/json").result(Json.write(body));
    }
}
