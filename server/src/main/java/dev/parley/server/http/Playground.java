package dev.parley.server.http;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The web playground: {@code GET /} serves a page that chats with the server's models, streaming, and shows how
 * a model tokenizes a text, all through the server's own API. Its three files are read from the jar once, at
 * start, and served as they are: no build step, nothing fetched from elsewhere (a content security policy
 * allows this origin only). The page keeps an API key in the browser's storage and sends it to this server only.
 *
 * <p>Thread-safe: immutable once built.
 */
final class Playground {
    private static final String FOLDER = "playground/";
    private static final String POLICY =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
                    + " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private record Asset(byte[] bytes, String type) {}

    private final Asset page;
    private final Map<String, Asset> assets;

    Playground() {
        this.page = read("index.html", "text/html; charset=utf-8");
        this.assets = Map.of(
                "playground.css", read("playground.css", "text/css; charset=utf-8"),
                "playground.js", read("playground.js", "text/javascript; charset=utf-8"));
    }

    void install(JavalinConfig config) {
        HttpApi.get(config, "/", ctx -> send(ctx, page));
        HttpApi.get(config, "/playground/{file}", ctx -> {
            Asset asset = assets.get(ctx.pathParam("file"));
            if (asset == null) {
                ctx.status(404); // answered by the unknown-route handler, in OpenAI's shape
                return;
            }
            send(ctx, asset);
        });
    }

    private static void send(Context ctx, Asset asset) {
        ctx.header("Content-Security-Policy", POLICY);
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "no-referrer");
        ctx.header("Cache-Control", "no-cache"); // revalidated, so a new server version is picked up at once
        ctx.contentType(asset.type()).result(asset.bytes());
    }

    private static Asset read(String name, String type) {
        try (InputStream in = Playground.class.getResourceAsStream(FOLDER + name)) {
            if (in == null) throw new IllegalStateException("the playground's " + name + " is missing from the jar");
            return new Asset(in.readAllBytes(), type);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
