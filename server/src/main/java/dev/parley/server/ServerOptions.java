package dev.parley.server;

import dev.parley.server.usage.Price;
import java.net.URI;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a server runs around its routes.
 *
 * @param corsOrigins origins browsers may call it from ({@code https://app.example.com}), {@code *} for any;
 *     empty (the default): none
 * @param dataDir where OpenAI's Files and Batch API keep files and batches, and (without {@code redis}) the usage
 *     ledger; null (the default): no Batch API, and a ledger in memory only
 * @param redis the Redis ({@code redis://host:port}) in which every replica keeps the usage ledger and so each
 *     key's monthly spend; null (the default): the ledger is under {@code dataDir}. (Rate limits are shared through
 *     the limiter the server is given.)
 * @param prices what each model's tokens cost, by model id, in USD per million input and output tokens: the spend
 *     that monthly budgets and {@code GET /v1/organization/costs} count; a model not in it costs nothing. Empty (the
 *     default): no costs route, and only a budget of 0 is ever reached
 * @param maxFileBytes the largest file the Files API takes in one upload; {@link #MAX_FILE_BYTES} (OpenAI's) by
 *     default
 */
public record ServerOptions(
        List<String> corsOrigins, Path dataDir, URI redis, Map<String, Price> prices, long maxFileBytes) {

    /** OpenAI's largest file: 512 MB. */
    public static final long MAX_FILE_BYTES = 512L << 20;

    public ServerOptions {
        corsOrigins = List.copyOf(corsOrigins);
        for (String origin : corsOrigins) {
            if (!origin.equals("*") && !origin.matches("[a-zA-Z][a-zA-Z0-9+.-]*://[^/\\s]+")) {
                throw new IllegalArgumentException(
                        "a CORS origin is * or scheme://host[:port] without a path, not " + origin);
            }
        }
        prices = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(prices));
        if (maxFileBytes < 1) throw new IllegalArgumentException("maxFileBytes must be at least 1");
    }

    public static ServerOptions defaults() {
        return new ServerOptions(List.of(), null, null, Map.of(), MAX_FILE_BYTES);
    }

    public ServerOptions withCorsOrigins(List<String> corsOrigins) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes);
    }

    public ServerOptions withDataDir(Path dataDir) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes);
    }

    public ServerOptions withRedis(URI redis) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes);
    }

    /** With these prices per model id (USD per million input and output tokens), replacing any set before. */
    public ServerOptions withPrices(Map<String, Price> prices) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes);
    }

    /** With uploads to the Files API limited to {@code maxFileBytes}. */
    public ServerOptions withMaxFileBytes(long maxFileBytes) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes);
    }
}
