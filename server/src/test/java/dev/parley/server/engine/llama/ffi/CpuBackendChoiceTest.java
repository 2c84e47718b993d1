package dev.parley.server.engine.llama.ffi;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Remembering which CPU variant of a prebuilt package this processor runs. */
class CpuBackendChoiceTest {
    private static final String X86 = """
            processor\t: 0
            vendor_id\t: GenuineIntel
            cpu family\t: 6
            model name\t: Intel(R) Xeon(R) Processor
            cpu MHz\t\t: 2100.000
            flags\t\t: fpu sse2 avx avx2 avx512f amx_tile

            processor\t: 1
            vendor_id\t: GenuineIntel
            model name\t: Intel(R) Xeon(R) Processor
            cpu MHz\t\t: 2000.000
            flags\t\t: fpu sse2 avx avx2 avx512f amx_tile
            """;

    @TempDir
    Path folder;

    @Test
    void theFingerprintNamesTheProcessorAndItsFeaturesNotItsSpeed() {
        var fingerprint = CpuBackendChoice.fingerprint(X86, "amd64");
        assertThat(fingerprint).hasValueSatisfying(value -> assertThat(value).matches("[0-9a-f]{16}"));
        assertThat(CpuBackendChoice.fingerprint(X86.replace("2100.000", "800.000"), "amd64"))
                .isEqualTo(fingerprint);
        assertThat(CpuBackendChoice.fingerprint(X86.replaceFirst(" amx_tile", ""), "amd64"))
                .isNotEqualTo(fingerprint);
        assertThat(CpuBackendChoice.fingerprint(X86.replaceFirst("Xeon\\(R\\)", "Core"), "amd64"))
                .isNotEqualTo(fingerprint);
        assertThat(CpuBackendChoice.fingerprint(X86, "x86")).isNotEqualTo(fingerprint);
        // Only the first processor is read: a later one's speed or a hybrid core's flags do not matter.
        assertThat(CpuBackendChoice.fingerprint(
                        X86.replace("processor\t: 1\n", "processor\t: 1\nflags\t: fpu sse2\n"), "amd64"))
                .isEqualTo(fingerprint);
    }

    @Test
    void armProcessorsAreNamedByImplementerPartAndFeatures() {
        String arm = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\n"
                + "CPU part\t: 0xd0c\n";
        var fingerprint = CpuBackendChoice.fingerprint(arm, "aarch64");
        assertThat(fingerprint).isPresent();
        assertThat(CpuBackendChoice.fingerprint(arm.replace("50.00", "100.00"), "aarch64"))
                .isEqualTo(fingerprint);
        assertThat(CpuBackendChoice.fingerprint(arm.replace(" sve", ""), "aarch64"))
                .isNotEqualTo(fingerprint);
    }

    @Test
    void noFingerprintWithoutTheLinesThatNameAProcessor() {
        assertThat(CpuBackendChoice.fingerprint("", "amd64")).isEmpty();
        assertThat(CpuBackendChoice.fingerprint("processor\t: 0\ncpu MHz\t: 100\n", "amd64"))
                .isEmpty();
    }

    @Test
    void thisMachineHasAFingerprintThatStaysTheSame() {
        assertThat(CpuBackendChoice.fingerprint()).isPresent().isEqualTo(CpuBackendChoice.fingerprint());
    }

    @Test
    void aRememberedVariantIsReadBackForItsProcessorOnly() {
        var files = Set.of("libggml-cpu-haswell.so", "libggml-cpu-zen4.so", "libllama.v0.5.0.so");
        assertThat(CpuBackendChoice.remembered(folder, "aaaa", files)).isEmpty();

        CpuBackendChoice.remember(folder, "aaaa", "libggml-cpu-zen4.so");
        CpuBackendChoice.remember(folder, "bbbb", "libggml-cpu-haswell.so");

        assertThat(CpuBackendChoice.remembered(folder, "aaaa", files)).hasValue("libggml-cpu-zen4.so");
        assertThat(CpuBackendChoice.remembered(folder, "bbbb", files)).hasValue("libggml-cpu-haswell.so");
        assertThat(CpuBackendChoice.remembered(folder, "cccc", files)).isEmpty();
        CpuBackendChoice.remember(folder, "aaaa", "libggml-cpu-haswell.so");
        assertThat(CpuBackendChoice.remembered(folder, "aaaa", files)).hasValue("libggml-cpu-haswell.so");
    }

    @Test
    void aMemoNamingAnythingButOneOfThePackagesCpuVariantsIsIgnored() throws IOException {
        var files = Set.of("libggml-cpu-haswell.so", "libllama.v0.5.0.so", "libggml-base.so");
        for (String named : List.of(
                "libllama.v0.5.0.so", // in the package, not a CPU backend
                "libggml-base.so",
                "libggml-cpu-zen4.so", // a CPU backend the package does not have
                "../libggml-cpu-haswell.so",
                "/tmp/libggml-cpu-haswell.so",
                "")) {
            Files.writeString(folder.resolve(".cpu-backend-aaaa"), named + "\n");
            assertThat(CpuBackendChoice.remembered(folder, "aaaa", files))
                    .as(named)
                    .isEmpty();
        }
    }

    @Test
    void aFolderThatCannotBeWrittenRemembersNothingAndFailsNothing() {
        Path missing = folder.resolve("gone");
        CpuBackendChoice.remember(missing, "aaaa", "libggml-cpu-zen4.so");
        assertThat(CpuBackendChoice.remembered(missing, "aaaa", Set.of("libggml-cpu-zen4.so")))
                .isEmpty();
    }

    @Test
    void theLoadedBackendsAreReadFromTheMemoryMapInTheOrderMapped() {
        Path libraries = Path.of("/cache/llama.cpp/linux-x64-3.22.1");
        List<String> maps = List.of(
                "7f0000000000-7f0000001000 r--p 00000000 fd:01 11 /cache/llama.cpp/linux-x64-3.22.1/libllama.v0.5.0.so",
                "7f0000001000-7f0000002000 r-xp 00001000 fd:01 12 /cache/llama.cpp/linux-x64-3.22.1/libggml-base.so",
                "7f0000002000-7f0000003000 r--p 00000000 fd:01 13 /cache/llama.cpp/linux-x64-3.22.1/libggml.v0.5.0.so",
                "7f0000003000-7f0000004000 r--p 00000000 fd:01 14 /cache/llama.cpp/linux-x64-3.22.1/libggml-cuda.so",
                "7f0000004000-7f0000005000 r--p 00000000 fd:01 15 /cache/llama.cpp/linux-x64-3.22.1/libggml-cpu-zen4.so",
                "7f0000005000-7f0000006000 r-xp 00001000 fd:01 15 /cache/llama.cpp/linux-x64-3.22.1/libggml-cpu-zen4.so",
                "7f0000006000-7f0000007000 r--p 00000000 fd:01 16 /elsewhere/libggml-cpu-haswell.so",
                "7f0000007000-7f0000008000 rw-p 00000000 00:00 0 ",
                "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]");

        assertThat(CpuBackendChoice.loadedBackends(maps, libraries))
                .containsExactly("libggml-cuda.so", "libggml-cpu-zen4.so");
        assertThat(CpuBackendChoice.isCpuBackend("libggml-cpu-zen4.so")).isTrue();
        assertThat(CpuBackendChoice.isCpuBackend("libggml-cuda.so")).isFalse();
    }
}
