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
import dev.parley.server.engine.ModelCard;
import dev.parley.server.engine.Prepared;
import dev.parley.server.http.HttpApi;
import dev.parley.tokens.ChatPrompt;
import dev.parley.tokens.ModelCatalog;
import dev.parley.tokens.TokenCounter;
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
    /** The output reserved for a request that sets no cap of its own, unless configured otherwise. */
    public static final int DEFAULT_OUTPUT_RESERVE = 4096;

    /** Upstream headers a caller needs to pace itself after a 429: when to retry, and the upstream's budgets. */
    private static final List<String> PACING_HEADERS = List.of("retry-after", "retry-after-ms");

    private final ParleyClient upstream;
    private final Map<String, ModelCard> models;
    private final int outputReserve;

    private ProxyEngine(ParleyClient upstream, Map<String, ModelCard> models, int outputReserve) {
        this.upstream = upstream;
        this.models = models;
        this.outputReserve = outputReserve;
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
        if (outputReserve < 1)
            throw new IllegalArgumentException("the output reserve must be at least 1, got " + outputReserve);
        ParleyClient client =
                ParleyClient.create(options.toBuilder().maxRetries(0).build());
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
            return new ProxyEngine(client, cards, outputReserve);
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

    /**
     * What the answer may take, for every choice: the cap asked for, else the output reserve (no more than the
     * room the context leaves, when the context is known).
     */
    private long cap(ModelCard card, int prompt, Integer asked, int choices) {
        if (asked != null) return (long) asked * choices;
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
                    return start.get();
                } catch (ApiException e) {
                    // The upstream's status and error; of its headers, only those that pace a retry (the reply
                    // has its own request id and the caller's key's budgets).
                    if (e.status() != 429 && e.status() < 500) throw ApiException.of(e.status(), e.error());
                    throw ApiException.of(e.status(), e.error(), pacing(e.headers()));
                } catch (TransportException e) {
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
        upstream.close();
    }

    @Override
    public String toString() {
        return "ProxyEngine" + models.keySet();
    }
}
