package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.server.demo.DemoModel;
import dev.parley.testkit.GgufWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KvMemoryTest {

    @Test
    void theEstimateIsAKeyAndAValuePerKvHeadPerLayerPerCell() {
        try (LlamaModel model = LlamaModel.open(DemoModel.path())) {
            String arch = model.metadata("general.architecture").orElseThrow();
            long layers = Long.parseLong(model.metadata(arch + ".block_count").orElseThrow());
            long embedding =
                    Long.parseLong(model.metadata(arch + ".embedding_length").orElseThrow());
            long heads = Long.parseLong(
                    model.metadata(arch + ".attention.head_count").orElseThrow());
            long kvHeads = Long.parseLong(
                    model.metadata(arch + ".attention.head_count_kv").orElseThrow());
            long perCellF16 = layers * kvHeads * 2 * (embedding / heads) * 2;
            assertThat(KvMemory.estimate(model, 1000, KvCacheType.F16)).hasValue(1000 * perCellF16);
            assertThat(KvMemory.estimate(model, 1000, KvCacheType.F32)).hasValue(2000 * perCellF16);
        }
    }

    /**
     * A written Gemma 3 of six layers sliding over 16 tokens, one KV head of 32: with {@code sliding_window_pattern}
     * 2 (every other layer slides) and without the key (llama.cpp then takes Gemma 3's 6: five layers of six slide).
     */
    @ParameterizedTest
    @CsvSource({"2, 3", "0, 5"})
    void layersWithASlidingWindowKeepTheWindowAndABatchOfCellsPerSequence(int pattern, int sliding, @TempDir Path dir) {
        Path file = GgufWriter.gemma3()
                .layers(6)
                .kvHeads(1)
                .headDim(32)
                .slidingWindow(16)
                .slidingWindowPattern(pattern)
                .contextLength(4096)
                .write(dir.resolve("gemma3.gguf"));
        long perLayerCell = 2 * 32 * 2; // a key and a value of 32 F16 numbers
        try (LlamaModel model = LlamaModel.open(file)) {
            assertThat(KvMemory.estimate(model, 1024, 4, 512, KvCacheType.F16))
                    .as("1,024 cells in each whole layer, 768 (16 + 512, rounded up to 256) in each sliding one")
                    .hasValue(4 * ((6 - sliding) * 1024 + sliding * 768) * perLayerCell);
            assertThat(KvMemory.estimate(model, 512, 4, 512, KvCacheType.F16))
                    .as("a window and a batch beyond a sequence's cells: every layer keeps them all")
                    .hasValue(4 * 6 * 512 * perLayerCell);
            assertThat(KvMemory.estimate(model, 1024, 4, 0, KvCacheType.F16))
                    .as("window layers that keep every cell (an embedding context's, or --swa-full)")
                    .hasValue(4 * 6 * 1024 * perLayerCell);
            // llama.cpp's own count: each cell within the window adds a key and a value in every sliding layer (and
            // its position and sequence, 12 bytes) to what it saves of those layers.
            try (LlamaContext context = model.newContext(
                    Generate.ONE_THREAD.withContextLength(2 * 256).withMaxSequences(2))) {
                context.decode(BatchToken.prompt(new int[] {10, 11, 12, 13}, 0, 0));
                context.decode(BatchToken.prompt(new int[] {10, 11, 12, 13, 14, 15, 16, 17}, 0, 1));
                long perCell = (context.checkpointStateSize(1) - context.checkpointStateSize(0)) / 4;
                assertThat((perCell - 12) / perLayerCell).isEqualTo(sliding);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({
        // LFM2 marks its convolution layers with 0 KV heads: layers 0, 2, 4 of 6 (a period of 2).
        "lfm2, 6, 3",
        // Qwen 3.5 attends every full_attention_interval-th layer (4): layers 3 and 7 of 8.
        "qwen35, 8, 2"
    })
    void layersThatKeepRecurrentStateKeepNoCells(String architecture, int layers, int attending, @TempDir Path dir) {
        GgufWriter writer = architecture.equals("lfm2") ? GgufWriter.lfm2() : GgufWriter.qwen35();
        Path file = writer.layers(layers).heads(4).kvHeads(2).write(dir.resolve(architecture + ".gguf"));
        long perLayerCell = 2 * 2 * 16 * 2; // a key and a value of 16 F16 numbers for each of 2 KV heads
        try (LlamaModel model = LlamaModel.open(file)) {
            assertThat(KvMemory.estimate(model, 1024, 4, 512, KvCacheType.F16))
                    .hasValue(4L * attending * 1024 * perLayerCell);
            // llama.cpp's own count: each cell adds a key and a value in every attention layer (and its position and
            // sequence, 12 bytes) to what it saves of a sequence; the recurrent state's size stays as it is.
            try (LlamaContext context = model.newContext(
                    Generate.ONE_THREAD.withContextLength(2 * 256).withMaxSequences(2))) {
                context.decode(BatchToken.prompt(new int[] {10, 11, 12, 13}, 0, 0));
                context.decode(BatchToken.prompt(new int[] {10, 11, 12, 13, 14, 15, 16, 17}, 0, 1));
                long perCell = (context.sequenceStateSize(1) - context.sequenceStateSize(0)) / 4;
                assertThat((perCell - 12) / perLayerCell).isEqualTo(attending);
            }
        }
    }

    @Test
    void aContextBeyondTheMachinesMemoryIsRefusedBeforeAnythingIsAllocated() {
        var huge = LlamaEngineOptions.of(DemoModel.path())
                .withParallel(256)
                .withContextPerSequence(1 << 22)
                .withKvCache(KvCacheType.F32);
        // 2^30 cells of this model's cache are hundreds of GiB: no test machine has them.
        assertThatThrownBy(() -> LlamaEngine.open(huge))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("a context of 4194304 tokens for each of 256 sequences needs about ")
                .hasMessageContaining("GiB of F32 KV cache, more than this machine's ")
                .hasMessageEndingWith("of memory; ask for a smaller --context or --parallel");
        // No test machine has a TiB either; the model is never opened.
        assertThatThrownBy(() -> LlamaEngine.open(
                        LlamaEngineOptions.of(DemoModel.path()).withCacheMb(LlamaEngineOptions.MAX_CACHE_MB)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("a prompt cache of 1048576 MB is more than this machine's ")
                .hasMessageEndingWith("of memory; ask for a smaller --cache-ram");
        var overflowing =
                LlamaEngineOptions.of(DemoModel.path()).withParallel(4).withContextPerSequence(Integer.MAX_VALUE / 2);
        assertThatThrownBy(() -> LlamaEngine.open(overflowing))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a context of 1073741823 tokens for each of 4 sequences is more than 2147483647 in all");
    }
}
