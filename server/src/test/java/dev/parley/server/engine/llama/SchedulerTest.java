package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.check.RequestReader;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The scheduler over the demo model, driven through the engine without HTTP. */
@Timeout(60)
class SchedulerTest {

    /** A legacy request for greedy text after the given prompt token ids; end-of-text is ruled out. */
    private static dev.parley.api.CompletionRequest request(int promptTokens, int maxTokens) {
        return request(promptTokens, maxTokens, 1);
    }

    private static dev.parley.api.CompletionRequest request(int promptTokens, int maxTokens, int n) {
        String ids = IntStream.range(0, promptTokens).mapToObj(i -> String.valueOf(300 + (i * 7) % 200))
                .reduce((a, b) -> a + "," + b).orElseThrow();
        String json = "{\"model\":\"demo\",\"prompt\":[[%s]],\"max_tokens\":%d,\"n\":%d,\"temperature\":0,\"logit_bias\":{\"2\":-100}}"
                .formatted(ids, maxTokens, n);
        return RequestReader.completion(json.getBytes(StandardCharsets.UTF_8));
    }

    private static String text(Generation generation) throws InterruptedException {
        StringBuilder text = new StringBuilder();
        try (generation) {
            for (GenerationEvent event; (event = generation.next()) != null; ) {
                if (event instanceof GenerationEvent.Token token) text.append(token.text());
                if (event instanceof GenerationEvent.Finished finished) assertThat(finished.reason()).isEqualTo("length");
            }
        }
        return text.toString();
    }

    @Test
    void aPromptThatFindsTheFreeCellsScatteredAnswersAsIfAlone() throws Exception {
        // Two slots of 64 cells. A (5 + 59) and B (20 + 40) generate side by side, so their cells alternate;
        // when B ends, its cells are free but scattered, and C's 30-token prompt must be read into them.
        var a = request(5, 59);
        var b = request(20, 40);
        var c = request(30, 20);
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path()).withModelId("demo").withParallel(2)
                .withContextPerSequence(64))) {
            List<String> alone = new ArrayList<>();
            for (var request : List.of(a, b, c)) alone.add(text(engine.complete(request).start()));
            Generation first = engine.complete(a).start();
            Generation second = engine.complete(b).start();
            Generation third = engine.complete(c).start(); // waits for a slot: B's, once B is done
            assertThat(List.of(text(first), text(second), text(third))).isEqualTo(alone);
        }
    }

    @Test
    void choicesOfOneRequestReadTheirSharedPromptOnce() throws Exception {
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path()).withModelId("demo").withParallel(4)
                .withContextPerSequence(64))) {
            long before = engine.scheduler().decodedTokens();
            String one = text(engine.complete(request(40, 5)).start());
            long single = engine.scheduler().decodedTokens() - before;
            assertThat(single).isEqualTo(40 + 4); // the prompt, then every sampled token but the last

            before = engine.scheduler().decodedTokens();
            Generation four = engine.complete(request(40, 5, 4)).start();
            StringBuilder[] texts = {new StringBuilder(), new StringBuilder(), new StringBuilder(), new StringBuilder()};
            try (four) {
                for (GenerationEvent event; (event = four.next()) != null; ) {
                    if (event instanceof GenerationEvent.Token token) texts[token.choice()].append(token.text());
                }
            }
            long shared = engine.scheduler().decodedTokens() - before;
            // The prompt once, plus at most its last token again per choice that joined after it was read.
            assertThat(shared).isBetween(40L + 4 * 4, 40L + 4 * 4 + 3);
            assertThat(texts).extracting(StringBuilder::toString).containsOnly(one);
        }
    }
}
