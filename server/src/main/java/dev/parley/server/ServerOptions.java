package dev.parley.server;

import java.nio.file.Path;
import java.util.List;

/**
 * How a server runs around its routes.
 *
 * @param corsOrigins origins browsers may call it from ({@code https://app.example.com}), {@code *} for any;
 *     empty (the default): none
 * @param dataDir where OpenAI's Files and Batch API keep files and batches; null (the default): no Batch API
 */
public record ServerOptions(List<String> corsOrigins, Path dataDir) {

    public ServerOptions {
        corsOrigins = List.copyOf(corsOrigins);
        for (String origin : corsOrigins) {
            if (!origin.equals("*") && !origin.matches("[a-zA-Z][a-zA-Z0-9+.-]*://[^/\\s]+")) {
                throw new IllegalArgumentException(
                        "a CORS origin is * or scheme://host[:port] without a path, not " + origin);
            }
        }
    }

    public static ServerOptions defaults() {
        return new ServerOptions(List.of(), null);
    }

    public ServerOptions withCorsOrigins(List<String> corsOrigins) {
        return new ServerOptions(corsOrigins, dataDir);
    }

    public ServerOptions withDataDir(Path dataDir) {
        return new ServerOptions(corsOrigins, dataDir);
    }
}
