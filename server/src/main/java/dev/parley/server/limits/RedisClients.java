package dev.parley.server.limits;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A Lettuce client as Parley's Redis users want it: commands fail at once while disconnected (never queued behind
 * an outage), every command times out after {@code timeout}, and a lost connection is retried every
 * {@code reconnect} rather than after Lettuce's growing back-off. {@link #close} shuts the client and its resources
 * down.
 */
public record RedisClients(ClientResources resources, RedisClient client) implements AutoCloseable {

    public static RedisClients create(URI uri, Duration reconnect, Duration timeout) {
        ClientResources resources = ClientResources.builder()
                .reconnectDelay(Delay.constant(reconnect))
                .build();
        RedisURI redisUri = RedisURI.create(uri);
        redisUri.setTimeout(timeout);
        RedisClient client = RedisClient.create(resources, redisUri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .build());
        return new RedisClients(resources, client);
    }

    @Override
    public void close() {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        resources.shutdown(0, 1, TimeUnit.SECONDS);
    }
}
