package dev.parley.server.responses;

import dev.parley.api.Json;
import dev.parley.server.limits.RedisClients;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisException;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Responses in Redis, shared by every replica using it: each the string {@code parley:response:<id>}, set to expire
 * when the response does, so Redis forgets them itself.
 *
 * <p>A Redis that does not answer makes calls fail within {@link #TIMEOUT} with
 * {@link ResponseStoreUnavailableException}; the next call connects again.
 */
final class RedisResponses implements ResponseStore {
    static final Duration TIMEOUT = Duration.ofSeconds(2);

    private final URI uri;
    private final Duration keep;
    private final RedisClients redis;
    private StatefulRedisConnection<String, String> connection; // guarded by this

    RedisResponses(URI uri, Duration keep) {
        this.uri = uri;
        this.keep = keep;
        this.redis = RedisClients.create(uri, Duration.ofMillis(200), TIMEOUT);
    }

    private synchronized RedisCommands<String, String> redis() {
        if (connection == null || !connection.isOpen())
            connection = redis.client().connect();
        return connection.sync();
    }

    private static String key(String id) {
        return "parley:response:" + id;
    }

    @Override
    public void put(StoredResponse response) {
        try {
            redis().set(
                            key(response.id()),
                            // as UTF-8 JSON with a lone surrogate escaped, which Redis's UTF-8 would turn into "?"
                            new String(Json.bytes(response.toJson()), StandardCharsets.UTF_8),
                            SetArgs.Builder.ex(Math.max(1, keep.toSeconds())));
        } catch (RedisException e) {
            throw unavailable(e);
        }
    }

    @Override
    public Optional<StoredResponse> get(String id) {
        try {
            String json = redis().get(key(id));
            return json == null ? Optional.empty() : Optional.of(StoredResponse.fromJson(Json.tree(json)));
        } catch (RedisException e) {
            throw unavailable(e);
        }
    }

    @Override
    public boolean batches() {
        return true;
    }

    /** One {@code MGET} for them all. */
    @Override
    public List<Optional<StoredResponse>> getAll(List<String> ids) {
        if (ids.isEmpty()) return List.of();
        try {
            List<Optional<StoredResponse>> found = new ArrayList<>();
            for (KeyValue<String, String> value :
                    redis().mget(ids.stream().map(RedisResponses::key).toArray(String[]::new)))
                found.add(
                        value.hasValue()
                                ? Optional.of(StoredResponse.fromJson(Json.tree(value.getValue())))
                                : Optional.empty());
            return found;
        } catch (RedisException e) {
            throw unavailable(e);
        }
    }

    @Override
    public boolean delete(String id) {
        try {
            return redis().del(key(id)) > 0;
        } catch (RedisException e) {
            throw unavailable(e);
        }
    }

    private ResponseStoreUnavailableException unavailable(RedisException e) {
        return new ResponseStoreUnavailableException("Redis at " + uri + " is unavailable: " + e.getMessage(), e);
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
