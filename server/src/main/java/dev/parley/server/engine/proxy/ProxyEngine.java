package dev.parley.server.engine.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Json;
import dev.parley.api.Model;
import dev.parley.api.Prompt;
import dev.parley.api.RateLimitException;
import dev.parley.api.ServerException;
import dev.parley.api.StreamOptions;
import dev.parley.client.CaCertificates;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.client.TransportException;
import dev.parley.limits.RateLimitSnapshot;
import dev.parley.limits.RetryAfter;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.Health;
import dev.parley.server.engine.ModelCard;
import dev.parley.server.engine.Prepared;
import dev.parley.server.http.HttpApi;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import dev.parley.server.limits.Reservation;
import dev.parley.tokens.ChatPrompt;
import dev.parley.tokens.ModelCatalog;
import dev.parley.tokens.TokenCounter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Serves the models of an upstream OpenAI-compatible provider, relaying each request's JSON as the caller sent
 * it and the upstream's answer as it came, whole or streamed: every field passes both ways, whether or not Parley
 * models it. A stream always asks for usage (and the usage event is left out again for a caller who did not ask),
 * so the upstream's own count settles the caller's budget. Before anything is sent, the prompt is counted with
 * {@code dev.parley.tokens} (exact for OpenAI's models, an estimate for others) so limits can be applied;
 * upstream errors come back unchanged, with their status.
 *
 * <p>Thread-safe. {@link #close} closes the upstream connections; answers still being relayed fail.
 */
public final class ProxyEngine implements Engine {
    /** The output reserved for a request that sets no cap of its own, unless configured otherwise. */
    public static final int DEFAULT_OUTPUT_RESERVE = 4096;

    /** Upstream headers a caller needs to pace itself after a 429: when to retry, and the upstream's budgets. */
    private static final List<String> PACING_HEADERS = List.of("retry-after", "retry-after-ms");

    private final ClientOptions options;
    private final List<Replica> replicas;
    private final RateLimits replicaLimits; // the budgets configured for replicas themselves
    private final Thread healthChecks;
    private final HttpClient http; // https replicas
    private final PlainHttp plainHttp; // http replicas
    private final Map<String, ModelCard> models;
    private final int outputReserve;
    private final Map<String, Integer> modelReserves;
    private final Duration idleTimeout;

    /** How long a request that could not reach the upstream makes {@link #health} say so, unless one reaches it. */
    static final Duration UNREACHABLE_FOR = Duration.ofSeconds(10);

    /** {@link System#nanoTime} when a request last failed to reach the upstream, with no success since; or 0. */
    private volatile long unreachableAt;

    private ProxyEngine(ClientOptions options, List<Replica> replicas, Map<String, ModelCard> models, Fleet fleet) {
        this.options = options;
        this.replicas = replicas;
        this.replicaLimits = new RateLimits(Limiter.inMemory(options.clock()), false);
        var https = HttpClient.newBuilder().connectTimeout(options.connectTimeout());
        // A fleet behind a private authority's certificates: those are trusted, not the JDK's.
        if (options.caCertificates() != null) https.sslContext(CaCertificates.trusting(options.caCertificates()));
        this.http = https.build();
        this.plainHttp = new PlainHttp(options.connectTimeout());
        this.models = models;
        this.outputReserve = fleet.outputReserve();
        this.modelReserves = Map.copyOf(fleet.modelReserves());
        this.idleTimeout = fleet.idleTimeout();
        this.healthChecks = Thread.ofVirtual().name("parley-upstream-health").start(this::checkHealth);
    }

    /**
     * Connects to an upstream provider and serves {@code onlyModels}, or, when empty, every model the
     * upstream lists at start.
     */
    public static ProxyEngine connect(ClientOptions options, List<String> onlyModels) {
        return connect(options, onlyModels, DEFAULT_OUTPUT_RESERVE);
    }

    /**
     * As {@link #connect(ClientOptions, List)}; a request without {@code max_tokens} reserves its prompt plus
     * {@code outputReserve} tokens of its key's budget (at most what the context leaves) and is then settled to
     * what it really used, so a key whose tokens-per-minute limit is below a model's context can still call it.
     * Requests are never retried here: an upstream 429 or 5xx goes back to the caller at once, with the
     * upstream's {@code retry-after} and {@code x-ratelimit-*}, for the caller's own backoff to handle.
     */
    public static ProxyEngine connect(ClientOptions options, List<String> onlyModels, int outputReserve) {
        return connect(options, List.of(options.baseUrl()), onlyModels, outputReserve, DEFAULT_COOLDOWN);
    }

    /**
     * As {@link #connect(ClientOptions, List, int)}, over a fleet of replicas of one upstream (its base URLs; the
     * other options, key included, are the same for all).
     */
    public static ProxyEngine connect(
            ClientOptions options,
            List<String> baseUrls,
            List<String> onlyModels,
            int outputReserve,
            Duration cooldown) {
        return connect(
                options,
                new Fleet(
                        baseUrls.stream().map(UpstreamReplica::of).toList(),
                        onlyModels,
                        outputReserve,
                        Map.of(),
                        cooldown,
                        DEFAULT_IDLE_TIMEOUT));
    }

    /**
     * An upstream fleet as configured: its replicas; the models to serve (empty: every model the fleet lists at
     * start); the output reserved for a request without {@code max_tokens}, and per model where it differs; how
     * long a failing replica rests; how long a stream may pass no event once it has begun before it is ended.
     */
    public record Fleet(
            List<UpstreamReplica> replicas,
            List<String> models,
            int outputReserve,
            Map<String, Integer> modelReserves,
            Duration cooldown,
            Duration idleTimeout) {
        public Fleet {
            replicas = List.copyOf(replicas);
            models = List.copyOf(models);
            modelReserves = Map.copyOf(modelReserves);
            if (replicas.isEmpty()) throw new IllegalArgumentException("no upstream base URL");
            if (!idleTimeout.isPositive()) throw new IllegalArgumentException("the idle timeout must be positive");
            if (outputReserve < 1)
                throw new IllegalArgumentException("the output reserve must be at least 1, got " + outputReserve);
            modelReserves.forEach((model, reserve) -> {
                if (reserve < 1)
                    throw new IllegalArgumentException(
                            "the output reserve of " + model + " must be at least 1, got " + reserve);
            });
        }
    }

    /**
     * Serves {@code fleet} with {@code options} (the fleet's key, its timeouts: {@link ClientOptions#timeout()} is
     * how long an answer may take to begin). Each request goes to the healthy replica with the fewest requests
     * outstanding whose own budgets and rate-limit headers allow it; one that fails before it is answered (the
     * connection refused or reset, a 5xx, a timeout before the answer begins) moves to the next replica, never
     * after a byte of the answer reached the caller. Replicas that fail {@value Replica#FAILURES_TO_COOL} times in a
     * row rest for the fleet's cooldown, or until a health check ({@code GET /models}) gets an answer from them.
     */
    public static ProxyEngine connect(ClientOptions options, Fleet fleet) {
        List<Replica> replicas = fleet.replicas().stream()
                .map(replica -> new Replica(replica, options.clock(), fleet.cooldown()))
                .toList();
        List<Model> listed = fleet.models().isEmpty()
                ? listModels(options, replicas)
                : fleet.models().stream().map(id -> Model.of(id, 0, "upstream")).toList();
        Map<String, ModelCard> cards = listed.stream()
                .collect(Collectors.toMap(
                        Model::id,
                        model -> new ModelCard(model.id(), model.created(), model.ownedBy(), contextWindow(model.id())),
                        (a, b) -> a,
                        LinkedHashMap::new));
        return new ProxyEngine(options, replicas, cards, fleet);
    }

    /** How long a failing replica rests, unless a health check finds it answering sooner. */
    public static final Duration DEFAULT_COOLDOWN = Duration.ofSeconds(10);

    /**
     * How long a stream that has begun may pass no event before it is ended with an error: the read timeout of
     * OpenAI's SDKs, which a caller no longer reaches once the server's keep-alive comments reset it.
     */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(10);

    /** The models the first replica that answers lists; the model list comes through Parley's client. */
    private static List<Model> listModels(ClientOptions options, List<Replica> replicas) {
        RuntimeException failure = null;
        for (Replica replica : replicas) {
            var asked = options.toBuilder().baseUrl(replica.baseUrl).maxRetries(0);
            if (replica.apiKey != null) asked.apiKey(replica.apiKey);
            try (ParleyClient client = ParleyClient.create(asked.build())) {
                return client.models().data();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        throw failure;
    }

    /** Every second, asks each resting replica for its models; one that answers is back in rotation. */
    private void checkHealth() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            for (Replica replica : replicas) {
                if (!replica.cooling()) continue;
                try {
                    var answer = exchange(replica, "GET", "/models", null, Duration.ofSeconds(2));
                    try (InputStream body = answer.body()) {
                        body.transferTo(OutputStream.nullOutputStream());
                    }
                    if (answer.status() / 100 == 2) replica.answered();
                } catch (IOException e) {
                    // still resting
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    @Override
    public List<ModelCard> models() {
        return List.copyOf(models.values());
    }

    @Override
    public Prepared chat(ChatCompletionRequest request) {
        return chat(request, () -> Json.mapper().valueToTree(request));
    }

    /** Relays {@code body} as it came, every field Parley does not model included. */
    @Override
    public Prepared chat(ChatCompletionRequest request, Supplier<ObjectNode> body) {
        ModelCard card = require(request.model());
        TokenCounter counter = counter(request.model());
        int prompt = counter.count(ChatPrompt.of(request));
        long cap = cap(card, prompt, request.outputLimit(), request.choices());
        return relay(
                "/chat/completions",
                body,
                request.model(),
                request.streaming(),
                request.streamOptions(),
                counter,
                prompt,
                cap);
    }

    @Override
    public Prepared complete(CompletionRequest request) {
        return complete(request, () -> Json.mapper().valueToTree(request));
    }

    @Override
    public Prepared complete(CompletionRequest request, Supplier<ObjectNode> body) {
        ModelCard card = require(request.model());
        TokenCounter counter = counter(request.model());
        int prompt = switch (request.prompt()) {
            case Prompt.Texts(var texts) ->
                texts.stream().mapToInt(counter::count).sum();
            case Prompt.Tokens(var tokens) ->
                tokens.stream().mapToInt(List::size).sum();
        };
        int choices = request.choices() * request.prompt().size();
        long cap = cap(card, prompt, request.outputLimit(), choices);
        return relay(
                "/completions",
                body,
                request.model(),
                request.streaming(),
                request.streamOptions(),
                counter,
                prompt,
                cap);
    }

    /** Every request goes upstream: the Responses API's too, answered by the upstream itself. */
    @Override
    public boolean relays(String model) {
        return true;
    }

    /**
     * Embeddings and the Responses API, relayed as they come. The input is counted (as text, or as the token ids it
     * may already be) so the key's budget can admit it; a response reserves its {@code max_output_tokens} or the
     * output reserve; the upstream's usage settles both.
     */
    @Override
    public Prepared relay(String endpoint, String model, ObjectNode body) {
        return relay(endpoint, model, body, null);
    }

    @Override
    public Prepared relay(String endpoint, String model, ObjectNode body, String origin) {
        ModelCard card = require(model);
        TokenCounter counter = counter(model);
        int prompt = inputTokens(counter, body.get("input")) + inputTokens(counter, body.get("instructions"));
        JsonNode asked = body.get("max_output_tokens");
        long cap = endpoint.equals(RESPONSES)
                ? cap(card, prompt, asked != null && asked.canConvertToInt() ? asked.asInt() : null, 1)
                : 0;
        boolean streaming = body.path("stream").asBoolean(false);
        ObjectNode sent = body.deepCopy();
        Replica first = replicaAt(origin);
        return prepared(prompt, cap, () -> relayTo(endpoint, sent, model, prompt, cap, counter, streaming, first));
    }

    /** The replica whose base URL is {@code baseUrl}; null when none is (or it is null). */
    private Replica replicaAt(String baseUrl) {
        for (Replica replica : replicas) if (replica.baseUrl.equals(baseUrl)) return replica;
        return null;
    }

    /** Tokens of an input: text counted, token ids taken as they are, anything else by its JSON text. */
    private static int inputTokens(TokenCounter counter, JsonNode input) {
        // A body the server took holds fewer tokens than an int counts.
        return (int) Math.min(Integer.MAX_VALUE, counter.countInput(input));
    }

    /**
     * A request to relay: the body as the caller sent it, except that a stream always asks for usage (left out
     * again for a caller who did not ask), so that the upstream's own count settles the caller's budget.
     */
    private Prepared relay(
            String path,
            Supplier<ObjectNode> body,
            String model,
            boolean streaming,
            StreamOptions streamOptions,
            TokenCounter counter,
            int prompt,
            long cap) {
        ObjectNode sent = body.get().deepCopy();
        boolean usageAsked = streamOptions != null && Boolean.TRUE.equals(streamOptions.includeUsage());
        if (streaming) {
            ObjectNode options =
                    sent.get("stream_options") instanceof ObjectNode given ? given : sent.putObject("stream_options");
            options.put("include_usage", true);
        }
        return prepared(prompt, cap, () -> relayTo(path, sent, model, prompt, cap, counter, usageAsked, null));
    }

    /**
     * Sends a request and relays its answer, to {@code origin} first when it is not null. A Responses API request
     * that continues a response this fleet made ({@code previous_response_id}) goes to the replica that made it, the
     * only one that keeps it (given as {@code origin}, or remembered here); a response the request asks to keep is
     * remembered with its replica once its id has been read.
     */
    private Relay relayTo(
            String path,
            ObjectNode body,
            String model,
            int prompt,
            long cap,
            TokenCounter counter,
            boolean usageAsked,
            Replica origin) {
        boolean responses = path.equals(RESPONSES);
        Replica maker = origin != null || !responses
                ? origin
                : responseMakers.get(body.path("previous_response_id").asText(""));
        boolean kept = responses && body.path("store").asBoolean(true);
        Sent sent = send(path, body, model, prompt + cap, maker);
        String answeredBy = sent.replica().baseUrl;
        return new Relay(model, answeredBy, prompt, counter, usageAsked, idleTimeout, sent.body(), relay -> {
            sent.replica().outstanding.decrementAndGet();
            sent.held().settle((long) relay.promptTokens() + relay.completionTokens());
            if (kept && relay.id() != null) responseMakers.put(relay.id(), sent.replica());
        });
    }

    /** The replica at {@code origin}'s answer, a JSON object; its error as it gave it; 502 when it cannot be reached. */
    @Override
    public Optional<ObjectNode> askOrigin(String origin, String method, String path) {
        Replica replica = replicaAt(origin);
        if (replica == null) return Optional.empty();
        PlainHttp.Answer answer;
        try {
            answer = exchange(replica, method, path, method.equals("GET") ? null : "{}", options.timeout());
        } catch (IOException e) {
            throw unreachable(replica + ": " + TransportException.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unreachable("interrupted");
        }
        String text;
        boolean answered = answer.status() / 100 == 2;
        try (InputStream in = answer.body()) {
            byte[] bytes = in.readNBytes(answered ? ClientOptions.MAX_ANSWER_BYTES + 1 : ClientOptions.MAX_ERROR_BYTES);
            if (bytes.length > ClientOptions.MAX_ANSWER_BYTES)
                throw unreachable(replica + " answered " + path + " with more than 64 MiB");
            text = new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw unreachable(replica + ": " + TransportException.describe(e));
        }
        if (!answered) throw ApiException.of(answer.status(), upstreamError(answer.status(), text), answer.headers());
        try {
            if (Json.tree(text) instanceof ObjectNode object) return Optional.of(object);
        } catch (RuntimeException e) {
            // not JSON: below
        }
        throw unreachable(replica + " answered " + path + " with something other than a JSON object");
    }

    /** The most responses whose replica is remembered; the least recently used are forgotten first. */
    static final int REMEMBERED_RESPONSES = 100_000;

    /** The replica that made each response kept upstream, by its id. */
    private final Map<String, Replica> responseMakers =
            java.util.Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Replica> eldest) {
                    return size() > REMEMBERED_RESPONSES;
                }
            });

    /**
     * An answer on its way from a replica, which counts it as outstanding, and holds what it reserved of the
     * replica's own budgets, until the relay closes.
     */
    private record Sent(Replica replica, Reservation held, InputStream body) {}

    /**
     * Sends one request to the fleet: to {@code first} when it is not null, else to the healthy replica with the
     * fewest requests outstanding, and on to the next when one fails before answering. The answer's body of a 2xx;
     * else the upstream's error (a 4xx at once, the last failure when every replica failed) as an ApiException.
     */
    private Sent send(String path, ObjectNode body, String model, long estimate, Replica first) {
        String json = Json.write(body);
        ApiException last = null;
        for (Replica replica : rotation(first)) {
            Duration wait = replica.pacer.delay();
            if (!wait.isZero()) {
                last = upstreamSpent(wait);
                continue;
            }
            Reservation held;
            try {
                held = replica.limits == null
                        ? NOTHING_HELD
                        : replicaLimits.admit(replica.baseUrl, replica.limits, model, estimate);
            } catch (RateLimitException e) {
                last = RetryAfter.parse(e.headers(), options.clock().instant())
                        .<ApiException>map(ProxyEngine::upstreamSpent)
                        .orElseGet(ProxyEngine::tooLargeForUpstream);
                continue;
            }
            PlainHttp.Answer response;
            replica.outstanding.incrementAndGet();
            try {
                response = exchange(replica, "POST", path, json, options.timeout());
            } catch (IOException e) {
                replica.outstanding.decrementAndGet();
                held.settle(0);
                replica.failed();
                last = unreachable(replica + ": " + TransportException.describe(e));
                continue;
            } catch (InterruptedException e) {
                replica.outstanding.decrementAndGet();
                held.settle(0);
                Thread.currentThread().interrupt();
                throw unreachable("interrupted");
            }
            Map<String, List<String>> headers = response.headers();
            replica.pacer.observe(RateLimitSnapshot.parse(headers));
            int status = response.status();
            if (status == 429)
                RetryAfter.parse(headers, options.clock().instant()).ifPresent(replica.pacer::holdFor);
            if (status / 100 == 2) {
                replica.answered();
                return new Sent(replica, held, response.body());
            }
            replica.outstanding.decrementAndGet();
            held.settle(0);
            String text;
            try (InputStream in = response.body()) {
                text = new String(in.readNBytes(ClientOptions.MAX_ERROR_BYTES), StandardCharsets.UTF_8);
            } catch (IOException e) {
                text = "";
            }
            last = ApiException.of(status, upstreamError(status, text), headers);
            if (status < 500) throw last; // the caller's to fix, or the upstream's budget: no other replica helps
            replica.failed();
        }
        throw last;
    }

    /**
     * The replicas in the order to try them: {@code first} when it is not null, then healthy ones, fewest outstanding
     * first; then resting ones, as a last resort when no healthy one answers.
     */
    private List<Replica> rotation(Replica first) {
        if (replicas.size() == 1) return replicas; // nothing to order: the one replica, healthy or resting
        return replicas.stream()
                .sorted(java.util.Comparator.comparing((Replica r) -> r != first)
                        .thenComparing(r -> !r.healthy())
                        .thenComparingInt(r -> r.outstanding.get()))
                .toList();
    }

    private static final Reservation NOTHING_HELD = Reservation.none(RateLimitSnapshot.EMPTY);

    /**
     * One request to a replica (a JSON body, or none when null): over plain http on {@link PlainHttp}'s kept
     * connections, over https (HTTP/2 where the replica speaks it) with the JDK's client.
     */
    private PlainHttp.Answer exchange(Replica replica, String method, String path, String json, Duration timeout)
            throws IOException, InterruptedException {
        Map<String, String> headers = new LinkedHashMap<>();
        if (json != null) headers.put("Content-Type", "application/json");
        String key = replica.apiKey != null ? replica.apiKey : options.apiKey();
        if (key != null && !key.isBlank()) headers.put("Authorization", "Bearer " + key);
        if (options.organization() != null) headers.put("OpenAI-Organization", options.organization());
        if (options.project() != null) headers.put("OpenAI-Project", options.project());
        URI uri = URI.create(replica.baseUrl + path);
        if (replica.baseUrl.regionMatches(true, 0, "http:", 0, 5)) {
            byte[] body = json == null ? null : Json.utf8(json);
            return plainHttp.send(method, uri, headers, body, timeout);
        }
        var request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .method(
                        method,
                        json == null
                                ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofByteArray(Json.utf8(json)));
        headers.forEach(request::header);
        HttpResponse<InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        return new PlainHttp.Answer(response.statusCode(), response.headers().map(), response.body());
    }

    /**
     * A 429 for a request the upstream would refuse: its last answer said its budget is spent until a reset that
     * has not come, or its last 429 asked to wait. The caller gets the wait at once instead of a hidden one.
     */
    private static RateLimitException upstreamSpent(Duration wait) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        RetryAfter.toHeaders(wait).forEach((name, value) -> headers.put(name, List.of(value)));
        return new RateLimitException(
                new ApiError(
                        "The upstream provider's rate limit is reached. Please try again in %.3fs."
                                .formatted(wait.toMillis() / 1000.0),
                        "requests",
                        null,
                        "rate_limit_exceeded"),
                headers);
    }

    /** A 429 for a request larger than any replica's own budget could ever admit. */
    private static RateLimitException tooLargeForUpstream() {
        return new RateLimitException(new ApiError(
                "Request too large for the upstream provider's rate limit. The input or output tokens must be "
                        + "reduced in order to run successfully.",
                "tokens",
                null,
                "rate_limit_exceeded"));
    }

    /** The start of a body that is not what was expected, on one line, to quote in an error. */
    static String quoted(String body) {
        String line = body.strip().replaceAll("\\s+", " ");
        return line.length() > 200 ? line.substring(0, 200) + "…" : line;
    }

    /** The upstream's error object, or one that quotes what it said when it sent no OpenAI error. */
    private static ApiError upstreamError(int status, String body) {
        try {
            JsonNode error = Json.tree(body).get("error");
            if (error != null && error.isObject()) return Json.mapper().treeToValue(error, ApiError.class);
        } catch (RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
            // not JSON: quoted below
        }
        return new ApiError(
                "The upstream provider answered %d: %s".formatted(status, quoted(body)),
                status >= 500 ? ApiError.SERVER_ERROR : ApiError.INVALID_REQUEST,
                null,
                "upstream_error");
    }

    /** The upstream could not be reached: a 502, and the engine unhealthy for a while. */
    private ServerException unreachable(String why) {
        unreachableAt = Math.max(1, System.nanoTime());
        return new Unreachable(why);
    }

    private static final class Unreachable extends ServerException {
        Unreachable(String why) {
            super(
                    502,
                    new ApiError(
                            "The upstream provider could not be reached: " + why,
                            ApiError.SERVER_ERROR,
                            null,
                            "upstream_error"));
        }
    }

    /**
     * Each model's counter, made once (finding a model's encoding costs more than counting a short prompt), keeping
     * the counts of long texts: every turn of a conversation sends the earlier ones again.
     */
    private final Map<String, TokenCounter> counters = new java.util.concurrent.ConcurrentHashMap<>();

    /** The memory each model's counter may keep counts of recent texts in. */
    private static final long COUNT_MEMORY_BYTES = 8L << 20;

    private TokenCounter counter(String model) {
        return counters.computeIfAbsent(model, m -> TokenCounter.forModel(m).remembering(COUNT_MEMORY_BYTES));
    }

    private ModelCard require(String model) {
        ModelCard card = models.get(model);
        if (card == null) throw HttpApi.modelNotFound(model);
        return card;
    }

    /**
     * What the answer may take, for every choice: the cap asked for, else the output reserve (no more than the
     * room the context leaves, when the context is known).
     */
    private long cap(ModelCard card, int prompt, Integer asked, int choices) {
        if (asked != null) return (long) asked * choices;
        int outputReserve = modelReserves.getOrDefault(card.id(), this.outputReserve);
        int room = card.contextLength() > prompt ? card.contextLength() - prompt : outputReserve;
        return (long) Math.min(room, outputReserve) * choices;
    }

    private static int contextWindow(String model) {
        Integer window = ModelCatalog.standard()
                .find(model)
                .map(info -> info.contextWindow())
                .orElse(null);
        return window == null ? 0 : window;
    }

    /**
     * Unhealthy while the upstream cannot be reached: from a request that found so, until one reaches it or
     * {@link #UNREACHABLE_FOR} has passed (so that a replica taken out of rotation comes back to try again), or
     * while every replica rests after failures. Says how many replicas are in rotation.
     */
    @Override
    public Health health() {
        long at = unreachableAt;
        boolean down = at != 0 && System.nanoTime() - at < UNREACHABLE_FOR.toNanos();
        int healthy = (int) replicas.stream().filter(Replica::healthy).count();
        return new Health(!down && healthy > 0, null, null, new Health.Replicas(replicas.size(), healthy));
    }

    private Prepared prepared(int promptTokens, long completionCap, Supplier<Generation> start) {
        return new Prepared() {
            @Override
            public int promptTokens() {
                return promptTokens;
            }

            @Override
            public long completionCap() {
                return completionCap;
            }

            @Override
            public Generation start() {
                try {
                    Generation generation = start.get();
                    unreachableAt = 0;
                    return generation;
                } catch (ApiException e) {
                    if (e instanceof Unreachable) throw e; // unreachableAt is set
                    unreachableAt = 0; // it answered
                    // The upstream's status and error; of its headers, only those that pace a retry (the reply
                    // has its own request id and the caller's key's budgets).
                    if (e.status() != 429 && e.status() < 500) throw ApiException.of(e.status(), e.error());
                    throw ApiException.of(e.status(), e.error(), pacing(e.headers()));
                }
            }
        };
    }

    private static Map<String, List<String>> pacing(Map<String, List<String>> headers) {
        Map<String, List<String>> kept = new LinkedHashMap<>();
        headers.forEach((name, values) -> {
            String lower = name.toLowerCase(java.util.Locale.ROOT);
            if (PACING_HEADERS.contains(lower) || lower.startsWith("x-ratelimit-")) kept.put(lower, values);
        });
        return kept;
    }

    @Override
    public void close() {
        healthChecks.interrupt();
        // The server has stopped answering before its engine closes: an upstream exchange still open (a stream the
        // upstream holds open, a caller gone unnoticed) is for no one, and close() would wait for it forever.
        http.shutdownNow();
        plainHttp.close();
        replicaLimits.close();
    }

    @Override
    public String toString() {
        return "ProxyEngine" + models.keySet();
    }
}
