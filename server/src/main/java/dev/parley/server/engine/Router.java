package dev.parley.server.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiException;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.server.http.HttpApi;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Several engines behind one server: each model is served by one engine under its id and its aliases, and may
 * name fallbacks. A request is handed to its model's engine under the name that engine knows it by; when it fails
 * before its answer begins (a 5xx: the engine full, its upstream fleet unreachable or failing), it goes to the
 * model's fallbacks in order (their own fallbacks are not followed), and the caller sees the first answer or the
 * first error. A fallback that cannot take the request (its context is too small, say) is passed over. Nothing
 * is moved once an answer has begun.
 *
 * <p>Thread-safe. Closing closes every engine.
 */
public final class Router implements Engine {

    /**
     * One model: the id callers use, other names they may use for it, the engine that serves it, the name that
     * engine knows it by, and the models (ids or aliases) that take its requests when it fails before answering.
     */
    public record Route(String id, List<String> aliases, Engine engine, String engineModel, List<String> fallbacks) {
        public Route {
            aliases = List.copyOf(aliases);
            fallbacks = List.copyOf(fallbacks);
            if (id == null || id.isBlank()) throw new IllegalArgumentException("a model needs an id");
        }

        /** A model served by {@code engine} under its own id, with no aliases or fallbacks. */
        public static Route of(String id, Engine engine) {
            return new Route(id, List.of(), engine, id, List.of());
        }
    }

    private final Map<String, Route> byName; // ids and aliases
    private final List<ModelCard> cards;
    private final List<Engine> engines; // each once, in the order first named

    /**
     * Routes {@code routes}. Names (ids and aliases) are unique, each fallback names another model, and each engine
     * serves the model it is given for.
     *
     * @throws IllegalArgumentException when they are not; the engines are not closed then
     */
    public Router(List<Route> routes) {
        if (routes.isEmpty()) throw new IllegalArgumentException("no models to serve");
        Map<String, Route> names = new LinkedHashMap<>();
        Set<Engine> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Engine> engines = new ArrayList<>();
        List<ModelCard> cards = new ArrayList<>();
        for (Route route : routes) {
            ModelCard served = route.engine().models().stream()
                    .filter(card -> card.id().equals(route.engineModel()))
                    .findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(
                            "model %s: its engine serves no model %s".formatted(route.id(), route.engineModel())));
            List<String> own = new ArrayList<>();
            own.add(route.id());
            own.addAll(route.aliases());
            for (String name : own) {
                if (names.putIfAbsent(name, route) != null)
                    throw new IllegalArgumentException("two models are named " + name);
                cards.add(new ModelCard(name, served.created(), served.ownedBy(), served.contextLength()));
            }
            if (seen.add(route.engine())) engines.add(route.engine());
        }
        for (Route route : routes) {
            for (String fallback : route.fallbacks()) {
                Route to = names.get(fallback);
                if (to == null)
                    throw new IllegalArgumentException(
                            "model %s: its fallback %s is not a model served here".formatted(route.id(), fallback));
                if (to == route)
                    throw new IllegalArgumentException("model %s falls back to itself".formatted(route.id()));
            }
        }
        this.byName = names;
        this.cards = List.copyOf(cards);
        this.engines = List.copyOf(engines);
    }

    /** Every model by its id and by each of its aliases. */
    @Override
    public List<ModelCard> models() {
        return cards;
    }

    @Override
    public String canonical(String model) {
        Route route = byName.get(model);
        return route == null ? model : route.id();
    }

    @Override
    public Prepared chat(ChatCompletionRequest request) {
        return chat(request, null);
    }

    @Override
    public Prepared chat(ChatCompletionRequest request, Supplier<ObjectNode> body) {
        return routed(request.model(), route -> {
            ChatCompletionRequest renamed =
                    request.toBuilder().model(route.engineModel()).build();
            return body == null
                    ? route.engine().chat(renamed)
                    : route.engine().chat(renamed, renamed(body, route.engineModel()));
        });
    }

    @Override
    public Prepared complete(CompletionRequest request) {
        return complete(request, null);
    }

    @Override
    public Prepared complete(CompletionRequest request, Supplier<ObjectNode> body) {
        return routed(request.model(), route -> {
            CompletionRequest renamed = request.withModel(route.engineModel());
            return body == null
                    ? route.engine().complete(renamed)
                    : route.engine().complete(renamed, renamed(body, route.engineModel()));
        });
    }

    @Override
    public boolean relays(String model) {
        Route route = require(model);
        return route.engine().relays(route.engineModel());
    }

    @Override
    public Prepared relay(String endpoint, String model, ObjectNode body) {
        return relay(endpoint, model, body, null);
    }

    @Override
    public Optional<ObjectNode> askOrigin(String origin, String method, String path) {
        for (Engine engine : engines) {
            Optional<ObjectNode> answer = engine.askOrigin(origin, method, path);
            if (answer.isPresent()) return answer;
        }
        return Optional.empty();
    }

    @Override
    public Prepared relay(String endpoint, String model, ObjectNode body, String origin) {
        return routed(model, route -> {
            ObjectNode renamed = body.deepCopy();
            renamed.put("model", route.engineModel());
            return route.engine().relay(endpoint, route.engineModel(), renamed, origin);
        });
    }

    @Override
    public Prepared embed(String model, ObjectNode body) {
        return routed(model, route -> {
            ObjectNode renamed = body.deepCopy();
            renamed.put("model", route.engineModel());
            return route.engine().embed(route.engineModel(), renamed);
        });
    }

    @Override
    public Tokenized tokenize(String model, String text, boolean addSpecial) {
        Route route = require(model);
        return route.engine().tokenize(route.engineModel(), text, addSpecial);
    }

    @Override
    public Tokenized tokenize(ChatCompletionRequest request) {
        Route route = require(request.model());
        return route.engine()
                .tokenize(request.toBuilder().model(route.engineModel()).build());
    }

    @Override
    public String detokenize(String model, int[] ids) {
        Route route = require(model);
        return route.engine().detokenize(route.engineModel(), ids);
    }

    private Route require(String model) {
        Route route = byName.get(model);
        if (route == null) throw HttpApi.modelNotFound(model);
        return route;
    }

    /** The caller's JSON with {@code model} in place of the name it asked for. */
    private static Supplier<ObjectNode> renamed(Supplier<ObjectNode> body, String model) {
        return () -> {
            ObjectNode tree = body.get();
            tree.put("model", model);
            return tree;
        };
    }

    /**
     * The request prepared by its model's engine; when the model has fallbacks, starting it moves on to them
     * should it fail before answering. What the caller's budget is charged is the first model's estimate,
     * settled to what really ran.
     */
    private Prepared routed(String model, Function<Route, Prepared> prepare) {
        Route route = require(model);
        Prepared first = prepare.apply(route);
        if (route.fallbacks().isEmpty()) return first;
        return new Prepared() {
            @Override
            public int promptTokens() {
                return first.promptTokens();
            }

            @Override
            public long completionCap() {
                return first.completionCap();
            }

            @Override
            public Generation start() {
                try {
                    return first.start();
                } catch (ApiException failed) {
                    if (!beforeAnswer(failed)) throw failed;
                    for (String name : route.fallbacks()) {
                        try {
                            return prepare.apply(byName.get(name)).start();
                        } catch (ApiException also) {
                            failed.addSuppressed(also); // passed over: it failed too, or cannot take the request
                        }
                    }
                    throw failed;
                }
            }
        };
    }

    /** A failure of the serving side before the answer began, which another model may not share. */
    private static boolean beforeAnswer(ApiException e) {
        return e.status() >= 500;
    }

    /**
     * Serving while any engine is, naming the models of those that are not; slots, queues and replicas added up
     * over the engines that have them.
     */
    @Override
    public Health health() {
        boolean ok = false;
        Health.Slots slots = null;
        Health.Queue queue = null;
        Health.Replicas replicas = null;
        Set<Engine> down = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Engine engine : engines) {
            Health health = engine.health();
            ok |= health.ok();
            if (!health.ok()) down.add(engine);
            if (health.slots() != null)
                slots = slots == null
                        ? health.slots()
                        : new Health.Slots(
                                slots.total() + health.slots().total(),
                                slots.busy() + health.slots().busy(),
                                java.util.stream.Stream.concat(slots.each().stream(), health.slots().each().stream())
                                        .toList());
            if (health.queue() != null)
                queue = queue == null
                        ? health.queue()
                        : new Health.Queue(
                                queue.waiting() + health.queue().waiting(),
                                queue.capacity() + health.queue().capacity());
            if (health.replicas() != null)
                replicas = replicas == null
                        ? health.replicas()
                        : new Health.Replicas(
                                replicas.total() + health.replicas().total(),
                                replicas.healthy() + health.replicas().healthy());
        }
        List<String> modelsDown = byName.entrySet().stream()
                .filter(named -> named.getKey().equals(named.getValue().id()))
                .filter(named -> down.contains(named.getValue().engine()))
                .map(Map.Entry::getKey)
                .toList();
        return new Health(ok, slots, queue, replicas, modelsDown);
    }

    @Override
    public PromptReuse promptReuse() {
        PromptReuse all = PromptReuse.NONE;
        for (Engine engine : engines) all = all.plus(engine.promptReuse());
        return all;
    }

    @Override
    public void serving() {
        engines.forEach(Engine::serving);
    }

    @Override
    public void onDecode(DecodeListener listener) {
        engines.forEach(engine -> engine.onDecode(listener));
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (Engine engine : engines) {
            try {
                engine.close();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }

    @Override
    public String toString() {
        return "Router" + byName.keySet();
    }
}
