package dev.parley.server.limits;

import static dev.parley.server.limits.Keyed.key;
import static dev.parley.server.limits.Keyed.post;
import static dev.parley.server.limits.Keyed.promptOnly;
import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.Json;
import dev.parley.server.ParleyServer;
import dev.parley.server.auth.ApiKeys;
import dev.parley.testkit.RedisServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two replicas (two servers in this JVM, each with its own engine, limiter and Redis connection) on one
 * real redis-server. The limiters' clock is held still, so "together no more than the limit" is exact.
 * Replica A fails closed when Redis is away, replica B fails open.
 */
@Timeout(120)
class SharedLimitsTest {
    static final Keyed.StepClock clock = new Keyed.StepClock();
    static RedisServer redis;
    static ParleyServer closed;
    static ParleyServer open;

    @BeforeAll
    static void start(@TempDir Path dir) {
        redis = RedisServer.start();
        Path keys = Keyed.keysFile(
                dir,
                key("shared", 50, 1_000_000, null, null, List.of()),
                key("outage", 1_000_000, 100_000_000, null, null, List.of()));
        closed = ParleyServer.start(
                Keyed.engine(),
                ApiKeys.load(keys),
                new RateLimits(Limiter.redis(redis.uri(), clock), false),
                "127.0.0.1",
                0);
        open = ParleyServer.start(
                Keyed.engine(),
                ApiKeys.load(keys),
                new RateLimits(Limiter.redis(redis.uri(), clock), true),
                "127.0.0.1",
                0);
    }

    @AfterAll
    static void stop() {
        if (closed != null) closed.close();
        if (open != null) open.close();
        if (redis != null) redis.close();
    }

    static String base(ParleyServer server) {
        return "http://127.0.0.1:" + server.port();
    }

    @Test
    void twoReplicasTogetherAdmitNoMoreThanOneKeysLimitOverABurstFromEightClients() throws Exception {
        List<Future<Integer>> statuses = new ArrayList<>();
        try (var clients = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < 200; i++) {
                ParleyServer replica = i % 2 == 0 ? closed : open;
                Callable<Integer> send = () -> post(base(replica), "shared", "/v1/completions", promptOnly())
                        .statusCode();
                statuses.add(clients.submit(send));
            }
        }
        int admitted = 0;
        int refused = 0;
        for (var status : statuses) {
            if (status.get() == 200) admitted++;
            else if (status.get() == 429) refused++;
        }
        assertThat(admitted).isEqualTo(50);
        assertThat(refused).isEqualTo(150);
    }

    @Test
    void withRedisAwayAFailClosedReplicaAnswers503AndAFailOpenOneAdmitsAndBothRecoverWhenItReturns() throws Exception {
        assertThat(post(base(closed), "outage", "/v1/completions", promptOnly()).statusCode())
                .isEqualTo(200);
        redis.stop();
        try {
            var refused = post(base(closed), "outage", "/v1/completions", promptOnly());
            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(Json.tree(refused.body()).get("error").get("code").asText())
                    .isEqualTo("rate_limiter_unavailable");

            HttpResponse<String> admitted = post(base(open), "outage", "/v1/completions", promptOnly());
            assertThat(admitted.statusCode()).isEqualTo(200);
            assertThat(admitted.headers().firstValue("x-ratelimit-limit-requests"))
                    .hasValue("1000000");
            assertThat(admitted.headers().firstValue("x-ratelimit-remaining-requests"))
                    .isEmpty();
        } finally {
            redis.startAgain();
        }
        // Each replica's connection comes back by itself: no restart of either.
        assertThat(untilLimited(closed).statusCode()).isEqualTo(200);
        assertThat(untilLimited(open).statusCode()).isEqualTo(200);
    }

    /** Sends until a reply shows the shared budgets again (a few reconnect periods at most). */
    static HttpResponse<String> untilLimited(ParleyServer replica) throws Exception {
        HttpResponse<String> response = null;
        for (int attempt = 0; attempt < 200; attempt++) {
            response = post(base(replica), "outage", "/v1/completions", promptOnly());
            if (response.statusCode() == 200
                    && response.headers()
                            .firstValue("x-ratelimit-remaining-requests")
                            .isPresent()) {
                return response;
            }
            Thread.sleep(100);
        }
        return response;
    }
}
