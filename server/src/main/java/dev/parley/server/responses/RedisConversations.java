package dev.parley.server.responses;

import dev.parley.server.limits.RedisClients;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Conversations in Redis, shared by every replica using it: each the list {@code parley:conversation:<id>}, an
 * append one {@code RPUSH} that a script runs only while the list exists, so that nothing added after a delete
 * brings the conversation back. Conversations do not expire (as at OpenAI): they last until deleted.
 *
 * <p>A Redis that does not answer makes calls fail within {@link RedisResponses#TIMEOUT} with {@link
 * ResponseStoreUnavailableException}; the next call connects again.
 */
final class RedisConversations implements ConversationStore {
    private static final String APPEND =
            "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('RPUSH', KEYS[1], unpack(ARGV)) end return 0";

    private final URI uri;
    private final RedisClients redis;
    private StatefulRedisConnection<String, String> connection; // guarded by this

    RedisConversations(URI uri) {
        this.uri = uri;
        this.redis = RedisClients.create(uri, Duration.ofMillis(200), RedisResponses.TIMEOUT);
    }

    private synchronized RedisCommands<String, String> redis() {
        if (connection == null || !connection.isOpen())
            connection = redis.client().connect();
        return connection.sync();
    }

    private static String key(String id) {
        return "parley:conversation:" + id;
    }

    @Override
    public void create(String id, List<String> entries) {
        try {
            redis().rpush(key(id), entries.toArray(String[]::new));
        } catch (RedisException e) {
            throw unavailable(e);
        }
    }

    @Override
    public boolean append(String id, List<String> entries) {
        try {
            Long length = redis().eval(
                            APPEND, ScriptOutputType.INTEGER, new String[] {key(id)}, entries.toArray(String[]::new));
            return length != null && length > 0;
        } catch (RedisException e) {
            throw unavailable(e);
        }
    }

    @Override
    public Optional<List<String>> read(String id) {
        try {
            List<String> entries = redis().lrange(key(id), 0, -1);
            return entries.isEmpty() ? Optional.empty() : Optional.of(entries);
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
