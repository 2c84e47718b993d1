package dev.parley.batch;

import dev.parley.client.Sleeper;
import dev.parley.limits.RateLimitSnapshot;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * {@link Budget} in Redis, one for every batch process on any machine that names the same budget on the
 * same Redis: each call is one run of {@code budget.lua}, which Redis executes atomically (acquiring,
 * settling against usage, following headers down, keeping the state of following them up, pausing after a
 * 429), on Redis's own clock.
 *
 * <p>Following headers up is the local budget's rule, {@link Bucket#lift}, applied to the shared level:
 * {@link #observe} reads the level and the following state from Redis as it lowers the level, decides the
 * lift here, and a second call applies it unless another process lifted in between. A 429 anywhere ends
 * following for every process ({@link #pauseFor}). What other processes have in flight is not known here;
 * the burst that stays with the server covers it.
 *
 * <p>While Redis is unreachable nothing is sent and nothing is lost: {@link #acquire} waits and tries again
 * every {@link #RETRY} until Redis answers, and the run goes on from where it was. Requests already sent
 * finish; their settlements are kept here and applied with the next call that reaches Redis, and a pause
 * after a 429 is held here meanwhile. The outage and the recovery are each reported once.
 *
 * <p>{@link #usage} is this process's share: what it spent, over what the shared limits offered since its
 * first request. Thread-safe; close it to drop the connection.
 */
final class RedisBudget implements Budget {
    static final Duration RETRY = Duration.ofSeconds(1);
    static final Duration TIMEOUT = Duration.ofSeconds(2);
    private static final String SCRIPT = script();

    private final URI uri;
    private final String where;
    private final String[] keys;
    private final BudgetLimits limits;
    private final LongSupplier clock;
    private final Sleeper sleeper;
    private final Consumer<String> warnings;
    private final ClientResources resources;
    private final RedisClient client;
    /** Tokens to give back (negative: to charge) whose settlement could not reach Redis yet. */
    private final AtomicLong owed = new AtomicLong();

    /** Permits acquired and not yet settled, as {@link LocalBudget} counts them. */
    private final AtomicLong outstandingRequests = new AtomicLong();

    private final AtomicLong outstandingTokens = new AtomicLong();
    /** Microseconds on a clock to use instead of Redis's, for tests; null for Redis's TIME. */
    private final LongSupplier sharedMicros;

    private final AtomicBoolean down = new AtomicBoolean();
    private final ReentrantLock lock = new ReentrantLock();
    // Guarded by lock: the connection, made on first use and again after a failed first connect, and this
    // process's accounting (spent and offered; the buckets' levels are Redis's).
    private StatefulRedisConnection<String, String> connection;
    private String sha;
    private Bucket requests;
    private Bucket tokens;
    private volatile long pausedUntil;

    RedisBudget(
            URI uri, String name, BudgetLimits limits, LongSupplier clock, Sleeper sleeper, Consumer<String> warnings) {
        this(uri, name, limits, clock, sleeper, warnings, null);
    }

    /** With {@code sharedMicros} as the shared clock instead of Redis's, so that tests can step it. */
    RedisBudget(
            URI uri,
            String name,
            BudgetLimits limits,
            LongSupplier clock,
            Sleeper sleeper,
            Consumer<String> warnings,
            LongSupplier sharedMicros) {
        this.uri = uri;
        this.sharedMicros = sharedMicros;
        this.where = uri.getHost() + ":" + uri.getPort(); // never the password a URI may hold
        // One hash tag keeps the three keys in one slot, should the Redis be a cluster.
        String prefix = "parley:batch:{" + name + "}:";
        this.keys = new String[] {prefix + "requests", prefix + "tokens", prefix + "pause", prefix + "follow"};
        this.limits = limits;
        this.clock = clock;
        this.sleeper = sleeper;
        this.warnings = warnings;
        this.pausedUntil = clock.getAsLong();
        this.resources = ClientResources.builder()
                .reconnectDelay(Delay.constant(Duration.ofMillis(200)))
                .build();
        RedisURI redisUri = RedisURI.create(uri);
        redisUri.setTimeout(TIMEOUT);
        this.client = RedisClient.create(resources, redisUri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(TIMEOUT))
                .build());
    }

    @Override
    public Permit acquire(long cost) throws InterruptedException {
        while (true) {
            long paused = pausedUntil - clock.getAsLong();
            if (paused > 0) {
                sleeper.sleep(Duration.ofNanos(paused));
                continue;
            }
            List<Object> answer = run("acquire", Long.toString(cost));
            if (answer == null) {
                sleeper.sleep(RETRY); // Redis is away: wait, lose nothing
            } else if ((Long) answer.get(0) == 1) {
                account(() -> {
                    requests.take(1, now());
                    tokens.take(cost, now());
                });
                outstandingRequests.incrementAndGet();
                outstandingTokens.addAndGet(cost);
                return used -> settle(cost, used);
            } else {
                sleeper.sleep(Duration.ofNanos((Long) answer.get(1) * 1000));
            }
        }
    }

    private void settle(long estimate, long used) {
        outstandingRequests.decrementAndGet();
        outstandingTokens.addAndGet(-estimate);
        account(() -> tokens.adjust(estimate - used, now()));
        owed.addAndGet(estimate - used);
        run("settle"); // else the next call that reaches Redis settles
    }

    @Override
    public void observe(RateLimitSnapshot snapshot, Duration latency) {
        account(() -> {
            if (snapshot.limitRequests() != null) requests.lowerLimit(snapshot.limitRequests(), now());
            if (snapshot.limitTokens() != null) tokens.lowerLimit(snapshot.limitTokens(), now());
        });
        if (snapshot.remainingRequests() == null && snapshot.remainingTokens() == null) return;
        long age = latency.toNanos() / 1000;
        // Read before the call: a permit settled meanwhile only makes the lift smaller.
        long[] inFlight = {outstandingRequests.get(), outstandingTokens.get()};
        List<Object> state = run(
                "observe",
                remaining(snapshot.remainingRequests()),
                remaining(snapshot.remainingTokens()),
                Long.toString(age));
        if (state == null) return; // advice: lost while Redis is away
        followUp(state, new Long[] {snapshot.remainingRequests(), snapshot.remainingTokens()}, inFlight, age);
    }

    /**
     * And up, by the local budget's rule ({@link Bucket#lift}) decided on the shared buckets as {@code observe}
     * answered them: what the server has left beyond one burst is there to spend, less what is in flight. A
     * lift applies only if no other process lifted the bucket in between.
     */
    private void followUp(List<Object> state, Long[] remaining, long[] inFlight, long age) {
        long sent = Long.parseLong((String) state.get(2)) - age;
        String[] args = new String[6];
        double[] lifts = new double[2];
        for (int i = 0; i < 2; i++) {
            Shared bucket = Shared.read(state, 3 + 4 * i);
            if (remaining[i] != null && bucket != null)
                lifts[i] = Math.max(0, bucket.lift(remaining[i] - inFlight[i], sent));
            args[3 * i] = Double.toString(lifts[i]);
            args[3 * i + 1] = bucket == null ? "" : bucket.lifted();
            args[3 * i + 2] = Double.toString(bucket == null ? 0 : Bucket.nextStep(bucket.step()));
        }
        if (lifts[0] <= 0 && lifts[1] <= 0) return;
        List<Object> applied = run("lift", args);
        if (applied == null) return;
        account(() -> {
            if ((Long) applied.get(2) == 1) requests.offer(lifts[0]);
            if ((Long) applied.get(3) == 1) tokens.offer(lifts[1]);
        });
    }

    /**
     * A shared bucket as {@code observe} answers it: its level, capacity and next step, and when it was last
     * lifted (in Redis's microseconds, as the text stored there, empty for never).
     */
    private record Shared(double level, double capacity, double step, String lifted) {
        /** The bucket whose four values start at {@code at}; null for an unlimited one. */
        static Shared read(List<Object> state, int at) {
            String level = (String) state.get(at);
            if (level.isEmpty()) return null;
            double capacity = Double.parseDouble((String) state.get(at + 1));
            String step = (String) state.get(at + 2);
            return new Shared(
                    Double.parseDouble(level),
                    capacity,
                    step.isEmpty() ? capacity : Double.parseDouble(step), // never lifted: one burst
                    (String) state.get(at + 3));
        }

        double lift(double serverAvailable, long sent) {
            long last = lifted.isEmpty() ? Long.MIN_VALUE : (long) Double.parseDouble(lifted);
            return Bucket.lift(level, capacity, step, last, serverAvailable, sent);
        }
    }

    @Override
    public void pauseFor(Duration wait) {
        if (run("pause", Long.toString(wait.toNanos() / 1000)) == null) {
            long until = clock.getAsLong() + wait.toNanos();
            if (until - pausedUntil > 0) pausedUntil = until; // held here while Redis is away
        }
    }

    @Override
    public Usage usage() {
        lock.lock();
        try {
            start();
            long now = now();
            return new Usage(
                    requests.spent(),
                    requests.unlimited() ? Double.POSITIVE_INFINITY : requests.offered(now),
                    tokens.spent(),
                    tokens.unlimited() ? Double.POSITIVE_INFINITY : tokens.offered(now),
                    requests.perMinute(),
                    tokens.perMinute());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs the script once with this process's current limits and whatever settlement is owed; answers null
     * when Redis cannot be reached, the owed tokens then kept for the next call.
     */
    private List<Object> run(String op, String... more) {
        long giveBack = owed.getAndSet(0);
        String[] args = new String[6 + more.length];
        double[] rates = rates();
        args[0] = op;
        args[1] = rate(rates[0]);
        args[2] = rate(rates[1]);
        args[3] = Long.toString(limits.burst().toNanos() / 1000);
        args[4] = Long.toString(giveBack);
        args[5] = sharedMicros == null ? "" : Long.toString(sharedMicros.getAsLong());
        System.arraycopy(more, 0, args, 6, more.length);
        try {
            RedisCommands<String, String> redis = connect();
            List<Object> answer;
            try {
                answer = redis.evalsha(sha, ScriptOutputType.MULTI, keys, args);
            } catch (RedisNoScriptException e) {
                // A restarted Redis has forgotten the script; EVAL runs it and loads it again.
                answer = redis.eval(SCRIPT, ScriptOutputType.MULTI, keys, args);
            }
            if (down.compareAndSet(true, false))
                warnings.accept("Redis at " + where + " answers again: the batch goes on");
            return answer;
        } catch (RedisException e) {
            owed.addAndGet(giveBack);
            if (down.compareAndSet(false, true)) {
                warnings.accept(
                        "Redis at %s is unreachable (%s): no request is sent until it answers; trying every %d s"
                                .formatted(where, e.getMessage(), RETRY.toSeconds()));
            }
            return null;
        }
    }

    private RedisCommands<String, String> connect() {
        lock.lock();
        try {
            if (connection == null) {
                var made = client.connect(); // reconnects by itself once made
                try {
                    sha = made.sync().scriptLoad(SCRIPT);
                } catch (RedisException e) {
                    made.close();
                    throw e;
                }
                connection = made;
            }
            return connection.sync();
        } finally {
            lock.unlock();
        }
    }

    /** The limits as this process knows them: as configured, lowered by what servers said. */
    private double[] rates() {
        lock.lock();
        try {
            start();
            return new double[] {requests.perMinute(), tokens.perMinute()};
        } finally {
            lock.unlock();
        }
    }

    private void account(Runnable change) {
        lock.lock();
        try {
            start();
            change.run();
        } finally {
            lock.unlock();
        }
    }

    /** Starts the accounting at the first call, as {@link LocalBudget} does. Called under the lock. */
    private void start() {
        if (requests == null) {
            double burstMinutes = limits.burst().toNanos() / 60e9;
            requests = new Bucket(limits.requestsPerMinute(), burstMinutes, now());
            tokens = new Bucket(limits.tokensPerMinute(), burstMinutes, now());
        }
    }

    private long now() {
        return clock.getAsLong();
    }

    private static String rate(double perMinute) {
        return Double.isInfinite(perMinute) ? "0" : Double.toString(perMinute);
    }

    private static String remaining(Long remaining) {
        return remaining == null ? "-1" : Long.toString(remaining);
    }

    private static String script() {
        try (InputStream in = RedisBudget.class.getResourceAsStream("budget.lua")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (connection != null) connection.close();
        } finally {
            lock.unlock();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        resources.shutdown(0, 1, TimeUnit.SECONDS);
    }
}
