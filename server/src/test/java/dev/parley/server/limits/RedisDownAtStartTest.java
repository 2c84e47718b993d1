package dev.parley.server.limits;

import static dev.parley.server.limits.Keyed.key;
import static dev.parley.server.limits.Keyed.post;
import static dev.parley.server.limits.Keyed.promptOnly;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.server.ParleyServer;
import dev.parley.server.auth.ApiKeys;
import dev.parley.testkit.RedisServer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A server failing open starts while its Redis is down, admits without limits, and uses Redis once it is up. */
@Timeout(120)
class RedisDownAtStartTest {

    @Test
    void failingClosedCannotStartWithoutRedisButFailingOpenCanAndConnectsWhenRedisComesUp(@TempDir Path dir)
            throws Exception {
        try (RedisServer redis = RedisServer.start()) {
            redis.stop();
            assertThatThrownBy(() -> Limiter.redis(redis.uri(), Clock.systemUTC()))
                    .isInstanceOf(LimiterUnavailableException.class)
                    .hasMessageStartingWith("cannot reach Redis at " + redis.uri());

            Path keys = Keyed.keysFile(dir, key("late", 1_000_000, 100_000_000, null, null, List.of()));
            try (ParleyServer server = ParleyServer.start(
                    Keyed.engine(),
                    ApiKeys.load(keys),
                    new RateLimits(Limiter.redisWhenReachable(redis.uri(), Clock.systemUTC()), true),
                    "127.0.0.1",
                    0)) {
                String base = "http://127.0.0.1:" + server.port();
                var unlimited = post(base, "late", "/v1/completions", promptOnly());
                assertThat(unlimited.statusCode()).isEqualTo(200);
                assertThat(unlimited.headers().firstValue("x-ratelimit-remaining-requests"))
                        .isEmpty();

                redis.startAgain();
                var limited = unlimited;
                for (int attempt = 0; attempt < 200; attempt++) {
                    limited = post(base, "late", "/v1/completions", promptOnly());
                    if (limited.headers()
                            .firstValue("x-ratelimit-remaining-requests")
                            .isPresent()) break;
                    Thread.sleep(50);
                }
                assertThat(limited.statusCode()).isEqualTo(200);
                assertThat(limited.headers().firstValue("x-ratelimit-remaining-requests"))
                        .hasValueSatisfying(
                                left -> assertThat(Long.parseLong(left)).isLessThan(1_000_000));
            }
        }
    }
}
