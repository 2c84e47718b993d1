package dev.parley.server.limits;

import io.lettuce.core.RedisException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Budgets in Redis: every call is one run of {@code limiter.lua}, which Redis executes atomically, so
 * replicas sharing a Redis share each key's buckets exactly. One connection, pipelined by Lettuce.
 *
 * <p>While Redis is unreachable, calls fail at once (commands are rejected, not queued) or within
 * {@link #TIMEOUT}; the connection reconnects every {@link #RECONNECT} until Redis answers again.
 */
final class RedisLimiter implements Limiter {
    static final Duration TIMEOUT = Duration.ofSeconds(1);
    static final Duration RECONNECT = Duration.ofMillis(200);
    private static final String SCRIPT = script();

    private static final Logger log = LoggerFactory.getLogger(RedisLimiter.class);

    private final URI uri;
    private final InstantSource clock;
    private final RedisClients redis;
    /** Null until Redis first answers (a limiter may start while Redis is down); then Lettuce reconnects it. */
    private volatile StatefulRedisConnection<String, String> connection;

    private volatile String sha;
    /** When the next first-connection attempt may run ({@link System#nanoTime}), so calls fail fast between. */
    private long nextAttempt;

    private RedisLimiter(URI uri, InstantSource clock, RedisClients redis) {
        this.uri = uri;
        this.clock = clock;
        this.redis = redis;
    }

    /**
     * A limiter on the Redis at {@code uri}. Unless {@code mayStartDown}, Redis must answer now; otherwise
     * a Redis that does not answer yet is connected later, at the first call after every {@link #RECONNECT}
     * (calls before then fail at once with {@link LimiterUnavailableException}).
     */
    static RedisLimiter connect(URI uri, InstantSource clock, boolean mayStartDown) {
        RedisLimiter limiter = new RedisLimiter(uri, clock, RedisClients.create(uri, RECONNECT, TIMEOUT));
        try {
            limiter.connection();
        } catch (LimiterUnavailableException e) {
            if (!mayStartDown) {
                limiter.close();
                throw e;
            }
            log.warn("{}; starting without it, and connecting once it answers", e.getMessage());
        }
        return limiter;
    }

    /** The connection, made now if there is none yet and the last attempt is old enough. */
    private StatefulRedisConnection<String, String> connection() {
        StatefulRedisConnection<String, String> current = connection;
        if (current != null) return current;
        synchronized (this) {
            if (connection != null) return connection;
            long now = System.nanoTime();
            if (nextAttempt != 0 && now - nextAttempt < 0) {
                throw new LimiterUnavailableException("Redis at " + uri + " has not answered yet", null);
            }
            try {
                StatefulRedisConnection<String, String> made = redis.client().connect();
                sha = made.sync().scriptLoad(SCRIPT);
                connection = made;
                if (nextAttempt != 0) log.info("Connected to Redis at {}", uri);
                return made;
            } catch (RedisException e) {
                nextAttempt = now + RECONNECT.toNanos();
                throw new LimiterUnavailableException("cannot reach Redis at " + uri + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public Decision admit(String key, Limits limits, long tokens) {
        List<Long> r = run(key, limits, "admit", tokens);
        Decision.Levels levels = levels(r);
        int outcome = r.get(0).intValue();
        if (outcome == 0) return new Decision.Admitted(levels);
        Limits.Budget budget = Rules.BUDGETS[r.get(1).intValue() - 1];
        if (outcome == 2) return new Decision.TooLarge(budget, tokens, levels);
        long requested = budget.countsRequests() ? 1 : tokens;
        return new Decision.Limited(budget, r.get(3), requested, Rules.micros(r.get(2)), levels);
    }

    @Override
    public Decision.Levels settle(String key, Limits limits, long unused) {
        return levels(run(key, limits, "settle", unused));
    }

    @Override
    public Decision.Levels peek(String key, Limits limits) {
        return levels(run(key, limits, "peek", 0));
    }

    private List<Long> run(String key, Limits limits, String op, long n) {
        // One hash tag per key keeps its four buckets in one slot, should the Redis be a cluster.
        String prefix = "parley:limits:{" + key + "}:";
        String[] keys = {prefix + "rpm", prefix + "tpm", prefix + "rpd", prefix + "tpd"};
        long now = ChronoUnit.MICROS.between(Instant.EPOCH, clock.instant());
        String[] args = {
            op,
            Long.toString(now),
            Long.toString(limits.of(Limits.Budget.RPM)),
            Long.toString(limits.of(Limits.Budget.TPM)),
            Long.toString(limits.of(Limits.Budget.RPD)),
            Long.toString(limits.of(Limits.Budget.TPD)),
            Long.toString(n)
        };
        RedisCommands<String, String> redis = connection().sync();
        try {
            try {
                return redis.evalsha(sha, ScriptOutputType.MULTI, keys, args);
            } catch (RedisNoScriptException e) {
                // A restarted Redis has forgotten the script; EVAL runs it and loads it again.
                return redis.eval(SCRIPT, ScriptOutputType.MULTI, keys, args);
            }
        } catch (RedisException e) {
            throw new LimiterUnavailableException("Redis at " + uri + " is unavailable: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean shared() {
        return true;
    }

    @Override
    public boolean reachable() {
        try {
            return "PONG".equals(connection().sync().ping());
        } catch (LimiterUnavailableException | RedisException e) {
            return false;
        }
    }

    private static Decision.Levels levels(List<Long> r) {
        return new Decision.Levels(r.get(4), r.get(5), Rules.reset(r.get(6)), Rules.reset(r.get(7)));
    }

    private static String script() {
        try (InputStream in = RedisLimiter.class.getResourceAsStream("limiter.lua")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        StatefulRedisConnection<String, String> current = connection;
        if (current != null) current.close();
        redis.close();
    }
}
