package dev.parley.server.http;

import dev.parley.server.engine.Engine;
import dev.parley.server.engine.Health;
import dev.parley.server.limits.RateLimits;
import dev.parley.server.usage.UsageLedger;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The server's metrics, served by {@code GET /metrics} in Prometheus's text format: every request by route,
 * model, key name and status, its latency and time to first token, the tokens each key used per model,
 * 429s by limit type, the engine's slots, queue, decode batch sizes and milliseconds per token, the rate
 * limiter's outages, the usage ledger's failed flushes and the upstream's failures. Thread-safe.
 */
final class Metrics {
    /** Histogram buckets for request latency and time to first token. */
    private static final Duration[] BUCKETS = {
        Duration.ofMillis(5),
        Duration.ofMillis(10),
        Duration.ofMillis(25),
        Duration.ofMillis(50),
        Duration.ofMillis(100),
        Duration.ofMillis(250),
        Duration.ofMillis(500),
        Duration.ofSeconds(1),
        Duration.ofMillis(2500),
        Duration.ofSeconds(5),
        Duration.ofSeconds(10),
        Duration.ofSeconds(30),
        Duration.ofSeconds(60),
        Duration.ofSeconds(120)
    };

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    Metrics(Engine engine, RateLimits limits, UsageLedger ledger) {
        gauge(
                "parley.engine.up",
                engine,
                e -> e.health().ok() ? 1 : 0,
                "1 while the engine serves, 0 when it is wedged");
        if (engine.health().slots() != null) {
            gauge("parley.engine.slots", engine, e -> slots(e).total(), "Sequences the engine can generate at once");
            gauge("parley.engine.slots.busy", engine, e -> slots(e).busy(), "Sequences generating now");
            FunctionCounter.builder(
                            "parley.engine.prompt.cached.tokens",
                            engine,
                            e -> e.promptReuse().cachedTokens())
                    .description(
                            "Prompt tokens found in the KV cache (a slot's cells, or the prompt cache's) instead of"
                                    + " read")
                    .register(registry);
            FunctionCounter.builder(
                            "parley.engine.prompt.restored.tokens",
                            engine,
                            e -> e.promptReuse().restoredTokens())
                    .description("Prompt tokens of those loaded from the prompt cache in host memory (--cache-ram)")
                    .register(registry);
            gauge(
                    "parley.engine.prompt.cache.bytes",
                    engine,
                    e -> e.promptReuse().cacheBytes(),
                    "Bytes of KV cells the prompt cache holds in host memory");
            gauge(
                    "parley.engine.prompt.checkpoint.bytes",
                    engine,
                    e -> e.promptReuse().checkpointBytes(),
                    "Bytes of sliding-window cells and recurrent states kept in host memory where slots' prompts ended");
        }
        if (engine.health().replicas() != null) {
            gauge(
                    "parley.upstream.replicas",
                    engine,
                    e -> e.health().replicas().total(),
                    "Upstream replicas this server relays to");
            gauge(
                    "parley.upstream.replicas.healthy",
                    engine,
                    e -> e.health().replicas().healthy(),
                    "Upstream replicas in rotation (not resting after failures)");
        }
        if (engine.health().queue() != null) {
            gauge("parley.engine.queue.waiting", engine, e -> queue(e).waiting(), "Sequences waiting for a slot");
            gauge(
                    "parley.engine.queue.capacity",
                    engine,
                    e -> queue(e).capacity(),
                    "Sequences that may wait before 503");
        }
        DistributionSummary batch = DistributionSummary.builder("parley.engine.decode.batch")
                .description("Tokens decoded together in one step of the engine")
                .baseUnit("tokens")
                .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
                .register(registry);
        DistributionSummary perToken = DistributionSummary.builder("parley.engine.decode.per.token")
                .description("Milliseconds one decode step took per token it decoded")
                .baseUnit("milliseconds")
                .serviceLevelObjectives(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100)
                .register(registry);
        // Their total is the time the engine spent decoding: its rate is how busy the engine is, and a request's
        // time to first token less the decodes it waited for is what serving it cost besides the model.
        Timer decodes = Timer.builder("parley.engine.decode")
                .description("Decode steps of the engine and the time they took")
                .register(registry);
        engine.onDecode((tokens, nanos) -> {
            batch.record(tokens);
            perToken.record(nanos / 1e6 / tokens);
            decodes.record(nanos, TimeUnit.NANOSECONDS);
        });
        gauge(
                "parley.limiter.down",
                limits,
                l -> l.limiterDown() ? 1 : 0,
                "1 while the rate limiter (Redis) is unavailable");
        FunctionCounter.builder("parley.limiter.errors", limits, RateLimits::limiterErrors)
                .description("Calls that found the rate limiter (Redis) unavailable")
                .register(registry);
        FunctionCounter.builder("parley.usage.ledger.errors", ledger, UsageLedger::errors)
                .description("Flushes of the usage ledger that could not write or read its store (Redis, the data"
                        + " folder); the usage waits in memory for the next")
                .register(registry);
    }

    private static Health.Slots slots(Engine engine) {
        Health.Slots slots = engine.health().slots();
        return slots == null ? new Health.Slots(0, 0) : slots;
    }

    private static Health.Queue queue(Engine engine) {
        Health.Queue queue = engine.health().queue();
        return queue == null ? new Health.Queue(0, 0) : queue;
    }

    private <T> void gauge(String name, T source, ToDoubleFunction<T> value, String description) {
        Gauge.builder(name, source, value).description(description).register(registry);
    }

    /**
     * The meters of each series, registered once: building a meter's id and finding it in the registry for every
     * request took about 4% of a gateway's CPU per request. As many entries as the series themselves.
     */
    private final ConcurrentHashMap<Object, Object> meters = new ConcurrentHashMap<>();

    private record RequestSeries(String route, String method, String model, String key, int status) {}

    private record DurationSeries(String route, String model) {}

    private record FirstTokenSeries(String model) {}

    private record TokenSeries(boolean prompt, String key, String model) {}

    private record RateLimitedSeries(String limit, String key) {}

    private record UpstreamErrorSeries(int status) {}

    @SuppressWarnings("unchecked")
    private <M> M meter(Object series, Function<Object, M> register) {
        Object meter = meters.get(series);
        return (M) (meter != null ? meter : meters.computeIfAbsent(series, register));
    }

    /** Counts one finished request. */
    void record(Exchange exchange, String route, String method, int status, long nanos) {
        String model = exchange.model == null ? "" : exchange.model;
        String key = exchange.key == null ? "" : exchange.key;
        this.<Counter>meter(
                        new RequestSeries(route, method, model, key, status),
                        s -> Counter.builder("parley.requests")
                                .description("Requests answered, by route, model, key name and status")
                                .tags(
                                        "route",
                                        route,
                                        "method",
                                        method,
                                        "model",
                                        model,
                                        "key",
                                        key,
                                        "status",
                                        Integer.toString(status))
                                .register(registry))
                .increment();
        this.<Timer>meter(
                        new DurationSeries(route, model),
                        s -> Timer.builder("parley.request.duration")
                                .description("Time from a request's arrival to the end of its reply")
                                .tags("route", route, "model", model)
                                .serviceLevelObjectives(BUCKETS)
                                .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
        if (exchange.firstTokenNanos != 0) {
            this.<Timer>meter(
                            new FirstTokenSeries(model),
                            s -> Timer.builder("parley.time.to.first.token")
                                    .description("Time from a request's arrival to its first generated token")
                                    .tags("model", model)
                                    .serviceLevelObjectives(BUCKETS)
                                    .register(registry))
                    .record(exchange.firstTokenNanos - exchange.startNanos, TimeUnit.NANOSECONDS);
        }
        countTokens(true, key, model, exchange.promptTokens);
        countTokens(false, key, model, exchange.completionTokens);
        if (status == 429 && exchange.error != null) {
            String limit = String.valueOf(exchange.error.type());
            this.<Counter>meter(
                            new RateLimitedSeries(limit, key),
                            s -> Counter.builder("parley.rate.limited")
                                    .description(
                                            "Requests refused with 429, by the limit they hit (requests or tokens) and key name")
                                    .tags("limit", limit, "key", key)
                                    .register(registry))
                    .increment();
        }
        if (exchange.error != null && "upstream_error".equals(exchange.error.code())) {
            this.<Counter>meter(
                            new UpstreamErrorSeries(status),
                            s -> Counter.builder("parley.upstream.errors")
                                    .description("Requests the upstream provider could not answer")
                                    .tags("status", Integer.toString(status))
                                    .register(registry))
                    .increment();
        }
    }

    /** Adds a request's prompt (or completion) tokens to its key's and model's count, when it used any. */
    private void countTokens(boolean prompt, String key, String model, int tokens) {
        if (tokens <= 0) return;
        this.<Counter>meter(
                        new TokenSeries(prompt, key, model),
                        s -> Counter.builder(prompt ? "parley.prompt.tokens" : "parley.completion.tokens")
                                .description(
                                        prompt
                                                ? "Prompt tokens read, by key name and model"
                                                : "Completion tokens generated, by key name and model")
                                .tags("key", key, "model", model)
                                .register(registry))
                .increment(tokens);
    }

    /**
     * Every meter, in Prometheus's text exposition format, written on a platform thread of its own. The Prometheus
     * writer buffers through a {@code BufferedWriter}, which on a virtual thread (the request's) starts at 512 chars
     * and grows by each write's length, copying itself every time: 13 MB of garbage for a 4 KB scrape, measured, and
     * a server scraped often grew its heap to 600 MB on it. On a platform thread its buffer starts whole.
     */
    String scrape() throws InterruptedException {
        var scrape = new FutureTask<>(registry::scrape);
        Thread.ofPlatform().daemon().name("parley-metrics-scrape").start(scrape);
        try {
            return scrape.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException failure ? failure : new IllegalStateException(e.getCause());
        }
    }
}
