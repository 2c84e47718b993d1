package dev.parley.server.engine.proxy;

import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Model;
import dev.parley.api.Prompt;
import dev.parley.api.ServerException;
import dev.parley.api.StreamOptions;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.client.TransportException;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.Health;
import dev.parley.server.engine.ModelCard;
import dev.parley.server.engine.Prepared;
import dev.parley.server.http.HttpApi;
import dev.parley.tokens.ChatPrompt;
import dev.parley.tokens.ModelCatalog;
import dev.parley.tokens.TokenCounter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Serves the models of an upstream OpenAI-compatible provider. Every request goes upstream as a stream
 * that asks for usage, whatever the caller asked, so that text reaches the caller as it comes and usage
 * is the upstream's own count; the server's reply turns it back into JSON or chunks. Before anything is
 * sent, the prompt is counted with {@code dev.parley.tokens} (exact for OpenAI's models, an estimate for
 * others) so limits can be applied; upstream errors come back unchanged, with their status.
 *
 * <p>Thread-safe. {@link #close} closes the upstream client; generations still running fail.
 */
public final class ProxyEngine implements Engine {
    /** The output reserved for a request with no cap whose model's context is unknown. */
    static final int UNKNOWN_MODEL_OUTPUT = 4096;

    private final ParleyClient upstream;
    private final Map<String, ModelCard> models;
    /** How long a request that could not reach the upstream makes {@link #health} say so, unless one reaches it. */
    static final Duration UNREACHABLE_FOR = Duration.ofSeconds(10);

    /** {@link System#nanoTime} when a request last failed to reach the upstream, with no success since; or 0. */
    private volatile long unreachableAt;

    private ProxyEngine(ParleyClient upstream, Map<String, ModelCard> models) {
        this.upstream = upstream;
        this.models = models;
    }

    /**
     * Connects to an upstream provider and serves {@code onlyModels}, or, when empty, every model the
     * upstream lists at start.
     */
    public static ProxyEngine connect(ClientOptions options, List<String> onlyModels) {
        ParleyClient client = ParleyClient.create(options);
        try {
            List<Model> listed = onlyModels.isEmpty()
                    ? client.models().data()
                    : onlyModels.stream().map(id -> Model.of(id, 0, "upstream")).toList();
            Map<String, ModelCard> cards = listed.stream()
                    .collect(Collectors.toMap(
                            Model::id,
                            model -> new ModelCard(
                                    model.id(), model.created(), model.ownedBy(), contextWindow(model.id())),
                            (a, b) -> a,
                            LinkedHashMap::new));
            return new ProxyEngine(client, cards);
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    @Override
    public List<ModelCard> models() {
        return List.copyOf(models.values());
    }

    @Override
    public Prepared chat(ChatCompletionRequest request) {
        ModelCard card = require(request.model());
        TokenCounter counter = TokenCounter.forModel(request.model());
        int prompt = counter.count(ChatPrompt.of(request));
        long cap = cap(card, prompt, request.outputLimit(), request.choices());
        var upstreamRequest = request.toBuilder().stream(true)
                .streamOptions(StreamOptions.withUsage())
                .build();
        return prepared(
                prompt, cap, () -> ProxyGeneration.chat(upstream.stream(upstreamRequest), request, counter, prompt));
    }

    @Override
    public Prepared complete(CompletionRequest request) {
        ModelCard card = require(request.model());
        TokenCounter counter = TokenCounter.forModel(request.model());
        int prompt = switch (request.prompt()) {
            case Prompt.Texts(var texts) ->
                texts.stream().mapToInt(counter::count).sum();
            case Prompt.Tokens(var tokens) ->
                tokens.stream().mapToInt(List::size).sum();
        };
        int choices = request.choices() * request.prompt().size();
        long cap = cap(card, prompt, request.outputLimit(), choices);
        var upstreamRequest = new CompletionRequest(
                request.model(),
                request.prompt(),
                request.suffix(),
                request.maxTokens(),
                request.temperature(),
                request.topP(),
                request.n(),
                true,
                StreamOptions.withUsage(),
                request.logprobs(),
                request.echo(),
                request.stop(),
                request.presencePenalty(),
                request.frequencyPenalty(),
                request.bestOf(),
                request.logitBias(),
                request.seed(),
                request.user());
        return prepared(
                prompt,
                cap,
                () -> ProxyGeneration.completion(
                        upstream.streamCompletion(upstreamRequest), request, counter, prompt, choices));
    }

    private ModelCard require(String model) {
        ModelCard card = models.get(model);
        if (card == null) throw HttpApi.modelNotFound(model);
        return card;
    }

    /** What the answer may take: the cap asked for, for every choice, else the room the context leaves. */
    private static long cap(ModelCard card, int prompt, Integer asked, int choices) {
        if (asked != null) return (long) asked * choices;
        int room = card.contextLength() > prompt ? card.contextLength() - prompt : UNKNOWN_MODEL_OUTPUT;
        return (long) room * choices;
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
     * {@link #UNREACHABLE_FOR} has passed (so that a replica taken out of rotation comes back to try again).
     */
    @Override
    public Health health() {
        long at = unreachableAt;
        boolean down = at != 0 && System.nanoTime() - at < UNREACHABLE_FOR.toNanos();
        return down ? new Health(false, null, null) : Health.OK;
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
                    unreachableAt = 0; // it answered
                    // The upstream's status and error, without its headers: the reply has its own.
                    throw ApiException.of(e.status(), e.error());
                } catch (TransportException e) {
                    unreachableAt = Math.max(1, System.nanoTime());
                    throw new ServerException(
                            502,
                            new ApiError(
                                    "The upstream provider could not be reached: " + e.getMessage(),
                                    ApiError.SERVER_ERROR,
                                    null,
                                    "upstream_error"));
                }
            }
        };
    }

    @Override
    public void close() {
        upstream.close();
    }

    @Override
    public String toString() {
        return "ProxyEngine" + models.keySet();
    }
}
