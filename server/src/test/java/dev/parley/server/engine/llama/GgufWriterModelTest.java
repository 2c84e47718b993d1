package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Models written by the testkit's GgufWriter, run by the real llama.cpp. */
class GgufWriterModelTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(TensorType.class)
    void aWrittenModelLoadsTokenizesAndGenerates(TensorType type) {
        Path file = GgufWriter.llama()
                .dim(64)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .ffnDim(128)
                .vocabSize(300)
                .contextLength(128)
                .type(type)
                .seed(7)
                .write(dir.resolve(type + ".gguf"));

        try (LlamaModel model = LlamaModel.open(file);
                LlamaContext context = model.newContext(Generate.ONE_THREAD.withContextLength(128));
                Sampler sampler = model.newSampler(SamplingOptions.greedy())) {
            assertThat(model.vocabSize()).isEqualTo(300);
            assertThat(model.contextTrainLength()).isEqualTo(128);
            assertThat(model.metadata("general.file_type"))
                    .hasValue(
                            switch (type) {
                                case F32 -> "0";
                                case F16 -> "1";
                                case Q8_0 -> "7";
                            });
            String text = "Once upon a time, 日本 😀";
            assertThat(model.detokenize(model.tokenize(text, true, false))).isEqualTo(text);

            List<Integer> generated = Generate.tokens(model, context, sampler, "Once upon a time", 0, 20);
            assertThat(generated)
                    .isNotEmpty()
                    .allSatisfy(token -> assertThat(token).isBetween(0, 299));
            assertThat(Generate.text(model, generated)).matches("[\\x20-\\x7E]+"); // readable, no half characters
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3", "gemma3"})
    void eachArchitectureWithATiedOutputLoadsAndGeneratesFromFiniteLogits(String architecture) {
        GgufWriter writer = switch (architecture) {
            case "llama" -> GgufWriter.llama().kvHeads(1);
            case "qwen3" -> GgufWriter.qwen3().headDim(32); // heads × head size (128) ≠ dim (64), as Qwen 3 has it
            case "gemma3" ->
                GgufWriter.gemma3().layers(6).slidingWindow(8); // one global layer in six, as Gemma 3 has it
            default -> throw new IllegalArgumentException(architecture);
        };
        Path file = writer.tiedOutput(true).contextLength(128).seed(7).write(dir.resolve(architecture + ".gguf"));

        try (LlamaModel model = LlamaModel.open(file);
                LlamaContext context = model.newContext(Generate.ONE_THREAD.withContextLength(128));
                Sampler sampler = model.newSampler(SamplingOptions.greedy())) {
            assertThat(model.metadata("general.architecture")).hasValue(architecture);
            int[] prompt =
                    model.tokenize("Once upon a time, in a land far away", true, false); // longer than the window
            context.decode(BatchToken.prompt(prompt, 0, 0));
            float[] logits = context.logits(prompt.length - 1);
            assertThat(logits).hasSize(300);
            for (float logit : logits) assertThat(Float.isFinite(logit)).isTrue();
            context.clear();

            List<Integer> generated = Generate.tokens(model, context, sampler, "Once upon a time", 0, 12);
            assertThat(generated).isNotEmpty();
            assertThat(Generate.text(model, generated))
                    .matches("[\\x20-\\x7E]+"); // text pieces, not byte or control tokens
        }
    }

    @Test
    void quantisedWeightsGiveLogitsCloseToTheF32Ones() {
        float[] f32 = lastLogits(TensorType.F32);
        float[] q80 = lastLogits(TensorType.Q8_0);
        float[] f16 = lastLogits(TensorType.F16);

        double scale = 0;
        for (float v : f32) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < f32.length; i++) {
            assertThat((double) f16[i]).isCloseTo(f32[i], org.assertj.core.data.Offset.offset(0.01 * scale));
            assertThat((double) q80[i]).isCloseTo(f32[i], org.assertj.core.data.Offset.offset(0.1 * scale));
        }
    }

    @Test
    void theSameSettingsWriteTheSameBytes() throws Exception {
        Path a = GgufWriter.llama().type(TensorType.Q8_0).seed(3).write(dir.resolve("a.gguf"));
        Path b = GgufWriter.llama().type(TensorType.Q8_0).seed(3).write(dir.resolve("b.gguf"));
        Path c = GgufWriter.llama().type(TensorType.Q8_0).seed(4).write(dir.resolve("c.gguf"));

        assertThat(java.nio.file.Files.mismatch(a, b)).isEqualTo(-1);
        assertThat(java.nio.file.Files.mismatch(a, c)).isNotEqualTo(-1);
    }

    private float[] lastLogits(TensorType type) {
        Path file = GgufWriter.llama().type(type).seed(11).write(dir.resolve("logits-" + type + ".gguf"));
        try (LlamaModel model = LlamaModel.open(file);
                LlamaContext context = model.newContext(
                        Generate.ONE_THREAD.withContextLength(64).withKvCache(KvCacheType.F32))) {
            int[] prompt = model.tokenize("the cat sat", true, false);
            context.decode(BatchToken.prompt(prompt, 0, 0));
            return context.logits(prompt.length - 1);
        }
    }
}
