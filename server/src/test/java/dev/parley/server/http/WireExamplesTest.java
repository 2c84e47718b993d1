package dev.parley.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Json;
import dev.parley.api.check.RequestReader;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The examples a starting server prepares its JSON with stay what the wire types read and write. */
class WireExamplesTest {
    @Test
    void everyExampleReadsAsItsTypeAndWritesBackWhole() {
        WireExamples.EXAMPLES.forEach((type, example) -> assertThat(Json.tree(Json.prepare(type, example)))
                .as(type.getSimpleName())
                .isEqualTo(Json.tree(example)));
    }

    @Test
    void theRequestExamplesPassTheRequestChecks() {
        RequestReader.chat(bytes(ChatCompletionRequest.class));
        RequestReader.completion(bytes(CompletionRequest.class));
    }

    private static byte[] bytes(Class<?> type) {
        return WireExamples.EXAMPLES.get(type).getBytes(StandardCharsets.UTF_8);
    }
}
