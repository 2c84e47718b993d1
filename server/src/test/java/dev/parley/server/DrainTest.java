package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link ParleyServer#shutdown} with a JSON answer still generating at its deadline. */
@Timeout(60)
class DrainTest {

    @Test
    void anAnswerStillGeneratingAtTheDeadlineIsA503AndTheServerCloses(@TempDir Path dir) throws Exception {
        var engine = LlamaEngine.open(LlamaEngineOptions.of(SlowModel.write(dir))
                .withModelId("slow")
                .withParallel(1)
                .withContextPerSequence(4096));
        ParleyServer server = ParleyServer.start(engine, "127.0.0.1", 0);
        try (HttpClient http = HttpClient.newHttpClient()) {
            // 4000 tokens of this model take seconds; the deadline below is a fraction of one.
            CompletableFuture<HttpResponse<String>> answer = http.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/completions"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(
                                    "{\"model\":\"slow\",\"prompt\":\"a b c\",\"max_tokens\":4000,\"temperature\":0}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            for (int attempt = 0; attempt < 2000 && engine.health().slots().busy() == 0; attempt++) {
                Thread.sleep(5);
            }
            assertThat(engine.health().slots().busy()).isEqualTo(1);

            assertThat(server.shutdown(Duration.ofMillis(200))).isEqualTo(1);

            HttpResponse<String> response = answer.get();
            assertThat(response.statusCode()).isEqualTo(503);
            JsonNode error = Json.tree(response.body()).path("error");
            assertThat(error.path("code").asText()).isEqualTo("server_shutting_down");
            assertThat(error.path("type").asText()).isEqualTo("server_error");
            assertThat(server.inFlight()).isZero();
        } finally {
            server.close();
        }
    }
}
