package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ChatCompletion;
import dev.parley.api.Json;
import dev.parley.server.engine.llama.KvCacheType;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded draws over real HTTP, on a random-weight 256-wide model with F16 weights and cache, whose logits move
 * by up to 0.002 when the last prompt token is decoded on its own rather than with the rest of the prompt (as
 * reusing a held prefix of a repeated prompt would). A seeded request served alone must answer the same every
 * time, down to the last bit of its log-probabilities, whatever the requests before it left in the cache.
 */
@Timeout(120)
class SeededAnswersServerTest {
    @TempDir
    static Path dir;

    static ParleyServer server;
    static Loopback loopback;

    @BeforeAll
    static void start() {
        Path model = GgufWriter.llama()
                .dim(256)
                .layers(4)
                .heads(4)
                .kvHeads(2)
                .ffnDim(512)
                .vocabSize(600)
                .contextLength(4096)
                .type(TensorType.F16)
                .seed(5)
                .chatTemplate(WrittenModelServerTest.LLAMA3_TEMPLATE)
                .write(dir.resolve("wide.gguf"));
        server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(model)
                        .withParallel(4)
                        .withContextPerSequence(256)
                        .withKvCache(KvCacheType.F16)),
                "127.0.0.1",
                0);
        loopback = Loopback.to(server);
    }

    @AfterAll
    static void stop() {
        server.close();
        loopback.close();
    }

    /** The response's body, whole: text, log-probabilities and usage. */
    private static String answer(String content, String extra) throws Exception {
        String body = "{\"model\":\"wide\",\"messages\":[{\"role\":\"user\",\"content\":" + Json.write(content) + "}]"
                + extra + "}";
        var response = loopback.post("/v1/chat/completions", body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return response.body();
    }

    /** The answer without what differs on every response (id, time, usage details). */
    private static String drawn(String content, String extra) throws Exception {
        var completion = Json.read(answer(content, extra), ChatCompletion.class);
        return Json.write(completion.choices());
    }

    private static int cachedTokens(String content, String extra) throws Exception {
        var details =
                Json.read(answer(content, extra), ChatCompletion.class).usage().promptTokensDetails();
        return details == null ? 0 : details.cachedTokens();
    }

    @Test
    void aSeededRequestAloneAnswersTheSameWhateverCameBefore() throws Exception {
        String prompt = "Lily likes the sea and the sand and the big blue waves that come in at night";
        String longer = prompt + ", and Tom likes the big park by the river where they play with a red ball";
        for (int seed = 1; seed <= 3; seed++) {
            String seeded = ",\"temperature\":1.5,\"max_tokens\":24,\"logprobs\":true,\"seed\":" + seed;
            String first = drawn(prompt, seeded);
            // The slot now holds this prompt, all but whose last token a next request could take over.
            assertThat(drawn(prompt, seeded)).as("seed %d, repeated", seed).isEqualTo(first);
            // A longer prompt that starts with it, read and answered first.
            answer(longer, ",\"temperature\":0,\"max_tokens\":4");
            assertThat(drawn(prompt, seeded))
                    .as("seed %d, after a longer prompt", seed)
                    .isEqualTo(first);
        }
    }

    @Test
    void onlyASeededDrawReadsARepeatedPromptAgainAndUsageSaysWhatWasCached() throws Exception {
        String prompt = "Once upon a time there was a little dog who liked to run in the big green park";
        int promptTokens = Json.read(answer(prompt, ",\"max_tokens\":1"), ChatCompletion.class)
                .usage()
                .promptTokens();
        // All but the last token, whose logits the first draw needs: for greedy, unseeded and seeded greedy.
        assertThat(cachedTokens(prompt, ",\"temperature\":0,\"max_tokens\":2")).isEqualTo(promptTokens - 1);
        assertThat(cachedTokens(prompt, ",\"temperature\":1,\"max_tokens\":2")).isEqualTo(promptTokens - 1);
        assertThat(cachedTokens(prompt, ",\"temperature\":0,\"max_tokens\":2,\"seed\":3"))
                .isEqualTo(promptTokens - 1);
        assertThat(cachedTokens(prompt, ",\"temperature\":1,\"max_tokens\":2,\"seed\":3"))
                .isZero();
    }
}
