package dev.parley.server.limits;

import static dev.parley.server.limits.Keyed.key;
import static dev.parley.server.limits.Keyed.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.Json;
import dev.parley.limits.RateLimitSnapshot;
import dev.parley.server.ParleyServer;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Local embeddings are charged to a key's tokens per minute: the real count of their input tokens. */
@Timeout(60)
class EmbeddingLimitsTest {
    static final String BODY = "{\"model\":\"demo\",\"input\":[\"Once upon a time\",\"there was a cat\"]}";

    @Test
    void embeddingsSpendTheKeysTokensToTheToken(@TempDir Path dir) throws Exception {
        var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(1)
                .withContextPerSequence(128)
                .withEmbeddings(true));
        int n = engine.embed("demo", (ObjectNode) Json.tree(BODY)).promptTokens(); // counted, not started
        Path keys = Keyed.keysFile(dir, key("embed", 100, 3L * n, null, null, List.of()));
        try (var server = ParleyServer.start(
                engine,
                ApiKeys.load(keys),
                new RateLimits(Limiter.inMemory(new Keyed.StepClock()), false),
                "127.0.0.1",
                0)) {
            String base = "http://127.0.0.1:" + server.port();
            for (int i = 0; i < 3; i++) {
                var admitted = post(base, "embed", "/v1/embeddings", BODY);
                assertThat(admitted.statusCode()).as(admitted.body()).isEqualTo(200);
                assertThat(Json.tree(admitted.body())
                                .path("usage")
                                .path("prompt_tokens")
                                .asInt())
                        .isEqualTo(n);
                assertThat(RateLimitSnapshot.parse(admitted.headers().map()).remainingTokens())
                        .isEqualTo((2L - i) * n);
            }
            var refused = post(base, "embed", "/v1/embeddings", BODY);
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(Json.tree(refused.body()).path("error").path("type").asText())
                    .isEqualTo("tokens");
        }
    }
}
