package dev.parley.server.responses;

import dev.parley.server.limits.RedisClients;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.net.URI;
import java.time.Duration;
import java.util.function.Function;

/**
 * The connection a Redis store of this package sends its commands on: made at the first command, and again at the
 * next after it was lost. A Redis that does not answer makes a command fail within {@link #TIMEOUT} with {@link
 * ResponseStoreUnavailableException}.
 *
 * <p>Thread-safe.
 */
final class RedisConnection implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(2);

    private final URI uri;
    private final RedisClients redis;
    private StatefulRedisConnection<String, String> connection; // guarded by this

    RedisConnection(URI uri) {
        this.uri = uri;
        this.redis = RedisClients.create(uri, Duration.ofMillis(200), TIMEOUT);
    }

    /** What {@code command} answers, sent on the connection. */
    <T> T call(Function<RedisCommands<String, String>, T> command) {
        try {
            return command.apply(commands());
        } catch (RedisException e) {
            throw new ResponseStoreUnavailableException("Redis at " + uri + " is unavailable: " + e.getMessage(), e);
        }
    }

    private synchronized RedisCommands<String, String> commands() {
        if (connection == null || !connection.isOpen())
            connection = redis.client().connect();
        return connection.sync();
    }

    String where() {
        return "Redis at " + uri;
    }

    @Override
    public synchronized void close() {
        if (connection != null) connection.close();
        redis.close();
    }
}
