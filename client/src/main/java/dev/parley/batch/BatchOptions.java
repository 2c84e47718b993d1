package dev.parley.batch;

import dev.parley.client.ClientOptions;
import dev.parley.client.Sleeper;
import dev.parley.tokens.TokenCounter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Random;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * How a {@link BatchRunner} runs. Build with {@link #builder()}; every option has the default named on
 * its builder method, chosen to match OpenAI's {@code api_request_parallel_processor.py} where it has one.
 *
 * <p>{@code tokenEncoding}, {@code budget}, {@code redis} and {@code budgetName} are null when unset: each
 * model is then counted with its own encoding, and the budget is the one given, else {@link Budget#redis}
 * over {@code limits} when {@code redis} is set (named {@code budgetName}, else after the base URL and API
 * key), else {@link Budget#local} over {@code limits}. {@code nanoTime},
 * {@code clock}, {@code sleeper} and {@code random} drive every wait and backoff, so tests need no real
 * time; they must be thread-safe.
 */
public record BatchOptions(
        Endpoint endpoint,
        BudgetLimits limits,
        int maxConcurrency,
        int maxAttempts,
        boolean keepOrder,
        ResultFormat resultFormat,
        boolean retryFailed,
        Duration cooldown,
        Duration initialBackoff,
        Duration maxBackoff,
        String tokenEncoding,
        Budget budget,
        URI redis,
        String budgetName,
        LongSupplier nanoTime,
        Clock clock,
        Sleeper sleeper,
        RandomGenerator random,
        BatchListener listener) {

    public static final int DEFAULT_MAX_ATTEMPTS = 5;
    public static final int DEFAULT_MAX_CONCURRENCY = 100;
    public static final Duration DEFAULT_COOLDOWN = Duration.ofSeconds(15);

    public BatchOptions {
        Objects.requireNonNull(endpoint, "endpoint");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(resultFormat, "resultFormat");
        Objects.requireNonNull(cooldown, "cooldown");
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        Objects.requireNonNull(nanoTime, "nanoTime");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(sleeper, "sleeper");
        Objects.requireNonNull(random, "random");
        Objects.requireNonNull(listener, "listener");
        if (maxConcurrency < 1)
            throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency);
        if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts must be >= 1, got " + maxAttempts);
        if (cooldown.isNegative()) throw new IllegalArgumentException("cooldown must not be negative, got " + cooldown);
        if (tokenEncoding != null) TokenCounter.forEncoding(tokenEncoding); // an unknown name fails here, not mid-run
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The budget to spend: the one given (the caller's to close), else a new one over {@code limits}, in
     * Redis or local (the runner's to close).
     */
    Budget openBudget(ClientOptions client) {
        if (budget != null) return budget;
        if (redis == null) return Budget.local(limits, nanoTime, sleeper);
        return Budget.redis(
                redis,
                budgetName != null ? budgetName : sharedName(client),
                limits,
                nanoTime,
                sleeper,
                listener::warning);
    }

    /**
     * Batches with the same API key at the same base URL spend the same limits, so they share a budget by
     * default; the name is a hash, so that the key is not written to Redis.
     */
    static String sharedName(ClientOptions client) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest((client.baseUrl() + "\n" + client.apiKey()).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** Collects options; not thread-safe. */
    public static final class Builder {
        private Endpoint endpoint = Endpoint.AUTO;
        private BudgetLimits limits = BudgetLimits.defaults();
        private int maxConcurrency = DEFAULT_MAX_CONCURRENCY;
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private boolean keepOrder;
        private ResultFormat resultFormat = ResultFormat.PARLEY;
        private boolean retryFailed;
        private Duration cooldown = DEFAULT_COOLDOWN;
        private Duration initialBackoff = Duration.ofSeconds(1);
        private Duration maxBackoff = Duration.ofSeconds(60);
        private String tokenEncoding;
        private Budget budget;
        private URI redis;
        private String budgetName;
        private LongSupplier nanoTime = System::nanoTime;
        private Clock clock = Clock.systemUTC();
        private Sleeper sleeper = Sleeper.REAL;
        private RandomGenerator random = new Random();
        private BatchListener listener = BatchListener.NONE;

        private Builder() {}

        /** Default {@link Endpoint#AUTO}: by each line's shape. */
        public Builder endpoint(Endpoint endpoint) {
            this.endpoint = endpoint;
            return this;
        }
        /** Default 1500 requests and 125,000 tokens per minute, 1 s burst. */
        public Builder limits(BudgetLimits limits) {
            this.limits = limits;
            return this;
        }
        /** Requests in flight at once, retries and their waits included; default 100. */
        public Builder maxConcurrency(int max) {
            this.maxConcurrency = max;
            return this;
        }
        /** Sends of one request before it is written as a failure; default 5. */
        public Builder maxAttempts(int max) {
            this.maxAttempts = max;
            return this;
        }
        /** Writes results in input order instead of as they finish; default off. */
        public Builder keepOrder(boolean keepOrder) {
            this.keepOrder = keepOrder;
            return this;
        }
        /** The shape of the results lines; default {@link ResultFormat#PARLEY}. */
        public Builder resultFormat(ResultFormat format) {
            this.resultFormat = format;
            return this;
        }
        /**
         * Sends again every line that an earlier run wrote as failed; default off: only those that failed on
         * errors that may pass on another try (a lost connection, 408, 409, 429, 5xx) are sent again, and
         * invalid lines are read again.
         */
        public Builder retryFailed(boolean retryFailed) {
            this.retryFailed = retryFailed;
            return this;
        }
        /** The pause after a 429 that does not say how long to wait; default 15 s. */
        public Builder cooldown(Duration cooldown) {
            this.cooldown = cooldown;
            return this;
        }
        /** The backoff before the first retry of a failure other than a 429 (full jitter); default 1 s. */
        public Builder initialBackoff(Duration backoff) {
            this.initialBackoff = backoff;
            return this;
        }
        /** The backoff's ceiling; default 60 s. */
        public Builder maxBackoff(Duration backoff) {
            this.maxBackoff = backoff;
            return this;
        }
        /** Counts every model's tokens with this encoding, e.g. {@code cl100k_base}; default each model's own. */
        public Builder tokenEncoding(String encoding) {
            this.tokenEncoding = encoding;
            return this;
        }
        /** A budget shared with others; default a local one over {@link #limits}. */
        public Builder budget(Budget budget) {
            this.budget = budget;
            return this;
        }
        /**
         * Shares the budget with every batch spending it through this Redis, e.g. {@code redis://host:6379}
         * (see {@link Budget#redis}); default none: the budget is this process's.
         */
        public Builder redis(URI redis) {
            this.redis = redis;
            return this;
        }
        /** The shared budget's name in Redis; default a hash of the base URL and API key. */
        public Builder budgetName(String name) {
            this.budgetName = name;
            return this;
        }

        public Builder nanoTime(LongSupplier nanoTime) {
            this.nanoTime = nanoTime;
            return this;
        }
        /** Dates {@code retry-after} HTTP-dates. */
        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        public Builder sleeper(Sleeper sleeper) {
            this.sleeper = sleeper;
            return this;
        }

        public Builder random(RandomGenerator random) {
            this.random = random;
            return this;
        }

        public Builder listener(BatchListener listener) {
            this.listener = listener;
            return this;
        }

        public BatchOptions build() {
            return new BatchOptions(
                    endpoint,
                    limits,
                    maxConcurrency,
                    maxAttempts,
                    keepOrder,
                    resultFormat,
                    retryFailed,
                    cooldown,
                    initialBackoff,
                    maxBackoff,
                    tokenEncoding,
                    budget,
                    redis,
                    budgetName,
                    nanoTime,
                    clock,
                    sleeper,
                    random,
                    listener);
        }
    }
}
