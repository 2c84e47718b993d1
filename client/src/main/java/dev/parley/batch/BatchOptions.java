package dev.parley.batch;

import dev.parley.client.Sleeper;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Random;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * How a {@link BatchRunner} runs. Build with {@link #builder()}; every option has the default named on
 * its builder method, chosen to match OpenAI's {@code api_request_parallel_processor.py} where it has one.
 *
 * <p>{@code tokenEncoding} and {@code budget} are null when unset: each model is then counted with its
 * own encoding, and the budget is {@link Budget#local} over {@code limits}. {@code nanoTime},
 * {@code clock}, {@code sleeper} and {@code random} drive every wait and backoff, so tests need no real
 * time; they must be thread-safe.
 */
public record BatchOptions(
        Endpoint endpoint,
        BudgetLimits limits,
        int maxConcurrency,
        int maxAttempts,
        boolean keepOrder,
        Duration cooldown,
        Duration initialBackoff,
        Duration maxBackoff,
        String tokenEncoding,
        Budget budget,
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
        Objects.requireNonNull(cooldown, "cooldown");
        Objects.requireNonNull(initialBackoff, "initialBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        Objects.requireNonNull(nanoTime, "nanoTime");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(sleeper, "sleeper");
        Objects.requireNonNull(random, "random");
        Objects.requireNonNull(listener, "listener");
        if (maxConcurrency < 1) throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency);
        if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts must be >= 1, got " + maxAttempts);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The budget to spend: the one given, else a local one over {@code limits}. */
    Budget budgetOrLocal() {
        return budget != null ? budget : Budget.local(limits, nanoTime, sleeper);
    }

    /** Collects options; not thread-safe. */
    public static final class Builder {
        private Endpoint endpoint = Endpoint.AUTO;
        private BudgetLimits limits = BudgetLimits.defaults();
        private int maxConcurrency = DEFAULT_MAX_CONCURRENCY;
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private boolean keepOrder;
        private Duration cooldown = DEFAULT_COOLDOWN;
        private Duration initialBackoff = Duration.ofSeconds(1);
        private Duration maxBackoff = Duration.ofSeconds(60);
        private String tokenEncoding;
        private Budget budget;
        private LongSupplier nanoTime = System::nanoTime;
        private Clock clock = Clock.systemUTC();
        private Sleeper sleeper = Sleeper.REAL;
        private RandomGenerator random = new Random();
        private BatchListener listener = BatchListener.NONE;

        private Builder() {}

        /** Default {@link Endpoint#AUTO}: by each line's shape. */
        public Builder endpoint(Endpoint endpoint) { this.endpoint = endpoint; return this; }
        /** Default 1500 requests and 125,000 tokens per minute, 1 s burst. */
        public Builder limits(BudgetLimits limits) { this.limits = limits; return this; }
        /** Requests in flight at once, retries and their waits included; default 100. */
        public Builder maxConcurrency(int max) { this.maxConcurrency = max; return this; }
        /** Sends of one request before it is written as a failure; default 5. */
        public Builder maxAttempts(int max) { this.maxAttempts = max; return this; }
        /** Writes results in input order instead of as they finish; default off. */
        public Builder keepOrder(boolean keepOrder) { this.keepOrder = keepOrder; return this; }
        /** The pause after a 429 that does not say how long to wait; default 15 s. */
        public Builder cooldown(Duration cooldown) { this.cooldown = cooldown; return this; }
        /** The backoff before the first retry of a failure other than a 429 (full jitter); default 1 s. */
        public Builder initialBackoff(Duration backoff) { this.initialBackoff = backoff; return this; }
        /** The backoff's ceiling; default 60 s. */
        public Builder maxBackoff(Duration backoff) { this.maxBackoff = backoff; return this; }
        /** Counts every model's tokens with this encoding, e.g. {@code cl100k_base}; default each model's own. */
        public Builder tokenEncoding(String encoding) { this.tokenEncoding = encoding; return this; }
        /** A budget shared with others; default a local one over {@link #limits}. */
        public Builder budget(Budget budget) { this.budget = budget; return this; }
        public Builder nanoTime(LongSupplier nanoTime) { this.nanoTime = nanoTime; return this; }
        /** Dates {@code retry-after} HTTP-dates. */
        public Builder clock(Clock clock) { this.clock = clock; return this; }
        public Builder sleeper(Sleeper sleeper) { this.sleeper = sleeper; return this; }
        public Builder random(RandomGenerator random) { this.random = random; return this; }
        public Builder listener(BatchListener listener) { this.listener = listener; return this; }

        public BatchOptions build() {
            return new BatchOptions(endpoint, limits, maxConcurrency, maxAttempts, keepOrder, cooldown,
                    initialBackoff, maxBackoff, tokenEncoding, budget, nanoTime, clock, sleeper, random, listener);
        }
    }
}
