package dev.parley.bench;

import dev.parley.server.limits.Decision;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.Limits;
import dev.parley.testkit.RedisServer;
import java.net.URI;
import java.time.Clock;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Admission decisions per second: one {@code admit} of a request token and 100 tokens, for a key drawn
 * from 1,000, with budgets too large to run out (so every decision does the whole work of an admission).
 * {@code memory} is the in-process limiter; {@code redis} runs the Lua script in the Redis at
 * {@code -Dparley.redis=redis://host:port}, or in a redis-server it starts on a loopback port. Run with
 * {@code -t 4} to see several request threads share one connection.
 *
 * <p>Measured on the shared 2-core build machine (JDK 25, Redis 7.0 on loopback, {@code -f 1 -wi 2 -i 5
 * -w 2s -r 2s}): memory 10.7 M/s with one thread, 10.0 M/s with four; Redis 10.0 k/s with one thread
 * (one round trip each), 28.7 k/s with four (Lettuce pipelines them on one connection).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class LimiterBenchmark {
    private static final Limits UNBOUNDED = Limits.perMinute(1_000_000_000_000L, 1_000_000_000_000_000L);
    private static final String[] KEYS = new String[1_000];

    static {
        for (int i = 0; i < KEYS.length; i++) KEYS[i] = "bench-" + i;
    }

    @Param({"memory", "redis"})
    public String limiter;

    private Limiter target;
    private RedisServer redis;

    @Setup
    public void setUp() {
        target = switch (limiter) {
            case "memory" -> Limiter.inMemory(Clock.systemUTC());
            case "redis" -> {
                String given = System.getProperty("parley.redis");
                URI uri;
                if (given != null) {
                    uri = URI.create(given);
                } else {
                    redis = RedisServer.start();
                    uri = redis.uri();
                }
                yield Limiter.redis(uri, Clock.systemUTC());
            }
            default -> throw new IllegalArgumentException(limiter);
        };
    }

    @TearDown
    public void tearDown() {
        target.close();
        if (redis != null) redis.close();
    }

    @Benchmark
    public Decision admit() {
        return target.admit(KEYS[ThreadLocalRandom.current().nextInt(KEYS.length)], UNBOUNDED, 100);
    }
}
