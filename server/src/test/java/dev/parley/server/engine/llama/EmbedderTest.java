package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.ServerException;
import dev.parley.server.demo.DemoModel;
import dev.parley.testkit.GgufWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The embedding context and its thread, on the demo model: what never reaches native code, and how they stop. */
@Timeout(120)
class EmbedderTest {
    private static LlamaModel demo;

    @BeforeAll
    static void open() {
        demo = LlamaModel.open(DemoModel.path());
    }

    @AfterAll
    static void close() {
        demo.close();
    }

    private static EmbeddingContext context() {
        return demo.newEmbeddingContext(32, 4, 1, KvCacheType.F32, Pooling.MEAN);
    }

    @Test
    void refusesBadInputsInJavaAndStaysUsable() {
        try (EmbeddingContext context = context()) {
            int[] once = demo.tokenize("Once upon a time", true, false);
            float[] before = context.embed(List.of(once)).getFirst();

            assertThatThrownBy(() -> context.embed(List.of())).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.embed(List.of(new int[0]))).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.embed(List.of(new int[] {-1})))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.embed(List.of(new int[] {demo.vocabSize()})))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.embed(List.of(new int[33]))).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.embed(List.of(new int[20], new int[20])))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.embed(List.of(once, once, once, once, once)))
                    .isInstanceOf(IllegalArgumentException.class);

            assertThat(context.embed(List.of(once)).getFirst()).containsExactly(before);
            assertThat(context.capacity()).isEqualTo(32);
            assertThat(context.dimensions()).isEqualTo(64);
        }
    }

    @Test
    void nothingIsKeptBetweenDecodes() {
        // A causal model with a KV cache: cells left over would be attended to by the next decode's sequence 0.
        try (EmbeddingContext context = context()) {
            int[] a = demo.tokenize("Lily and Tim", true, false);
            int[] b = demo.tokenize("went to the park", true, false);
            float[] alone = context.embed(List.of(b)).getFirst();
            context.embed(List.of(a));

            assertThat(context.embed(List.of(b)).getFirst()).containsExactly(alone);
        }
    }

    @Test
    void vectorsComeBackNormalisedAndInOrderAcrossDecodes() throws Exception {
        try (EmbeddingContext context = context();
                Embedder embedder = new Embedder(context, 8)) {
            List<int[]> inputs = new ArrayList<>();
            for (int i = 0; i < 10; i++) inputs.add(demo.tokenize("story number " + i, true, false));

            List<float[]> vectors = embedder.submit(inputs).await(); // 10 inputs, 4 per decode at most

            assertThat(vectors).hasSize(10);
            for (int i = 0; i < 10; i++) {
                double sum = 0;
                for (float x : vectors.get(i)) sum += x * x;
                assertThat(Math.sqrt(sum)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
                float[] alone = Embedder.normalised(
                        context.embed(List.of(inputs.get(i))).getFirst());
                for (int d = 0; d < alone.length; d++) {
                    assertThat(vectors.get(i)[d]).isCloseTo(alone[d], org.assertj.core.data.Offset.offset(1e-5f));
                }
            }
        }
    }

    @Test
    void closingAnswersEveryWaitingRequestAndRefusesNewOnes() throws Exception {
        try (EmbeddingContext context = context()) {
            Embedder embedder = new Embedder(context, 64);
            List<Embedder.Job> jobs = new ArrayList<>();
            int[] input = demo.tokenize("Once upon a time there was a little girl", true, false);
            for (int i = 0; i < 40; i++) jobs.add(embedder.submit(List.of(input, input, input)));

            embedder.close();

            for (Embedder.Job job : jobs) {
                try {
                    assertThat(job.await()).hasSize(3); // computed before the close
                } catch (ServerException e) {
                    assertThat(e.status()).isEqualTo(503);
                }
            }
            assertThatThrownBy(() -> embedder.submit(List.of(input)))
                    .isInstanceOfSatisfying(
                            ServerException.class, e -> assertThat(e.status()).isEqualTo(503));
            assertThat(embedder.alive()).isFalse();
        }
    }

    @Test
    void aFullQueueIsA503() {
        try (EmbeddingContext context = context();
                Embedder embedder = new Embedder(context, 1)) {
            int[] input = demo.tokenize("Once upon a time", true, false);
            // Holding the context's lock stops the thread at its first decode: it can take one request (or two,
            // in one batch), and then none of the next ones while they wait in a queue of one.
            synchronized (context) {
                assertThatThrownBy(() -> {
                            for (int i = 0; i < 3; i++) embedder.submit(List.of(input));
                        })
                        .isInstanceOfSatisfying(
                                ServerException.class,
                                e -> assertThat(e.status()).isEqualTo(503));
            }
        }
    }

    @Test
    void aModelIsAnEmbeddingModelByItsArchitectureOrItsPooling(@TempDir Path dir) {
        Path pooled = GgufWriter.llama().poolingType(3).write(dir.resolve("pooled.gguf"));
        Path rank = GgufWriter.llama().poolingType(4).write(dir.resolve("rank.gguf"));
        Path bert = GgufWriter.bert().poolingType(null).write(dir.resolve("bert.gguf"));
        ModelOptions vocabularyOnly = ModelOptions.defaults().withVocabularyOnly(true);
        try (LlamaModel p = LlamaModel.open(pooled, vocabularyOnly);
                LlamaModel r = LlamaModel.open(rank, vocabularyOnly);
                LlamaModel b = LlamaModel.open(bert, vocabularyOnly)) {
            assertThat(LlamaEngine.isEmbeddingModel(demo)).isFalse();
            assertThat(p.pooling()).hasValue(Pooling.LAST);
            assertThat(LlamaEngine.isEmbeddingModel(p)).isTrue();
            assertThat(r.pooling()).isEmpty(); // a reranker gives scores, not vectors
            assertThat(LlamaEngine.isEmbeddingModel(r)).isFalse();
            assertThat(b.pooling()).isEmpty();
            assertThat(LlamaEngine.isEmbeddingModel(b)).isTrue();
        }
    }
}
