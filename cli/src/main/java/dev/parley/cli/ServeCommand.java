package dev.parley.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.client.ClientOptions;
import dev.parley.server.ParleyServer;
import dev.parley.server.ServerOptions;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.config.ConfigFile;
import dev.parley.server.config.ServerConfig;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.ModelCard;
import dev.parley.server.engine.llama.KvCacheType;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.engine.proxy.ProxyEngine;
import dev.parley.server.engine.proxy.UpstreamReplica;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import dev.parley.server.responses.KeptResponses;
import dev.parley.server.usage.Price;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/** {@code parley serve}: the OpenAI-compatible server over a local GGUF model. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Serve models over an OpenAI-compatible HTTP API.",
            "A GGUF model run here (without --model: the bundled demo model); with --upstream, the models of another"
                    + " OpenAI-compatible provider behind Parley's keys and limits; with --config, several local models"
                    + " and upstream fleets behind one endpoint."
        })
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = {
                "A configuration file (YAML): several local models and upstream fleets behind one endpoint, with"
                        + " aliases and fallbacks, and the server's options (see the README). Server options given as"
                        + " flags beside it win over the file's."
            })
    Path config;

    @Option(
            names = "--model",
            paramLabel = "FILE",
            description = "GGUF model file (default: the bundled stories260K demo model).")
    Path model;

    @Option(
            names = "--model-id",
            paramLabel = "ID",
            description = "Model id clients use (default: the file's base name).")
    String modelId;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description =
                    "Address to listen on (default: ${DEFAULT-VALUE}); without --keys, anyone who reaches it may use it.")
    String host;

    @Option(
            names = "--port",
            defaultValue = "8080",
            description = "Port to listen on; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(
            names = "--parallel",
            defaultValue = "" + LlamaEngineOptions.DEFAULT_PARALLEL,
            description = "Sequences generated together, 1 to " + MAX_PARALLEL + " (default: ${DEFAULT-VALUE}).")
    BigInteger parallel;

    @Option(
            names = "--context",
            defaultValue = "0",
            paramLabel = "TOKENS",
            description = "Context per sequence, prompt and answer together, at most " + MAX_CONTEXT
                    + "; 0: the model's own, capped at 4096.")
    BigInteger context;

    @Option(
            names = "--threads",
            defaultValue = "0",
            description = "llama.cpp threads, at most " + MAX_THREADS
                    + "; 0: one per physical core (default: ${DEFAULT-VALUE}).")
    BigInteger threads;

    @Option(
            names = "--kv-cache",
            defaultValue = "f16",
            paramLabel = "f16|f32",
            description =
                    "KV cache precision: f16 takes half f32's memory; both keep batched and solo answers identical (default: ${DEFAULT-VALUE}).")
    KvCacheType kvCache;

    @Option(
            names = "--cache-ram",
            defaultValue = "0",
            paramLabel = "MB",
            description = "Host memory, in MB, for the KV cells of finished requests whose slot another prompt"
                    + " takes: more conversations than slots each find their history again (and a model with"
                    + " recurrent state or a sliding window keeps there the start conversations share); at most "
                    + LlamaEngineOptions.MAX_CACHE_MB + " (default: ${DEFAULT-VALUE}, none).")
    BigInteger cacheRam;

    @Option(
            names = "--swa-full",
            description = "Keep every KV cell in the sliding-window layers of a model that has them (Gemma 3,"
                    + " gpt-oss), not only the window and a batch: more memory, and a new conversation can take a"
                    + " long system prompt it shares from any slot's cells.")
    boolean swaFull;

    @Option(
            names = "--queue",
            defaultValue = "" + LlamaEngineOptions.DEFAULT_QUEUE,
            description =
                    "Sequences that may wait for a slot before 503, and so the most choices (n) one request may ask for (default: ${DEFAULT-VALUE}, OpenAI's most).")
    int queue;

    @Option(
            names = "--llama-lib",
            paramLabel = "DIR",
            defaultValue = "${env:PARLEY_LLAMA_LIB}",
            description = {
                "A folder holding another build of llama.cpp v0.5.0 (libllama, libggml, libggml-base and its backends:"
                        + " a CUDA, Vulkan or Metal build, or one compiled for this CPU) (default: $PARLEY_LLAMA_LIB, else the"
                        + " prebuilt CPU libraries, fetched once with npm and verified)."
            })
    Path llamaLib;

    @Option(
            names = "--llama-variant",
            paramLabel = "cuda|vulkan",
            defaultValue = "${env:PARLEY_LLAMA_VARIANT}",
            description =
                    "Fetch this GPU build of the prebuilt libraries instead of the CPU one (default: $PARLEY_LLAMA_VARIANT, else CPU).")
    String llamaVariant;

    @Option(
            names = "--gpu-layers",
            defaultValue = "-1",
            paramLabel = "N",
            description =
                    "Model layers to offload when llama.cpp finds a GPU: -1 all of them (default), 0 none. Ignored on CPU.")
    int gpuLayers;

    @Option(
            names = "--chat-template-kwargs",
            paramLabel = "JSON",
            description =
                    "Variables for the model's chat template, a JSON object, e.g. '{\"enable_thinking\": false}' to turn"
                            + " a reasoning model's reasoning off; a request's reasoning_effort and"
                            + " chat_template_kwargs set names over them.")
    String chatTemplateKwargs;

    @Option(
            names = "--embeddings",
            description =
                    "Also serve /v1/embeddings with a generating model's pooled embeddings (the mean of its"
                            + " tokens, or the pooling its metadata names), computed apart from generation. An embedding"
                            + " model (BERT-like, or a GGUF naming its pooling type) serves them without this flag, and only them.")
    boolean embeddings;

    @Option(
            names = "--upstream",
            paramLabel = "URL[,URL...]",
            split = ",",
            description = "Serve the models of this OpenAI-compatible provider instead of a local model, e.g. "
                    + "https://api.openai.com/v1; several URLs are replicas of one upstream, each request going to "
                    + "the least busy healthy one and on to the next when one fails before answering.")
    List<String> upstream;

    @Option(
            names = "--upstream-key",
            paramLabel = "KEY",
            defaultValue = "${env:OPENAI_API_KEY}",
            description = "API key for the upstream provider (default: $OPENAI_API_KEY).")
    String upstreamKey;

    @Option(
            names = "--upstream-models",
            paramLabel = "ID",
            split = ",",
            description = "Serve only these upstream models (default: every model the upstream lists at start).")
    List<String> upstreamModels = List.of();

    @Option(
            names = "--upstream-timeout",
            paramLabel = "SECONDS",
            description = "How long an upstream replica may take before its answer begins; then the request moves "
                    + "to the next replica (default: ${DEFAULT-VALUE}).")
    double upstreamTimeout = 600;

    @Option(
            names = "--upstream-idle-timeout",
            paramLabel = "SECONDS",
            description = "How long an upstream's stream, once begun, may pass no event before it is ended with an "
                    + "error event (default: ${DEFAULT-VALUE}).")
    double upstreamIdleTimeout = ProxyEngine.DEFAULT_IDLE_TIMEOUT.toSeconds();

    @Option(
            names = "--upstream-ca-cert",
            paramLabel = "FILE",
            description = "Trust the certificates in this PEM file (a private authority's) for https upstreams,"
                    + " instead of the JDK's authorities (default: the JDK's).")
    Path upstreamCaCert;

    @Option(
            names = "--upstream-output-reserve",
            paramLabel = "TOKENS",
            description = "Tokens of a key's budget reserved for the answer of an upstream request without "
                    + "max_tokens, settled to what it really used (default: ${DEFAULT-VALUE}).")
    int upstreamOutputReserve = ProxyEngine.DEFAULT_OUTPUT_RESERVE;

    @Option(
            names = "--keys",
            paramLabel = "FILE",
            description = "API keys file (see 'parley keys'); without it every request is accepted.")
    Path keys;

    @Option(
            names = "--redis",
            paramLabel = "redis://host:port",
            description =
                    "Keep each key's rate limits, the usage ledger and kept responses in this Redis, shared by every"
                            + " replica using it (default: limits in memory, the ledger and responses under --data-dir).")
    URI redis;

    @Option(
            names = "--data-dir",
            paramLabel = "DIR",
            description = "Where the Files and Batch API keep files and batches, and (without --redis) the usage"
                    + " ledger and kept responses are (default: $PARLEY_DATA_DIR, else "
                    + "$XDG_DATA_HOME/parley, else ~/.local/share/parley).")
    Path dataDir;

    @Option(
            names = "--keep-responses",
            paramLabel = "DAYS",
            description = "How long a Responses API answer asked to be stored (store: true, the default) is kept for"
                    + " its key to continue (previous_response_id), fetch or delete; 0 keeps none, at most 3650"
                    + " (default: ${DEFAULT-VALUE}).")
    long keepResponses = KeptResponses.KEEP.toDays();

    @Option(
            names = "--price",
            paramLabel = "MODEL=INPUT,OUTPUT",
            description = "What a model's tokens cost, in USD per million input and output tokens (e.g."
                    + " gpt-4o-mini=0.15,0.60); repeat for each model. Monthly budgets and /v1/organization/costs"
                    + " count spend at these prices; a model without one costs nothing (default: none).")
    List<String> prices = List.of();

    @Option(
            names = "--redis-fail-open",
            description =
                    "While Redis is unreachable, admit requests without limits (and log it) instead of answering 503.")
    boolean redisFailOpen;

    @Option(
            names = "--cors-origin",
            paramLabel = "ORIGIN",
            split = ",",
            description =
                    "Let browser pages from this origin (e.g. https://app.example.com; * for any) call the server (default: none).")
    List<String> corsOrigins = List.of();

    @Option(
            names = "--log-format",
            defaultValue = "text",
            paramLabel = "text|json",
            description =
                    "Log lines on stderr as text, or as one JSON object each, access-log fields included (default: ${DEFAULT-VALUE}).")
    LogFormat logFormat;

    @Option(
            names = "--warm-up",
            hidden = true,
            description = "Start, answer a few requests of its own on loopback, and stop: a training run for the "
                    + "launcher's ahead-of-time class cache.")
    boolean warmUp;

    @Option(
            names = "--shutdown-timeout",
            defaultValue = "30",
            paramLabel = "SECONDS",
            description =
                    "On SIGTERM or Ctrl-C, how long running requests may take to finish before they are cut; a second signal stops at once (default: ${DEFAULT-VALUE}).")
    long shutdownTimeout;

    @Option(
            names = "--sse-keepalive",
            paramLabel = "SECONDS",
            description = "How long a streamed answer may stay silent (waiting in the queue, reading a long prompt, "
                    + "relaying a quiet upstream) before an SSE comment line (: keep-alive) goes out, which clients "
                    + "skip, so that proxies that cut idle connections keep it; 0 never sends one, at most 3600 "
                    + "(default: ${DEFAULT-VALUE}).")
    double sseKeepAlive = ServerOptions.SSE_KEEP_ALIVE.toMillis() / 1000.0;

    @Option(
            names = "--tls-cert",
            paramLabel = "FILE",
            description = "Serve HTTPS only, with the certificate in this PEM file (the server's own first, then its"
                    + " chain); it is read again whenever it changes, so a renewal needs no restart (default: plain"
                    + " HTTP).")
    Path tlsCert;

    @Option(
            names = "--tls-key",
            paramLabel = "FILE",
            description = "The PEM file of the certificate's private key (PKCS#8, or RSA/EC as older OpenSSL writes"
                    + " it; unencrypted), read again whenever it changes (default: the --tls-cert file, when it holds"
                    + " the key too).")
    Path tlsKey;

    static final int MAX_PARALLEL = LlamaEngineOptions.MAX_PARALLEL;
    static final int MAX_CONTEXT = LlamaEngineOptions.MAX_CONTEXT;
    static final int MAX_THREADS = LlamaEngineOptions.MAX_THREADS;

    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    static final String HUP_IGNORED = "SIGHUP is ignored in this process (started under nohup?), so it cannot reload"
            + " the keys file or the TLS certificate; changes to the files still reload them";

    /** The data folder: {@code --data-dir}, else {@code $PARLEY_DATA_DIR}, else the XDG data folder. */
    private Path dataDir() {
        return dataDir(dataDir);
    }

    /** {@code given}, else {@code $PARLEY_DATA_DIR}, else {@code $XDG_DATA_HOME/parley}, else {@code ~/.local/share/parley}. */
    static Path dataDir(Path given) {
        if (given != null) return given;
        String env = System.getenv("PARLEY_DATA_DIR");
        if (env != null && !env.isBlank()) return Path.of(env);
        String xdg = System.getenv("XDG_DATA_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "parley");
        return Path.of(System.getProperty("user.home"), ".local", "share", "parley");
    }

    /** The options that say how to reach an upstream: meaningless without --upstream (or a file's upstreams). */
    private static final List<String> UPSTREAM_OPTIONS = List.of(
            "--upstream-key",
            "--upstream-models",
            "--upstream-timeout",
            "--upstream-idle-timeout",
            "--upstream-output-reserve",
            "--upstream-ca-cert");

    /** The options that say which models to serve and how, which a configuration file says instead. */
    private static final List<String> MODEL_OPTIONS = Stream.concat(
                    Stream.of(
                            "--model",
                            "--model-id",
                            "--parallel",
                            "--context",
                            "--threads",
                            "--kv-cache",
                            "--cache-ram",
                            "--swa-full",
                            "--queue",
                            "--llama-lib",
                            "--llama-variant",
                            "--gpu-layers",
                            "--chat-template-kwargs",
                            "--embeddings",
                            "--upstream"),
                    UPSTREAM_OPTIONS.stream())
            .toList();

    @Override
    public Integer call() throws InterruptedException {
        var err = spec.commandLine().getErr();
        if (upstream != null && !upstream.isEmpty() && model != null) {
            err.println("parley serve: --model and --upstream exclude each other");
            return 2;
        }
        List<String> withoutUpstream = upstream != null && !upstream.isEmpty() || config != null
                ? List.of()
                : UPSTREAM_OPTIONS.stream().filter(this::given).toList();
        if (!withoutUpstream.isEmpty()) {
            // Most likely --upstream itself was forgotten: serving the demo model instead would hide that.
            err.println("parley serve: " + String.join(", ", withoutUpstream) + " only go"
                    + (withoutUpstream.size() == 1 ? "es" : "") + " with --upstream URL");
            return 2;
        }
        ServerConfig file = null;
        if (config != null) {
            List<String> beside = MODEL_OPTIONS.stream().filter(this::given).toList();
            if (!beside.isEmpty()) {
                err.println("parley serve: " + String.join(", ", beside)
                        + (beside.size() == 1 ? " goes" : " go")
                        + " in the configuration file's models and upstreams, not beside --config");
                return 2;
            }
            try {
                file = ConfigFile.read(config);
            } catch (IllegalArgumentException e) {
                err.println("parley serve: " + e.getMessage());
                return 2;
            }
            applyServerOptions(file);
        }
        logFormat.apply();
        String outOfRange = outOfRange();
        if (outOfRange != null) {
            err.println("parley serve: " + outOfRange);
            return 2;
        }
        String cannotListen = cannotListen();
        if (cannotListen != null) {
            err.println("parley serve: " + cannotListen);
            return 1;
        }
        ParleyServer server;
        Engine engine;
        try {
            ServerOptions options = ServerOptions.defaults()
                    .withCorsOrigins(corsOrigins)
                    .withDataDir(dataDir())
                    .withRedis(redis)
                    .withPrices(prices(file))
                    .withSseKeepAlive(Duration.ofMillis(Math.round(sseKeepAlive * 1000)))
                    .withKeepResponses(Duration.ofDays(keepResponses))
                    .withTls(
                            tlsCert == null ? null : new ServerOptions.Tls(tlsCert, tlsKey == null ? tlsCert : tlsKey));
            ApiKeys apiKeys = keys == null ? ApiKeys.open() : ApiKeys.load(keys);
            Limiter limiter = redis == null
                    ? Limiter.inMemory(Clock.systemUTC())
                    : redisFailOpen
                            ? Limiter.redisWhenReachable(redis, Clock.systemUTC())
                            : Limiter.redis(redis, Clock.systemUTC());
            RateLimits limits = new RateLimits(limiter, redisFailOpen);
            try {
                engine = file != null ? configured(file) : upstream != null && !upstream.isEmpty() ? proxy() : local();
            } catch (RuntimeException e) {
                limits.close();
                throw e;
            }
            server = ParleyServer.start(engine, apiKeys, limits, host, port, options); // closes both if it cannot
        } catch (RuntimeException e) {
            err.println("parley serve: " + e.getMessage()
                    + Failures.untrusted(e, "--upstream-ca-cert FILE (an upstream's ca_cert in a configuration file)"));
            return 1;
        }
        if (keys == null && !loopback()) {
            log.warn(
                    "Listening on {} without API keys: anyone who can reach this machine may use it (add --keys FILE)",
                    host);
        }
        if (warmUp) return warmUp(server, engine);
        if (server.reloads()) {
            // SIGHUP reloads the keys file and the TLS certificate and key (the server also does when they change),
            // instead of stopping.
            try {
                // A process started ignoring SIGHUP (under nohup) keeps ignoring it: the JVM then leaves the
                // handler out and answers SIG_IGN instead of failing.
                if (Signal.handle(new Signal("HUP"), signal -> server.reload()) == SignalHandler.SIG_IGN)
                    log.warn(HUP_IGNORED);
            } catch (IllegalArgumentException noSuchSignal) {
                // Windows has no SIGHUP: the files' changes still reload them.
            }
        }
        var stopped = new CountDownLatch(1);
        var stopping = new AtomicBoolean();
        SignalHandler stop = signal -> {
            if (!stopping.compareAndSet(false, true)) {
                log.warn("Second SIG{}: stopping at once", signal.getName());
                Runtime.getRuntime().halt(1);
            }
            Thread.ofPlatform().name("parley-shutdown").start(() -> {
                Duration grace = Duration.ofSeconds(shutdownTimeout);
                server.refuseNewRequests(); // before saying so: a client that reads the line may try at once
                log.info(
                        "SIG{}: accepting no more requests; {} running may take {}s to finish (a second signal stops at once)",
                        signal.getName(),
                        server.inFlight(),
                        grace.toSeconds());
                try {
                    int cut = server.shutdown(grace);
                    if (cut > 0)
                        log.warn(
                                "Cut {} request{} still running after {}s",
                                cut,
                                cut == 1 ? "" : "s",
                                grace.toSeconds());
                    log.info("Stopped");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    stopped.countDown();
                }
            });
        };
        Signal.handle(new Signal("TERM"), stop);
        Signal.handle(new Signal("INT"), stop);
        // Any other way out (System.exit, a signal not handled here) still closes the server.
        Runtime.getRuntime().addShutdownHook(new Thread(server::close));
        // The start line last: whoever waits for it may signal at once, and the handlers are in place.
        var out = spec.commandLine().getOut();
        String served = engine.models().stream().map(ModelCard::id).collect(Collectors.joining(", "));
        out.printf("Serving %s at %s (%s)%n", served.isEmpty() ? "no models" : served, server.baseUrl(host), access());
        out.flush();
        stopped.await();
        return 0;
    }

    /**
     * The launcher's training run: the requests a server answers first (health, models, a chat whole and
     * streamed), so that the classes they load go into its ahead-of-time cache; then the server stops.
     */
    private int warmUp(ParleyServer server, Engine engine) {
        String model = engine.models().getFirst().id();
        String chat = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
                + "\"max_tokens\":4";
        try {
            for (String body : List.of(chat + "}", chat + ",\"stream\":true}"))
                exchange(server.port(), "POST /v1/chat/completions", body);
            for (String path : List.of("/health", "/v1/models")) exchange(server.port(), "GET " + path, null);
            return 0;
        } catch (IOException e) {
            spec.commandLine().getErr().println("parley serve: warm-up failed: " + e.getMessage());
            return 1;
        } finally {
            server.close();
        }
    }

    /**
     * One HTTP/1.1 exchange on its own loopback connection, read to its end. Plain sockets rather than the
     * JDK's HTTP client: every start replays the compilations of this run (the cache's training data), and that
     * client's set-up (a TLS context, its certificates' big-number arithmetic) is nothing a server runs; without
     * it the cache is 6 MB smaller.
     */
    private static void exchange(int port, String requestLine, String body) throws IOException {
        byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        try (var socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            String head = requestLine + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + (body == null
                            ? ""
                            : "Content-Type: application/json\r\nContent-Length: " + content.length + "\r\n")
                    + "\r\n";
            var out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(content);
            out.flush();
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!answer.startsWith("HTTP/1.1 200"))
                throw new IOException(
                        requestLine + " answered " + answer.lines().findFirst().orElse("nothing"));
        }
    }

    private Engine local() {
        Path path = model == null ? DemoModel.path() : model;
        if (!Files.isRegularFile(path)) throw new IllegalArgumentException("no model file at " + path);
        // The bundled model is unpacked to a temporary file; its id stays its own name.
        String id = modelId == null && model == null ? DemoModel.ID : modelId;
        LlamaEngine.useLibrary(llamaLib, llamaVariant);
        spec.commandLine().getOut().println(LlamaEngine.library());
        return LlamaEngine.open(new LlamaEngineOptions(
                path,
                id,
                parallel.intValueExact(),
                context.intValueExact(),
                threads.intValueExact(),
                kvCache,
                queue,
                gpuLayers,
                embeddings,
                cacheRam.intValueExact(),
                swaFull,
                templateVariables()));
    }

    /** {@code --chat-template-kwargs} read as JSON, or null when not given. */
    private JsonNode templateVariables() {
        if (chatTemplateKwargs == null) return null;
        try {
            return Json.mapper().readTree(chatTemplateKwargs);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        }
    }

    /** The models of a configuration file, the llama.cpp build named on the start-up line when some are local. */
    private Engine configured(ServerConfig file) {
        Engine engine = file.openEngine();
        if (!file.models().isEmpty()) spec.commandLine().getOut().println(LlamaEngine.library());
        return engine;
    }

    /**
     * The file's server options, where no flag sets them: a flag given on the command line wins over the file,
     * and the file over the flags' defaults.
     */
    private void applyServerOptions(ServerConfig file) {
        ServerConfig.Server server = file.server();
        if (server != null) {
            if (server.host() != null && !given("--host")) host = server.host();
            if (server.port() != null && !given("--port")) port = server.port();
            if (server.shutdownTimeout() != null && !given("--shutdown-timeout"))
                shutdownTimeout = server.shutdownTimeout();
            if (server.sseKeepalive() != null && !given("--sse-keepalive")) sseKeepAlive = server.sseKeepalive();
            if (server.keepResponses() != null && !given("--keep-responses")) keepResponses = server.keepResponses();
            if (server.logFormat() != null && !given("--log-format"))
                logFormat = LogFormat.valueOf(server.logFormat().toUpperCase(java.util.Locale.ROOT));
            if (server.corsOrigins() != null && !given("--cors-origin")) corsOrigins = server.corsOrigins();
            if (server.dataDir() != null && !given("--data-dir")) dataDir = Path.of(server.dataDir());
            if (server.tlsCert() != null && !given("--tls-cert")) tlsCert = Path.of(server.tlsCert());
            if (server.tlsKey() != null && !given("--tls-key")) tlsKey = Path.of(server.tlsKey());
        }
        if (file.keys() != null && !given("--keys")) keys = Path.of(file.keys());
        if (file.redis() != null && !given("--redis")) {
            redis = URI.create(file.redis().url());
            if (Boolean.TRUE.equals(file.redis().failOpen())) redisFailOpen = true;
        }
    }

    /** The configuration file's prices, and over them those given with --price. */
    private Map<String, Price> prices(ServerConfig file) {
        var all = new LinkedHashMap<String, Price>();
        if (file != null) all.putAll(file.prices());
        all.putAll(Price.parseAll(prices));
        return all;
    }

    private boolean given(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    private Engine proxy() {
        var options = ClientOptions.builder(name -> null)
                .baseUrl(upstream.getFirst())
                .timeout(Duration.ofMillis(Math.round(upstreamTimeout * 1000)));
        if (upstreamKey != null && !upstreamKey.isBlank()) options.apiKey(upstreamKey);
        if (upstreamCaCert != null) options.caCertificates(upstreamCaCert);
        return ProxyEngine.connect(
                options.build(),
                new ProxyEngine.Fleet(
                        upstream.stream().map(UpstreamReplica::of).toList(),
                        upstreamModels,
                        upstreamOutputReserve,
                        Map.of(),
                        ProxyEngine.DEFAULT_COOLDOWN,
                        Duration.ofMillis(Math.round(upstreamIdleTimeout * 1000))));
    }

    private boolean loopback() {
        return host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1") || host.equals("[::1]");
    }

    /** What is wrong with a number option, or null when all are within their limits. */
    private String outOfRange() {
        try {
            Price.parseAll(prices);
        } catch (IllegalArgumentException e) {
            return "--price: " + e.getMessage();
        }
        if (!within(parallel, 1, MAX_PARALLEL))
            return "--parallel must be between 1 and " + MAX_PARALLEL + ", not " + parallel;
        if (!within(context, 0, MAX_CONTEXT))
            return "--context must be between 0 (the model's own) and " + MAX_CONTEXT + ", not " + context;
        if (!(upstreamTimeout > 0 && upstreamTimeout <= 86_400))
            return "--upstream-timeout must be more than 0 and at most 86400 seconds, not " + asGiven(upstreamTimeout);
        if (!(upstreamIdleTimeout > 0 && upstreamIdleTimeout <= 86_400))
            return "--upstream-idle-timeout must be more than 0 and at most 86400 seconds, not "
                    + asGiven(upstreamIdleTimeout);
        if (shutdownTimeout < 0 || shutdownTimeout > 86_400)
            return "--shutdown-timeout must be between 0 and 86400 seconds, not " + shutdownTimeout;
        if (keepResponses < 0 || keepResponses > 3650)
            return "--keep-responses must be between 0 (none) and 3650 days, not " + keepResponses;
        if (!(sseKeepAlive >= 0 && sseKeepAlive <= 3600))
            return "--sse-keepalive must be between 0 (never) and 3600 seconds, not " + asGiven(sseKeepAlive);
        if (!within(cacheRam, 0, LlamaEngineOptions.MAX_CACHE_MB))
            return "--cache-ram must be between 0 (none) and " + LlamaEngineOptions.MAX_CACHE_MB + " MB, not "
                    + cacheRam;
        if (!within(threads, 0, MAX_THREADS))
            return "--threads must be between 0 (one per physical core) and " + MAX_THREADS + ", not " + threads;
        if (port < 0 || port > 65_535) return "--port must be between 0 (a free one) and 65535, not " + port;
        if (tlsKey != null && tlsCert == null) return "--tls-key needs --tls-cert, the certificate it belongs to";
        if (upstreamOutputReserve < 1)
            return "--upstream-output-reserve must be at least 1, not " + upstreamOutputReserve;
        if (queue < 1) return "--queue must be at least 1, not " + queue;
        if (gpuLayers < -1) return "--gpu-layers must be -1 (all), 0 (none) or more, not " + gpuLayers;
        try {
            LlamaEngine.checkChatTemplateKwargs(templateVariables());
        } catch (IllegalArgumentException e) {
            return "--chat-template-kwargs: " + e.getMessage();
        }
        return null;
    }

    /**
     * Why the server could not listen on its address, or null when it can: asked before a model is loaded or an
     * upstream asked for its models, which can take minutes, rather than found when the HTTP server starts. The
     * socket is closed again at once; should another process take the port in between, the start still fails then.
     */
    private String cannotListen() {
        if (port == 0) return null; // a free port is picked when the server starts
        boolean bracketed = host.length() > 2 && host.startsWith("[") && host.endsWith("]"); // [::1]
        var address = new InetSocketAddress(bracketed ? host.substring(1, host.length() - 1) : host, port);
        if (address.isUnresolved()) return "cannot listen on " + host + ": no such host";
        try (var socket = new ServerSocket()) {
            socket.setReuseAddress(true); // as the HTTP server does: a port left in TIME_WAIT is free
            socket.bind(address);
            return null;
        } catch (BindException e) {
            // The system's own words: "Address already in use", or "Cannot assign requested address" for an address
            // of another machine.
            if (e.getMessage() != null && e.getMessage().contains("already in use"))
                return "port " + port + " on " + host + " is already in use: stop what listens there, or pick another"
                        + " --port";
            return "cannot listen on " + host + " port " + port + ": " + e.getMessage();
        } catch (IOException e) {
            return "cannot listen on " + host + " port " + port + ": " + e.getMessage();
        }
    }

    /** 0 as 0 and 2.5 as 2.5, not 0.0: a number of seconds as its option would be written. */
    private static String asGiven(double seconds) {
        return Double.isFinite(seconds)
                ? BigDecimal.valueOf(seconds).stripTrailingZeros().toPlainString()
                : String.valueOf(seconds);
    }

    private static boolean within(BigInteger value, long min, long max) {
        return value.compareTo(BigInteger.valueOf(min)) >= 0 && value.compareTo(BigInteger.valueOf(max)) <= 0;
    }

    /** What the start line says about who may use the server and where limits live. */
    private String access() {
        if (keys == null) {
            return loopback()
                    ? "no API keys: loopback use only"
                    : "no API keys: anyone who reaches " + host + " may use it";
        }
        String where = redis == null
                ? "limits in memory"
                : "limits shared in Redis at " + redis + (redisFailOpen ? ", failing open" : ", failing closed");
        return "API keys from " + keys + ", " + where;
    }
}
