package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.server.demo.DemoModel;
import dev.parley.testkit.GgufWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    @Test
    void layersWithASlidingWindowKeepTheWindowAndABatchOfCellsPerSequence(@TempDir Path dir) {
        // Every other layer slides (the file's sliding_window_pattern is 2), over 16 tokens; one KV head of 32.
        Path file = GgufWriter.gemma3()
                .layers(6)
                .kvHeads(1)
                .headDim(32)
                .slidingWindow(16)
                .contextLength(4096)
                .write(dir.resolve("gemma3.gguf"));
        try (LlamaModel model = LlamaModel.open(file)) {
            long perLayerCell = 2 * 32 * 2; // a key and a value of 32 F16 numbers
            assertThat(KvMemory.estimate(model, 1024, 4, 512, KvCacheType.F16))
                    .as("3 layers of 1,024 cells and 3 of 768 (16 + 512, rounded up to 256), for each of 4 sequences")
                    .hasValue(4 * (3 * 1024 + 3 * 768) * perLayerCell);
            assertThat(KvMemory.estimate(model, 512, 4, 512, KvCacheType.F16))
                    .as("a window and a batch beyond a sequence's cells: every layer keeps them all")
                    .hasValue(4 * 6 * 512 * perLayerCell);
            assertThat(KvMemory.estimate(model, 1024, 4, 0, KvCacheType.F16))
                    .as("window layers that keep every cell (an embedding context's)")
                    .hasValue(4 * 6 * 1024 * perLayerCell);
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
