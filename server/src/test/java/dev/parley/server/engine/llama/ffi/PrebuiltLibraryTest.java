package dev.parley.server.engine.llama.ffi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The prebuilt llama.cpp libraries: fetched with the real npm client into a real cache folder, then verified. */
class PrebuiltLibraryTest {
    private static final PrebuiltLibrary.Package LINUX_X64 = PrebuiltLibrary.PACKAGES.get("linux-x64");

    @TempDir
    Path cache;

    @Test
    void fetchesVerifiesAndUnpacksOnlyTheCLibrariesThenReusesThem() throws IOException {
        Path folder = PrebuiltLibrary.ensure(LINUX_X64, cache);

        assertThat(folder).isEqualTo(cache.resolve("llama.cpp/linux-x64-3.22.1"));
        assertThat(PrebuiltLibrary.listing(folder))
                .contains(
                        "libllama.v0.5.0.so",
                        "libggml.v0.5.0.so",
                        "libggml-base.so",
                        "libggml-cpu-x64.so",
                        "SHA256SUMS")
                .noneMatch(name -> name.contains("common") || name.contains("addon"));
        assertThat(PrebuiltLibrary.verify(LINUX_X64, folder)).isNull();
        try (Stream<Path> left = Files.list(folder.getParent())) {
            assertThat(left.map(path -> path.getFileName().toString()))
                    .containsExactly("linux-x64-3.22.1"); // no work folder left
        }
        long modified =
                Files.getLastModifiedTime(folder.resolve("libllama.v0.5.0.so")).toMillis();
        assertThat(PrebuiltLibrary.ensure(LINUX_X64, cache)).isEqualTo(folder);
        assertThat(Files.getLastModifiedTime(folder.resolve("libllama.v0.5.0.so"))
                        .toMillis())
                .isEqualTo(modified);
    }

    @Test
    void aChangedFileFailsTheCheckAndIsFetchedAgain() throws IOException {
        Path folder = PrebuiltLibrary.ensure(LINUX_X64, cache);
        Files.write(folder.resolve("libggml-cpu-x64.so"), new byte[] {0}, StandardOpenOption.APPEND);

        assertThat(PrebuiltLibrary.verify(LINUX_X64, folder)).startsWith("libggml-cpu-x64.so has SHA-256 ");
        PrebuiltLibrary.ensure(LINUX_X64, cache);
        assertThat(PrebuiltLibrary.verify(LINUX_X64, folder)).isNull();
    }

    @Test
    void aPackageWhoseArchiveDoesNotMatchThePinnedIntegrityIsRefusedAndLeavesNothing() throws IOException {
        var forged = new PrebuiltLibrary.Package("linux-x64", "3.22.1", "sha512-" + "A".repeat(86) + "==");
        assertThatThrownBy(() -> PrebuiltLibrary.ensure(forged, cache))
                .isInstanceOf(LlamaLibraryException.class)
                .hasMessageContaining("refusing to use it");
        try (Stream<Path> left = Files.walk(cache)) {
            assertThat(left.filter(Files::isRegularFile).toList()).isEmpty();
        }
    }

    @Test
    void knowsTheLibraryFilesOfEveryBuildLayout() {
        assertThat(NativeLibrary.isLibrary("libllama.v0.5.0.so", "llama")).isTrue();
        assertThat(NativeLibrary.isLibrary("libllama.so", "llama")).isTrue();
        assertThat(NativeLibrary.isLibrary("libllama.dylib", "llama")).isTrue();
        assertThat(NativeLibrary.isLibrary("llama.dll", "llama")).isTrue();
        assertThat(NativeLibrary.isLibrary("libllama-common.so", "llama")).isFalse();
        assertThat(NativeLibrary.isLibrary("libggml.so", "ggml")).isTrue();
        assertThat(NativeLibrary.isLibrary("libggml-base.so", "ggml")).isFalse();
        assertThat(NativeLibrary.isLibrary("libggml-base.so", "ggml-base")).isTrue();
        assertThat(NativeLibrary.isLibrary("libggml-cpu-zen4.so", "ggml")).isFalse();
        assertThat(PrebuiltLibrary.isCLibrary("libggml-cpu-zen4.so")).isTrue();
        assertThat(PrebuiltLibrary.isCLibrary("llama-addon.node")).isFalse();
        assertThat(PrebuiltLibrary.isCLibrary("libllama-common.so")).isFalse();
        assertThat(PrebuiltLibrary.isCLibrary("../libllama.so")).isFalse();
    }
}
