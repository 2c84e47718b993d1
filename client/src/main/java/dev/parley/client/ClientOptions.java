package dev.parley.client;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Random;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * How a {@link ParleyClient} connects and retries. Build with {@link #builder()}, which starts from
 * {@code OPENAI_BASE_URL} and {@code OPENAI_API_KEY}.
 *
 * <p>Retries: a request that fails with 408, 409, 429 (not {@code insufficient_quota}), a 5xx or a
 * connection failure is sent again up to {@code maxRetries} times (so {@code maxRetries + 1} attempts).
 * Before retry {@code n} (1, 2, …) the client waits what the server asked for ({@code retry-after-ms},
 * {@code retry-after}, or for a 429 the {@code x-ratelimit-reset-*} of the exhausted budget), else a random
 * exponential backoff drawn uniformly from {@code [minRetryDelay, clamp(initialRetryDelay × 2^(n−1),
 * minRetryDelay, maxRetryDelay)]} (full jitter when {@code minRetryDelay} is zero). Every wait is capped by
 * {@code maxRetryWait}. Tenacity's {@code wait_random_exponential(min=1, max=60)} with
 * {@code stop_after_attempt(6)} is {@code initialRetryDelay(1s).minRetryDelay(1s).maxRetryDelay(60s)
 * .maxRetries(5)}.
 *
 * <p>{@code apiKey}, {@code organization} and {@code project} are null when not set (no header is sent);
 * {@code usageCounter} counts streams the server sent no usage for ({@link UsageCounter#tiktoken()} by
 * default, null to leave them without); {@code pacer} is null when
 * requests are sent without pacing (see {@link Pacer}); {@code caCertificates} is null when the JDK's certificate
 * authorities are trusted, else a PEM file of those trusted instead. {@code clock} dates
 * {@code retry-after} HTTP-dates; {@code sleeper} and {@code random} drive the waits, so tests need no
 * real time. A client is shared by threads, so its sleeper, random and usage counter must be thread-safe
 * ({@link java.util.Random} is; {@link java.util.SplittableRandom} is not).
 */
public record ClientOptions(
        String baseUrl,
        String apiKey,
        String organization,
        String project,
        Duration connectTimeout,
        Duration timeout,
        Duration streamIdleTimeout,
        int maxRetries,
        Duration initialRetryDelay,
        Duration minRetryDelay,
        Duration maxRetryDelay,
        Duration maxRetryWait,
        Clock clock,
        Sleeper sleeper,
        RandomGenerator random,
        UsageCounter usageCounter,
        Pacer pacer,
        Path caCertificates) {

    public static final String DEFAULT_BASE_URL = "https://api.openai.com/v1";
    public static final int DEFAULT_MAX_RETRIES = 2;

    /**
     * The largest whole answer read from a server: 64 MiB, far beyond any real one; a server that sends more is
     * refused, not held in memory. (A stream's events are bounded by {@link dev.parley.sse.SseParser}.)
     */
    public static final int MAX_ANSWER_BYTES = 64 << 20;

    /** How much of an error body is read: its first 64 KiB say what it is. */
    public static final int MAX_ERROR_BYTES = 64 << 10;

    public ClientOptions {
        Objects.requireNonNull(baseUrl, "baseUrl");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(streamIdleTimeout, "streamIdleTimeout");
        if (streamIdleTimeout.isNegative())
            throw new IllegalArgumentException("streamIdleTimeout must not be negative, got " + streamIdleTimeout);
        Objects.requireNonNull(initialRetryDelay, "initialRetryDelay");
        Objects.requireNonNull(minRetryDelay, "minRetryDelay");
        Objects.requireNonNull(maxRetryDelay, "maxRetryDelay");
        Objects.requireNonNull(maxRetryWait, "maxRetryWait");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(sleeper, "sleeper");
        Objects.requireNonNull(random, "random");
        if (maxRetries < 0) throw new IllegalArgumentException("maxRetries must be >= 0, got " + maxRetries);
        if (minRetryDelay.compareTo(maxRetryDelay) > 0) {
            throw new IllegalArgumentException(
                    "minRetryDelay " + minRetryDelay + " exceeds maxRetryDelay " + maxRetryDelay);
        }
        while (baseUrl.endsWith("/")) baseUrl = baseUrl.substring(0, baseUrl.length() - 1);
    }

    /** Like the record's, with the API key left out, so options can be logged. */
    @Override
    public String toString() {
        return "ClientOptions[baseUrl=%s, apiKey=%s, organization=%s, project=%s, connectTimeout=%s, timeout=%s, streamIdleTimeout=%s, maxRetries=%d, initialRetryDelay=%s, minRetryDelay=%s, maxRetryDelay=%s, maxRetryWait=%s]"
                .formatted(
                        baseUrl,
                        apiKey == null ? null : "(set)",
                        organization,
                        project,
                        connectTimeout,
                        timeout,
                        streamIdleTimeout,
                        maxRetries,
                        initialRetryDelay,
                        minRetryDelay,
                        maxRetryDelay,
                        maxRetryWait);
    }

    /** Defaults from the process environment: {@code OPENAI_BASE_URL}, {@code OPENAI_API_KEY}. */
    public static Builder builder() {
        return builder(System::getenv);
    }

    /** Defaults from {@code env} (a variable lookup that answers null when unset). */
    public static Builder builder(Function<String, String> env) {
        return new Builder(env);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Collects options; not thread-safe. Unset options keep the defaults named on each method. */
    public static final class Builder {
        private String baseUrl;
        private String apiKey;
        private String organization;
        private String project;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration timeout = Duration.ofMinutes(10);
        private Duration streamIdleTimeout = Duration.ofMinutes(10);
        private int maxRetries = DEFAULT_MAX_RETRIES;
        private Duration initialRetryDelay = Duration.ofMillis(500);
        private Duration minRetryDelay = Duration.ZERO;
        private Duration maxRetryDelay = Duration.ofSeconds(8);
        private Duration maxRetryWait = Duration.ofSeconds(60);
        private Clock clock = Clock.systemUTC();
        private Sleeper sleeper = Sleeper.REAL;
        private RandomGenerator random = new Random();
        private UsageCounter usageCounter = UsageCounter.tiktoken();
        private Pacer pacer;
        private Path caCertificates;

        private Builder(Function<String, String> env) {
            String url = env.apply("OPENAI_BASE_URL");
            baseUrl = url == null || url.isBlank() ? DEFAULT_BASE_URL : url.strip();
            String key = env.apply("OPENAI_API_KEY");
            apiKey = key == null || key.isBlank() ? null : key.strip();
            organization = blankToNull(env.apply("OPENAI_ORG_ID"));
            project = blankToNull(env.apply("OPENAI_PROJECT_ID"));
        }

        private Builder(ClientOptions o) {
            baseUrl = o.baseUrl;
            apiKey = o.apiKey;
            organization = o.organization;
            project = o.project;
            connectTimeout = o.connectTimeout;
            timeout = o.timeout;
            streamIdleTimeout = o.streamIdleTimeout;
            maxRetries = o.maxRetries;
            initialRetryDelay = o.initialRetryDelay;
            minRetryDelay = o.minRetryDelay;
            maxRetryDelay = o.maxRetryDelay;
            maxRetryWait = o.maxRetryWait;
            clock = o.clock;
            sleeper = o.sleeper;
            random = o.random;
            usageCounter = o.usageCounter;
            pacer = o.pacer;
            caCertificates = o.caCertificates;
        }

        /** Up to and including the version path, e.g. {@code http://127.0.0.1:8080/v1}; default env or OpenAI. */
        public Builder baseUrl(String baseUrl) {
            this.baseUrl = baseUrl;
            return this;
        }
        /** Sent as {@code Authorization: Bearer …}; default {@code OPENAI_API_KEY}, none when null. */
        public Builder apiKey(String apiKey) {
            this.apiKey = apiKey;
            return this;
        }
        /** Sent as {@code OpenAI-Organization}; default {@code OPENAI_ORG_ID}. */
        public Builder organization(String organization) {
            this.organization = organization;
            return this;
        }
        /** Sent as {@code OpenAI-Project}; default {@code OPENAI_PROJECT_ID}. */
        public Builder project(String project) {
            this.project = project;
            return this;
        }
        /** Default 10 s. */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = timeout;
            return this;
        }
        /** Per attempt, until the response headers arrive; default 10 min. */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }
        /**
         * How long a stream may receive nothing (neither events nor a server's keep-alive comments) before it is given
         * up with {@link IncompleteStreamException}, as OpenAI's SDKs give up a read; zero: as long as it takes.
         * Default 10 min.
         */
        public Builder streamIdleTimeout(Duration timeout) {
            this.streamIdleTimeout = timeout;
            return this;
        }
        /** Default 2, as OpenAI's SDKs. */
        public Builder maxRetries(int maxRetries) {
            this.maxRetries = maxRetries;
            return this;
        }
        /** The backoff's first ceiling, doubled per retry; default 0.5 s. */
        public Builder initialRetryDelay(Duration delay) {
            this.initialRetryDelay = delay;
            return this;
        }
        /** The shortest backoff; default 0 (full jitter). */
        public Builder minRetryDelay(Duration delay) {
            this.minRetryDelay = delay;
            return this;
        }
        /** The backoff's largest ceiling; default 8 s. */
        public Builder maxRetryDelay(Duration delay) {
            this.maxRetryDelay = delay;
            return this;
        }
        /** The longest wait before a retry, also when the server asks for more; default 60 s. */
        public Builder maxRetryWait(Duration wait) {
            this.maxRetryWait = wait;
            return this;
        }

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

        public Builder usageCounter(UsageCounter counter) {
            this.usageCounter = counter;
            return this;
        }
        /** Shares one key's budget between threads and clients; default none. */
        public Builder pacer(Pacer pacer) {
            this.pacer = pacer;
            return this;
        }

        /**
         * Trust the certificates in this PEM file (a private certificate authority's, or a server's own self-signed
         * one) instead of the JDK's authorities; read when a client is created. Default: the JDK's. Not used by a
         * client given an {@code HttpClient} of your own.
         */
        public Builder caCertificates(Path pemFile) {
            this.caCertificates = pemFile;
            return this;
        }

        public ClientOptions build() {
            return new ClientOptions(
                    baseUrl,
                    apiKey,
                    organization,
                    project,
                    connectTimeout,
                    timeout,
                    streamIdleTimeout,
                    maxRetries,
                    initialRetryDelay,
                    minRetryDelay,
                    maxRetryDelay,
                    maxRetryWait,
                    clock,
                    sleeper,
                    random,
                    usageCounter,
                    pacer,
                    caCertificates);
        }

        private static String blankToNull(String value) {
            return value == null || value.isBlank() ? null : value.strip();
        }
    }
}
