package dev.parley.server.engine.llama.ffi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.parley.server.engine.llama.LlamaModel;
import dev.parley.server.engine.llama.ModelOptions;
import dev.parley.server.engine.llama.ffi.HugePages.Range;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which memory a model load advises onto huge pages, and that a real load's weights end up there. */
class HugePagesTest {
    private static final long MB = 1 << 20;
    private static final long PAGE = 2 * MB;
    private static final Path THP = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    @TempDir
    Path dir;

    @Test
    void onlyWhatIsNewIsAdvisedTrimmedToWholePages() {
        List<Range> before = List.of(new Range(10 * MB, 11 * MB), new Range(40 * MB, 41 * MB));

        // A buffer mapped in a gap, one merged with an older mapping below it, one spanning two older ones.
        List<Range> after = List.of(
                new Range(20 * MB + 4096, 30 * MB + 4096),
                new Range(10 * MB, 16 * MB),
                new Range(39 * MB, 50 * MB),
                new Range(60 * MB, 61 * MB));

        assertThat(HugePages.added(before, after, PAGE))
                .containsExactly(
                        new Range(22 * MB, 30 * MB), // inward to whole pages at both ends
                        new Range(12 * MB, 16 * MB), // the older part left out
                        new Range(42 * MB, 50 * MB)); // left of the old part less than a page; the 1 MB one none
    }

    @Test
    void nothingIsAdvisedWhenNothingIsNew() {
        List<Range> mappings = List.of(new Range(0, 64 * MB), new Range(128 * MB, 256 * MB));

        assertThat(HugePages.added(mappings, mappings, PAGE)).isEmpty();
        assertThat(HugePages.added(mappings, List.of(new Range(4 * MB, 8 * MB)), PAGE))
                .as("a part of an old mapping, with other permissions now")
                .isEmpty();
    }

    @Test
    void mapsLinesAreReadAsTheKernelWritesThem() {
        String anonymous = "7f3a1c000000-7f3a26000000 rw-p 00000000 00:00 0 ";
        String file = "7f3a2e000000-7f3a30000000 rw-p 00001000 fe:01 1234                       /usr/lib/libggml.so";
        String heap = "55d0c2a6b000-55d0c2c8c000 rw-p 00000000 00:00 0                          [heap]";
        String guard = "7f3a26000000-7f3a27000000 ---p 00000000 00:00 0";
        String shared = "7f3a28000000-7f3a29000000 rw-s 00000000 00:01 99                         /dev/zero (deleted)";

        assertThat(HugePages.parse(anonymous, true)).hasValue(new Range(0x7f3a1c000000L, 0x7f3a26000000L));
        assertThat(HugePages.parse(file, true)).isEmpty();
        assertThat(HugePages.parse(heap, true)).isEmpty();
        assertThat(HugePages.parse(guard, true)).isEmpty();
        assertThat(HugePages.parse(shared, true)).isEmpty();
        assertThat(HugePages.parse(file, false)).hasValue(new Range(0x7f3a2e000000L, 0x7f3a30000000L));
        assertThat(HugePages.parse("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]", false))
                .hasValue(new Range(0xffffffffff600000L, 0xffffffffff601000L));
        assertThat(HugePages.parse("garbage", false)).isEmpty();
        assertThat(HugePages.parse("zz-yy rw-p 0 00:00 0", false)).isEmpty();
    }

    @Test
    void aModelReadIntoMemoryHasItsWeightsAdvisedAndAMappedOneNot() throws IOException {
        assumeTrue(Files.isReadable(THP) && !Files.readString(THP).contains("[never]"), "no transparent huge pages");
        Path file = GgufWriter.llama()
                .dim(512)
                .layers(6)
                .heads(8)
                .kvHeads(4)
                .ffnDim(1536)
                .vocabSize(4000)
                .contextLength(128)
                .type(TensorType.F16)
                .seed(3)
                .write(dir.resolve("f16.gguf"));
        long size = Files.size(file);
        // Above glibc's largest mmap threshold (32 MiB): its buffer is a mapping of its own, whatever this JVM's
        // earlier allocations made of the threshold (a smaller one may be carved from memory malloc already held).
        assertThat(size).isGreaterThan(40 * MB);

        try (LlamaModel read = LlamaModel.open(file)) {
            // The weights' buffer less at most a page at each end: the file is the weights and a small header.
            assertThat(read.hugePageBytes()).isBetween(size - 2 * PAGE - MB, size + PAGE);
            assertThat(advisedNow())
                    .as("memory the kernel holds MADV_HUGEPAGE for")
                    .isGreaterThanOrEqualTo(read.hugePageBytes());
        }
        try (LlamaModel mapped = LlamaModel.open(file, ModelOptions.defaults().withMemoryMap(true))) {
            assertThat(mapped.hugePageBytes()).isZero();
        }
    }

    /** Bytes of this process's mappings whose flags carry the huge-page advice ({@code hg}). */
    private static long advisedNow() throws IOException {
        long total = 0;
        long size = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            if (line.startsWith("Size:")) size = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            if (line.startsWith("VmFlags:")
                    && List.of(line.substring(8).trim().split(" ")).contains("hg")) {
                total += size;
            }
        }
        return total;
    }
}
