package dev.parley.server.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.client.ClientOptions;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.ModelCard;
import dev.parley.server.engine.Router;
import dev.parley.server.engine.llama.KvCacheType;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.engine.proxy.ProxyEngine;
import dev.parley.server.engine.proxy.UpstreamReplica;
import dev.parley.server.limits.Limits;
import dev.parley.server.usage.Price;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A configuration file as written ({@link ConfigFile} reads and checks it): the server's options, where its keys and
 * limits live, the llama.cpp build for its local models, the local models, and the upstream fleets with the models
 * served from each. Every part is optional but that at least one model is served. Paths are as resolved by
 * {@link ConfigFile} (relative to the file's folder).
 */
public record ServerConfig(
        Server server, String keys, Redis redis, Llama llama, List<LocalModel> models, List<Upstream> upstreams) {

    public ServerConfig {
        models = models == null ? List.of() : List.copyOf(models);
        upstreams = upstreams == null ? List.of() : List.copyOf(upstreams);
    }

    /** Where and how the HTTP server runs; null fields keep their defaults (or the command line's). */
    public record Server(
            String host,
            Integer port,
            List<String> corsOrigins,
            String dataDir,
            Long shutdownTimeout,
            String logFormat,
            Double sseKeepalive,
            String tlsCert,
            String tlsKey,
            Long keepResponses) {}

    /** The Redis that keeps the keys' limits, shared by every replica using it. */
    public record Redis(String url, Boolean failOpen) {}

    /** Another build of llama.cpp for the local models ({@code --llama-lib}), or a GPU build to fetch. */
    public record Llama(String lib, String variant) {}

    /**
     * A GGUF model run here: its id, its file, other names for it, how it runs (null: the defaults of
     * {@code parley serve}) and the models that take its requests when it cannot.
     */
    public record LocalModel(
            String id,
            String file,
            List<String> aliases,
            Integer parallel,
            Integer context,
            Integer threads,
            KvCacheType kvCache,
            Integer queue,
            Integer gpuLayers,
            Boolean embeddings,
            Integer cacheRamMb,
            Boolean swaFull,
            JsonNode chatTemplateKwargs,
            Price price,
            List<String> fallbacks) {
        public LocalModel {
            aliases = aliases == null ? List.of() : List.copyOf(aliases);
            fallbacks = fallbacks == null ? List.of() : List.copyOf(fallbacks);
        }
    }

    /**
     * A fleet of replicas of one OpenAI-compatible upstream: its replicas, the key they take (a replica may have
     * its own), how long an answer may take to begin before the request moves to the next replica, how long a
     * stream that has begun may pass no event, how long a failing replica rests, the output reserved for requests without {@code max_tokens}, and the models served
     * from it (absent: every model it lists at start, under its own ids).
     */
    public record Upstream(
            String name,
            List<Replica> baseUrls,
            String apiKey,
            Double firstByteTimeout,
            Double connectTimeout,
            Double idleTimeout,
            Double cooldown,
            Integer outputReserve,
            List<UpstreamModel> models,
            String caCert) {
        public Upstream {
            baseUrls = baseUrls == null ? List.of() : List.copyOf(baseUrls);
        }
    }

    /** One replica: a base URL alone, or with its own key and its own requests and tokens per minute. */
    public record Replica(String url, String apiKey, Long rpm, Long tpm) {
        @JsonCreator
        public Replica {}

        @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
        public static Replica of(String url) {
            return new Replica(url, null, null, null);
        }
    }

    /**
     * A model served from an upstream: its id here, its id there (absent: the same), other names for it, its
     * fallbacks, and its own output reserve.
     */
    public record UpstreamModel(
            String id,
            String upstreamId,
            List<String> aliases,
            List<String> fallbacks,
            Integer outputReserve,
            Price price) {
        public UpstreamModel {
            aliases = aliases == null ? List.of() : List.copyOf(aliases);
            fallbacks = fallbacks == null ? List.of() : List.copyOf(fallbacks);
        }

        String servedAs() {
            return upstreamId == null ? id : upstreamId;
        }
    }

    /** The prices of the models that have one, by id (USD per million input and output tokens). */
    public Map<String, Price> prices() {
        Map<String, Price> prices = new java.util.LinkedHashMap<>();
        for (LocalModel model : models) if (model.price() != null) prices.put(model.id(), model.price());
        for (Upstream upstream : upstreams) {
            if (upstream.models() == null) continue;
            for (UpstreamModel model : upstream.models())
                if (model.price() != null) prices.put(model.id(), model.price());
        }
        return prices;
    }

    /**
     * Opens every model the file describes behind one {@link Router}: the local models first (the llama.cpp build
     * set up once, from {@link #llama}), then each fleet (whose models, when none are listed, are those it lists at
     * start). Whatever opened is closed again when something fails.
     *
     * @throws IllegalArgumentException (or a failure of llama.cpp or an upstream) naming what could not be opened
     */
    public Engine openEngine() {
        List<Engine> opened = new ArrayList<>();
        try {
            List<Router.Route> routes = new ArrayList<>();
            if (!models.isEmpty() && llama != null)
                LlamaEngine.useLibrary(llama.lib() == null ? null : Path.of(llama.lib()), llama.variant());
            for (LocalModel model : models) {
                Engine engine = LlamaEngine.open(localOptions(model));
                opened.add(engine);
                routes.add(new Router.Route(model.id(), model.aliases(), engine, model.id(), model.fallbacks()));
            }
            for (Upstream upstream : upstreams) {
                ProxyEngine engine = ProxyEngine.connect(clientOptions(upstream), fleet(upstream));
                opened.add(engine);
                if (upstream.models() == null) {
                    for (ModelCard card : engine.models()) routes.add(Router.Route.of(card.id(), engine));
                } else {
                    for (UpstreamModel model : upstream.models()) {
                        routes.add(new Router.Route(
                                model.id(), model.aliases(), engine, model.servedAs(), model.fallbacks()));
                    }
                }
            }
            return new Router(routes);
        } catch (RuntimeException e) {
            for (Engine engine : opened) {
                try {
                    engine.close();
                } catch (RuntimeException also) {
                    e.addSuppressed(also);
                }
            }
            throw e;
        }
    }

    private static LlamaEngineOptions localOptions(LocalModel model) {
        return new LlamaEngineOptions(
                Path.of(model.file()),
                model.id(),
                orElse(model.parallel(), LlamaEngineOptions.DEFAULT_PARALLEL),
                orElse(model.context(), 0),
                orElse(model.threads(), 0),
                model.kvCache() == null ? KvCacheType.F16 : model.kvCache(),
                orElse(model.queue(), LlamaEngineOptions.DEFAULT_QUEUE),
                orElse(model.gpuLayers(), -1),
                Boolean.TRUE.equals(model.embeddings()),
                orElse(model.cacheRamMb(), 0),
                Boolean.TRUE.equals(model.swaFull()),
                model.chatTemplateKwargs());
    }

    private static ClientOptions clientOptions(Upstream upstream) {
        var options = ClientOptions.builder(name -> null)
                .baseUrl(upstream.baseUrls().getFirst().url());
        if (upstream.apiKey() != null && !upstream.apiKey().isBlank()) options.apiKey(upstream.apiKey());
        if (upstream.firstByteTimeout() != null) options.timeout(seconds(upstream.firstByteTimeout()));
        if (upstream.connectTimeout() != null) options.connectTimeout(seconds(upstream.connectTimeout()));
        if (upstream.caCert() != null) options.caCertificates(Path.of(upstream.caCert()));
        return options.build();
    }

    private static ProxyEngine.Fleet fleet(Upstream upstream) {
        List<UpstreamReplica> replicas = upstream.baseUrls().stream()
                .map(replica -> new UpstreamReplica(
                        replica.url(),
                        replica.apiKey(),
                        replica.rpm() == null ? null : Limits.perMinute(replica.rpm(), replica.tpm())))
                .toList();
        List<String> served = upstream.models() == null
                ? List.of()
                : upstream.models().stream()
                        .map(UpstreamModel::servedAs)
                        .distinct()
                        .toList();
        Map<String, Integer> reserves = new HashMap<>();
        if (upstream.models() != null) {
            for (UpstreamModel model : upstream.models()) {
                if (model.outputReserve() != null) reserves.put(model.servedAs(), model.outputReserve());
            }
        }
        return new ProxyEngine.Fleet(
                replicas,
                served,
                orElse(upstream.outputReserve(), ProxyEngine.DEFAULT_OUTPUT_RESERVE),
                reserves,
                upstream.cooldown() == null ? ProxyEngine.DEFAULT_COOLDOWN : seconds(upstream.cooldown()),
                upstream.idleTimeout() == null ? ProxyEngine.DEFAULT_IDLE_TIMEOUT : seconds(upstream.idleTimeout()));
    }

    static Duration seconds(double seconds) {
        return Duration.ofMillis(Math.round(seconds * 1000));
    }

    private static int orElse(Integer value, int otherwise) {
        return value == null ? otherwise : value;
    }
}
