package dev.parley.server;

import dev.parley.server.responses.KeptResponses;
import dev.parley.server.usage.Price;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a server runs around its routes.
 *
 * @param corsOrigins origins browsers may call it from ({@code https://app.example.com}), {@code *} for any;
 *     empty (the default): none
 * @param dataDir where OpenAI's Files and Batch API keep files and batches, and (without {@code redis}) the usage
 *     ledger and kept responses; null (the default): no Batch API, and a ledger and responses in memory only
 * @param redis the Redis ({@code redis://host:port}) in which every replica keeps the usage ledger and so each
 *     key's monthly spend; null (the default): the ledger is under {@code dataDir}. (Rate limits are shared through
 *     the limiter the server is given.)
 * @param prices what each model's tokens cost, by model id, in USD per million input and output tokens: the spend
 *     that monthly budgets and {@code GET /v1/organization/costs} count; a model not in it costs nothing. Empty (the
 *     default): no costs route, and only a budget of 0 is ever reached
 * @param maxFileBytes the largest file the Files API takes in one upload; {@link #MAX_FILE_BYTES} (OpenAI's) by
 *     default
 * @param sseKeepAlive how long a streamed answer may stay silent (waiting in the queue, reading a long prompt, an
 *     upstream's stream that has gone quiet) before the server writes an SSE comment ({@code : keep-alive}), which
 *     every SSE reader skips, so that proxies and load balancers with an idle timeout do not cut it; zero: never.
 *     {@link #SSE_KEEP_ALIVE} by default
 * @param tls the certificate and key to serve HTTPS with; null: plain HTTP
 * @param keepResponses how long the Responses API keeps a response it was asked to store (in {@code redis}, else
 *     under {@code dataDir}, else in memory), for its owner to continue ({@code previous_response_id}), fetch or
 *     delete; zero: none are kept. {@link KeptResponses#KEEP} (30 days) by default
 */
public record ServerOptions(
        List<String> corsOrigins,
        Path dataDir,
        URI redis,
        Map<String, Price> prices,
        long maxFileBytes,
        Duration sseKeepAlive,
        Tls tls,
        Duration keepResponses) {

    /** OpenAI's largest file: 512 MB. */
    public static final long MAX_FILE_BYTES = 512L << 20;

    /**
     * A quarter of the shortest idle timeout common in front of servers (60 s: nginx's {@code proxy_read_timeout},
     * AWS's load balancers), so that a comment still arrives in time after one is delayed.
     */
    public static final Duration SSE_KEEP_ALIVE = Duration.ofSeconds(15);

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
        if (sseKeepAlive.isNegative()) throw new IllegalArgumentException("sseKeepAlive must not be negative");
        if (keepResponses.isNegative()) throw new IllegalArgumentException("keepResponses must not be negative");
    }

    public static ServerOptions defaults() {
        return new ServerOptions(
                List.of(), null, null, Map.of(), MAX_FILE_BYTES, SSE_KEEP_ALIVE, null, KeptResponses.KEEP);
    }

    public ServerOptions withCorsOrigins(List<String> corsOrigins) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes, sseKeepAlive, tls, keepResponses);
    }

    public ServerOptions withDataDir(Path dataDir) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes, sseKeepAlive, tls, keepResponses);
    }

    public ServerOptions withRedis(URI redis) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes, sseKeepAlive, tls, keepResponses);
    }

    /** With these prices per model id (USD per million input and output tokens), replacing any set before. */
    public ServerOptions withPrices(Map<String, Price> prices) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes, sseKeepAlive, tls, keepResponses);
    }

    /** With uploads to the Files API limited to {@code maxFileBytes}. */
    public ServerOptions withMaxFileBytes(long maxFileBytes) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes, sseKeepAlive, tls, keepResponses);
    }

    /** With a streamed answer silent for {@code sseKeepAlive} sent an SSE comment; zero: never. */
    public ServerOptions withSseKeepAlive(Duration sseKeepAlive) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes, sseKeepAlive, tls, keepResponses);
    }

    /** Serving HTTPS with the certificate and key in {@code tls}; null: plain HTTP. */
    public ServerOptions withTls(Tls tls) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes, sseKeepAlive, tls, keepResponses);
    }

    /** With responses the Responses API is asked to store kept for {@code keepResponses}; zero: none are kept. */
    public ServerOptions withKeepResponses(Duration keepResponses) {
        return new ServerOptions(corsOrigins, dataDir, redis, prices, maxFileBytes, sseKeepAlive, tls, keepResponses);
    }

    /**
     * HTTPS: the PEM file of the server's certificate (its chain after it) and the PEM file of its private key, which
     * may be the same file. Both are read again whenever either changes.
     */
    public record Tls(Path certificate, Path key) {
        public Tls {
            java.util.Objects.requireNonNull(certificate, "certificate");
            java.util.Objects.requireNonNull(key, "key");
        }
    }
}
