package dev.parley.server.http;

import dev.parley.server.ServerOptions;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.util.regex.Pattern;

/**
 * What a server does around its API routes: request ids, CORS, and Jetty's own errors in OpenAI's shape.
 * Installed once into the Javalin configuration, before the routes.
 */
final class Operations {
    /** An incoming {@code x-request-id} is kept when it is short and plain; otherwise a new one is made. */
    private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    private final Cors cors;

    Operations(ServerOptions options) {
        this.cors = new Cors(options.corsOrigins());
    }

    void install(JavalinConfig config) {
        config.jetty.modifyServer(server -> server.setErrorHandler(new JettyErrors()));
        config.jetty.modifyServletContextHandler(context -> context.setErrorHandler(new JettyErrors()));
        config.routes.before(ctx -> {
            ctx.header("x-request-id", requestId(ctx));
            cors.headers(ctx);
        });
        config.routes.options("/*", cors::preflight);
    }

    static String requestId(Context ctx) {
        String given = ctx.header("x-request-id");
        return given != null && REQUEST_ID.matcher(given).matches() ? given : Ids.request();
    }
}
