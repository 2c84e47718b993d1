package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Convention 8 of STYLE.md, held by scanning the sources: native code sits behind the llama engine's package,
 * and its raw bindings ({@code engine.llama.ffi}) are used by that package alone.
 */
class NativeBoundaryTest {
    private static final Path MAIN = Path.of("src/main/java");
    private static final String BOUNDARY = "dev/parley/server/engine/llama/";

    @Test
    void onlyTheLlamaEnginePackageTouchesNativeMemory() throws IOException {
        assertThat(sourcesUsing("java.lang.foreign"))
                .allSatisfy(file -> assertThat(file).contains(BOUNDARY));
    }

    @Test
    void onlyTheLlamaEnginePackageImportsTheBindings() throws IOException {
        assertThat(sourcesUsing("import dev.parley.server.engine.llama.ffi."))
                .allSatisfy(file -> assertThat(file).startsWith("dev/parley/server/engine/llama/"));
        // The bindings are the bottom layer: they know nothing of the engine above them but its exception type.
        assertThat(sourcesUsing("import dev.parley.server.engine.llama."))
                .filteredOn(file -> file.contains("/ffi/"))
                .allSatisfy(file -> assertThat(read(MAIN.resolve(file)))
                        .doesNotContainPattern(
                                "import dev\\.parley\\.server\\.engine\\.llama\\.(?!ffi\\.|LlamaException;)"));
    }

    private static List<String> sourcesUsing(String text) throws IOException {
        try (Stream<Path> files = Files.walk(MAIN)) {
            return files.filter(file -> file.toString().endsWith(".java"))
                    .filter(file -> read(file).contains(text))
                    .map(file -> MAIN.relativize(file).toString().replace('\\', '/'))
                    .toList();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
