package dev.parley.server.usage;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.parley.api.Json;
import dev.parley.server.limits.RedisClients;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.net.URI;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Totals in Redis, shared by every replica using it: per UTC day three hashes,
 * {@code parley:usage:{2026-11-30}:requests}, {@code …:prompt_tokens} and {@code …:completion_tokens}, each field
 * the JSON array {@code ["key","model"]} and its value a count. Adding is {@code HINCRBY} in one small script per
 * day and flush, so replicas add to the same totals without reading them first, a day's part of a flush is applied
 * whole, and a flush sent again after a lost answer is applied once. One flush's scripts are pipelined.
 *
 * <p>A Redis that does not answer makes calls fail within {@link #TIMEOUT} with
 * {@link LedgerUnavailableException}; the next call connects again.
 */
final class RedisStore implements LedgerStore {
    static final Duration TIMEOUT = Duration.ofSeconds(2);
    private static final String[] METRICS = {"requests", "prompt_tokens", "completion_tokens"};
    private static final TypeReference<List<String>> PAIR = new TypeReference<>() {};

    private final URI uri;
    private final RedisClients redis;
    private StatefulRedisConnection<String, String> connection; // guarded by this

    private RedisStore(URI uri, RedisClients redis) {
        this.uri = uri;
        this.redis = redis;
    }

    /** A store on the Redis at {@code uri}; it connects at its first call. */
    static RedisStore at(URI uri) {
        // A Redis that comes back is reconnected within a flush or so, not after Lettuce's growing back-off.
        return new RedisStore(uri, RedisClients.create(uri, Duration.ofMillis(200), TIMEOUT));
    }

    private synchronized RedisAsyncCommands<String, String> redis() {
        if (connection == null || !connection.isOpen()) {
            try {
                connection = redis.client().connect();
            } catch (RedisException e) {
                throw unavailable(e);
            }
        }
        return connection.async();
    }

    /** A day's keys share a hash tag, so that one script may touch them all should the Redis be a cluster. */
    private static String key(LocalDate day, String metric) {
        return "parley:usage:{" + day + "}:" + metric;
    }

    /**
     * Adds one day's deltas atomically, once per flush id: KEYS are the day's three hashes and its marker for this
     * flush; ARGV a field and its three increments, repeated. The marker lives a week, far beyond any retry.
     */
    private static final String ADD_DAY = """
            if not redis.call('SET', KEYS[4], '1', 'NX', 'EX', 604800) then return 0 end
            for i = 1, #ARGV, 4 do
              for m = 1, 3 do
                local n = tonumber(ARGV[i + m])
                if n ~= 0 then redis.call('HINCRBY', KEYS[m], ARGV[i], n) end
              end
            end
            return 1
            """;

    @Override
    public void add(String flushId, Map<Line, Counts> deltas) {
        if (deltas.isEmpty()) return;
        Map<LocalDate, List<String>> days = new HashMap<>();
        deltas.forEach((line, counts) -> {
            List<String> args = days.computeIfAbsent(line.day(), d -> new ArrayList<>());
            args.add(Json.write(List.of(line.key(), line.model())));
            args.add(Long.toString(counts.requests()));
            args.add(Long.toString(counts.promptTokens()));
            args.add(Long.toString(counts.completionTokens()));
        });
        RedisAsyncCommands<String, String> redis = redis();
        List<RedisFuture<Long>> sent = new ArrayList<>();
        days.forEach((day, args) -> {
            String[] keys = {
                key(day, METRICS[0]), key(day, METRICS[1]), key(day, METRICS[2]), key(day, "flush:" + flushId)
            };
            sent.add(redis.eval(ADD_DAY, ScriptOutputType.INTEGER, keys, args.toArray(String[]::new)));
        });
        await(sent);
    }

    @Override
    public Map<Line, Counts> read(LocalDate from, LocalDate to) {
        RedisAsyncCommands<String, String> redis = redis();
        Map<LocalDate, List<RedisFuture<Map<String, String>>>> sent = new HashMap<>();
        for (LocalDate day = from; !day.isAfter(to); day = day.plusDays(1)) {
            List<RedisFuture<Map<String, String>>> hashes = new ArrayList<>();
            for (String metric : METRICS) hashes.add(redis.hgetall(key(day, metric)));
            sent.put(day, hashes);
        }
        await(sent.values().stream().flatMap(List::stream).toList());
        Map<Line, Counts> found = new HashMap<>();
        sent.forEach((day, hashes) -> {
            for (int i = 0; i < METRICS.length; i++) {
                for (var field : hashes.get(i).toCompletableFuture().join().entrySet()) {
                    List<String> pair = Json.mapper().convertValue(Json.tree(field.getKey()), PAIR);
                    long value = Long.parseLong(field.getValue());
                    Counts counts = switch (i) {
                        case 0 -> new Counts(value, 0, 0);
                        case 1 -> new Counts(0, value, 0);
                        default -> new Counts(0, 0, value);
                    };
                    found.merge(new Line(day, pair.get(0), pair.get(1)), counts, Counts::plus);
                }
            }
        });
        return found;
    }

    private void await(List<? extends RedisFuture<?>> futures) {
        try {
            boolean done = LettuceFutures.awaitAll(
                    TIMEOUT.toMillis(), TimeUnit.MILLISECONDS, futures.toArray(RedisFuture[]::new));
            if (!done) throw new LedgerUnavailableException("Redis at " + uri + " did not answer in time", null);
        } catch (RedisException e) {
            throw unavailable(e);
        }
    }

    private LedgerUnavailableException unavailable(RedisException e) {
        return new LedgerUnavailableException("Redis at " + uri + " is unavailable: " + e.getMessage(), e);
    }

    @Override
    public String where() {
        return "Redis at " + uri;
    }

    @Override
    public synchronized void close() {
        if (connection != null) connection.close();
        redis.close();
    }
}
