package dev.parley.server.http;

import io.javalin.http.Context;
import java.util.List;
import java.util.Set;

/**
 * Cross-origin access for browsers. A request whose {@code Origin} is allowed gets
 * {@code Access-Control-Allow-Origin} (the origin itself, or {@code *} when every origin is allowed) and
 * may read Parley's own headers (request id, rate limits, retry-after). A preflight ({@code OPTIONS}) is
 * answered 204 on every path; it grants the methods and headers asked for only to an allowed origin. No
 * origin is allowed unless configured: a browser page elsewhere then cannot read the replies.
 */
final class Cors {
    private static final String EXPOSED = String.join(
            ", ",
            "x-request-id",
            "x-ratelimit-limit-requests",
            "x-ratelimit-limit-tokens",
            "x-ratelimit-remaining-requests",
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-requests",
            "x-ratelimit-reset-tokens",
            "retry-after",
            "retry-after-ms");
    private static final String METHODS = "GET, POST, OPTIONS";
    private static final String MAX_AGE = "600";

    private final boolean any;
    private final Set<String> origins;

    /** {@code origins}: exact origins such as {@code https://app.example.com}, or {@code *} for all. */
    Cors(List<String> origins) {
        this.any = origins.contains("*");
        this.origins = Set.copyOf(origins);
    }

    /** Before every route: the allow headers, when the request comes from an allowed origin. */
    void headers(Context ctx) {
        String origin = allowed(ctx);
        if (origin == null) return;
        ctx.header("Access-Control-Allow-Origin", origin);
        if (!any) ctx.header("Vary", "Origin");
        ctx.header("Access-Control-Expose-Headers", EXPOSED);
    }

    /** {@code OPTIONS} on any path: 204, with what a preflight from an allowed origin may do. */
    void preflight(Context ctx) {
        ctx.header("Allow", METHODS);
        if (allowed(ctx) != null && ctx.header("Access-Control-Request-Method") != null) {
            ctx.header("Access-Control-Allow-Methods", METHODS);
            String asked = ctx.header("Access-Control-Request-Headers");
            ctx.header(
                    "Access-Control-Allow-Headers",
                    asked == null || asked.isBlank() ? "authorization, content-type" : asked);
            ctx.header("Access-Control-Max-Age", MAX_AGE);
        }
        ctx.status(204);
    }

    /** The value of {@code Access-Control-Allow-Origin} for this request, or null when it gets none. */
    private String allowed(Context ctx) {
        String origin = ctx.header("Origin");
        if (origin == null) return null;
        if (any) return "*";
        return origins.contains(origin) ? origin : null;
    }
}
