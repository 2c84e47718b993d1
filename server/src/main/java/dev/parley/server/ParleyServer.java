package dev.parley.server;

import dev.parley.server.auth.ApiKeys;
import dev.parley.server.batches.Batches;
import dev.parley.server.engine.Engine;
import dev.parley.server.http.Drain;
import dev.parley.server.http.HttpApi;
import dev.parley.server.http.ServerTls;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import dev.parley.server.responses.KeptConversations;
import dev.parley.server.responses.KeptResponses;
import dev.parley.server.usage.UsageLedger;
import io.javalin.Javalin;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.util.component.Graceful;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Parley server: the HTTP surface over one engine, for the holders of its keys within their
 * limits; a keys file is reloaded whenever it changes. Closing it stops the HTTP server first, then the
 * limits and the engine.
 *
 * <p>Thread-safe; {@link #close} is idempotent.
 */
public final class ParleyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ParleyServer.class);
    private final Javalin http;
    private final Engine engine;
    private final RateLimits limits;
    private final ApiKeys keys;
    private final FileWatcher watcher;
    private final ServerTls tls; // null: plain HTTP
    private final Batches batches; // null without a data directory
    private final UsageLedger ledger;
    private final KeptResponses kept;
    private final KeptConversations conversations;
    private boolean closed;

    private ParleyServer(
            Javalin http,
            Engine engine,
            RateLimits limits,
            ApiKeys keys,
            FileWatcher watcher,
            ServerTls tls,
            Batches batches,
            UsageLedger ledger,
            KeptResponses kept,
            KeptConversations conversations) {
        this.http = http;
        this.engine = engine;
        this.limits = limits;
        this.keys = keys;
        this.watcher = watcher;
        this.tls = tls;
        this.batches = batches;
        this.ledger = ledger;
        this.kept = kept;
        this.conversations = conversations;
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
        return start(engine, keys, limits, host, port, ServerOptions.defaults());
    }

    /**
     * Starts serving {@code engine} to the holders of {@code keys} within {@code limits} on
     * {@code host}:{@code port}, run as {@code options} say. Takes ownership of the engine and the limits. With a
     * data directory, OpenAI's Files and Batch API keeps its files and batches there, and batches that had not
     * finished resume. Every request's usage goes to the ledger: in the options' Redis, else under the data
     * directory, else in memory.
     */
    public static ParleyServer start(
            Engine engine, ApiKeys keys, RateLimits limits, String host, int port, ServerOptions options) {
        return start(engine, keys, limits, host, port, options, Clock.systemUTC());
    }

    /**
     * As {@link #start(Engine, ApiKeys, RateLimits, String, int, ServerOptions)}, with {@code clock} as the
     * time of the server's objects (a response's {@code created}, a batch's times and its completion window),
     * e.g. for a test that steps it.
     */
    public static ParleyServer start(
            Engine engine, ApiKeys keys, RateLimits limits, String host, int port, ServerOptions options, Clock clock) {
        FileWatcher watcher = null;
        ServerTls tls = null;
        UsageLedger ledger = null;
        KeptResponses kept = null;
        KeptConversations conversations = null;
        var opened = new AtomicReference<Batches>();
        try {
            if (keys.file() != null)
                watcher = FileWatcher.start("parley-keys-watcher", List.of(keys.file()), "the keys file", keys::reload);
            ledger = ledger(options, clock);
            kept = KeptResponses.open(options.keepResponses(), options.redis(), options.dataDir(), clock);
            conversations = KeptConversations.open(options.redis(), options.dataDir());
            if (options.tls() != null) tls = ServerTls.open(options.tls());
            Javalin http = HttpApi.create(
                            engine,
                            keys,
                            limits,
                            ledger,
                            kept,
                            conversations,
                            host,
                            port,
                            clock,
                            options,
                            tls,
                            opened::set)
                    .start();
            if (tls != null) tls.watch();
            engine.serving();
            return new ParleyServer(
                    http, engine, limits, keys, watcher, tls, opened.get(), ledger, kept, conversations);
        } catch (RuntimeException e) {
            if (opened.get() != null) opened.get().close();
            if (ledger != null) ledger.close();
            if (kept != null) kept.close();
            if (conversations != null) conversations.close();
            if (watcher != null) watcher.close();
            if (tls != null) tls.close();
            limits.close();
            engine.close();
            throw e;
        }
    }

    private static UsageLedger ledger(ServerOptions options, Clock clock) {
        if (options.redis() != null) return UsageLedger.inRedis(options.redis(), clock);
        if (options.dataDir() != null) {
            try {
                return UsageLedger.inFolder(options.dataDir(), clock);
            } catch (IllegalStateException e) {
                log.warn("Keeping the usage ledger in memory only: {}", e.getMessage());
            }
        }
        return UsageLedger.inMemory(clock);
    }

    /**
     * Reads the keys file again now (the server also does whenever the file changes); see
     * {@link ApiKeys#reload}.
     */
    public boolean reloadKeys() {
        return keys.reload();
    }

    /**
     * Reads again now what the server reads from files while it runs, as SIGHUP asks: the keys file and the TLS
     * certificate and key, those it has (it also does whenever they change). What cannot be read leaves what is in
     * use, and says why in the log. Whether all of it was read.
     */
    public boolean reload() {
        boolean keysRead = keys.file() == null || keys.reload();
        boolean tlsRead = tls == null || tls.reloadNow();
        return keysRead && tlsRead;
    }

    /** Whether the server reads anything from files while it runs ({@link #reload}). */
    public boolean reloads() {
        return keys.file() != null || tls != null;
    }

    public int port() {
        return http.port();
    }

    /**
     * The base URL clients use, e.g. {@code http://127.0.0.1:8080/v1} ({@code https} when it serves TLS). A server listening on every address
     * ({@code 0.0.0.0}, {@code ::}) is reached on this machine through loopback; an IPv6 address is
     * bracketed.
     */
    public String baseUrl(String host) {
        String reach = switch (host) {
            case "0.0.0.0", "" -> "127.0.0.1";
            case "::", "[::]", "::0" -> "::1";
            default -> host;
        };
        if (reach.contains(":") && !reach.startsWith("[")) reach = "[" + reach + "]";
        return (tls == null ? "http://" : "https://") + reach + ":" + port() + "/v1";
    }

    /** Whether {@code host} is a wildcard address: the server then listens on every interface. */
    public static boolean listensEverywhere(String host) {
        return switch (host) {
            case "0.0.0.0", "", "::", "[::]", "::0" -> true;
            default -> false;
        };
    }

    /**
     * Stops gracefully: stops accepting connections, answers new requests on open connections with 503
     * {@code server_shutting_down}, lets running requests finish for up to {@code grace}, then cuts those
     * still generating (a stream ends with an error event, not a broken connection) and closes.
     *
     * @return how many requests were cut at the deadline
     */
    public int shutdown(Duration grace) throws InterruptedException {
        refuseNewRequests();
        try {
            int cut = Drain.of(http).drain(grace);
            // A request is done when its handler returns, not when its last bytes are out: stopping at once could
            // truncate an answer the client is still reading. Jetty closes each connection once its response is
            // written; wait for that (briefly) before stopping.
            try {
                CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new))
                        .get(FLUSH.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                // a client that keeps its connection open gets it closed by the stop
            }
            return cut;
        } finally {
            close();
        }
    }

    /** The connectors' graceful shutdowns, once {@link #refuseNewRequests} began them. */
    private List<CompletableFuture<Void>> closing;

    /**
     * The first step of {@link #shutdown}, on its own so that a caller can say so once it is true: stops accepting
     * connections and answers new requests on open ones with 503 {@code server_shutting_down}; running requests go
     * on. Calling it again does nothing.
     */
    public synchronized void refuseNewRequests() {
        if (closing != null) return;
        closing = new ArrayList<>();
        for (Connector connector : http.jettyServer().server().getConnectors()) {
            if (connector instanceof Graceful graceful) closing.add(graceful.shutdown());
        }
        Drain.of(http).refuse();
    }

    /** How long a stopping server waits for answers already given to be written out. */
    private static final Duration FLUSH = Duration.ofSeconds(5);

    /** Requests being answered now. */
    public int inFlight() {
        return Drain.of(http).inFlight();
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (batches != null) batches.close(); // the line running now resumes at the next start
        if (watcher != null) watcher.close();
        if (tls != null) tls.close();
        http.stop();
        HttpApi.stopBackgroundResponses(http); // each kept as it ended
        ledger.close(); // after the last request is recorded
        kept.close(); // after the last response is kept
        conversations.close(); // and added to its conversation
        limits.close();
        engine.close();
    }
}
