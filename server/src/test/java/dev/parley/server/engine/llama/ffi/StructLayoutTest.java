package dev.parley.server.engine.llama.ffi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.StructLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java struct layouts against the C compiler's view of llama.h (release v0.5.0). The gcc check is a development
 * check: it runs where gcc and a copy of the v0.5.0 public headers are present (the folder named by
 * {@code PARLEY_LLAMA_HEADERS}, or a {@code shared/reference/llama.cpp-v0.5.0/include} folder in a directory above the
 * checkout), and is skipped elsewhere, e.g. in a user's clone.
 */
class StructLayoutTest {
    private static final List<StructLayout> STRUCTS = List.of(
            Structs.MODEL_PARAMS,
            Structs.CONTEXT_PARAMS,
            Structs.BATCH,
            Structs.SAMPLER_CHAIN_PARAMS,
            Structs.CHAT_MESSAGE,
            Structs.TOKEN_DATA,
            Structs.TOKEN_DATA_ARRAY,
            Structs.LOGIT_BIAS,
            Structs.THREADPOOL_PARAMS);

    @Test
    void layoutsHaveTheSizesOfTheReleaseStructs() {
        assertThat(Structs.MODEL_PARAMS.byteSize()).isEqualTo(80);
        assertThat(Structs.CONTEXT_PARAMS.byteSize()).isEqualTo(160);
        assertThat(Structs.BATCH.byteSize()).isEqualTo(56);
        assertThat(Structs.SAMPLER_CHAIN_PARAMS.byteSize()).isEqualTo(1);
        assertThat(Structs.CHAT_MESSAGE.byteSize()).isEqualTo(16);
        assertThat(Structs.TOKEN_DATA.byteSize()).isEqualTo(12);
        assertThat(Structs.TOKEN_DATA_ARRAY.byteSize()).isEqualTo(32);
        assertThat(Structs.LOGIT_BIAS.byteSize()).isEqualTo(8);
        assertThat(Structs.THREADPOOL_PARAMS.byteSize()).isEqualTo(528);
    }

    @Test
    void layoutsMatchWhatGccSaysAboutLlamaH(@TempDir Path dir) throws IOException, InterruptedException {
        Optional<Path> headers = headers();
        assumeTrue(headers.isPresent(), "llama.cpp v0.5.0 reference headers not found; development check skipped");
        assumeTrue(onPath("gcc"), "gcc not found; development check skipped");

        Map<String, Long> expected = new LinkedHashMap<>();
        StringBuilder program =
                new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include \"llama.h\"\nint main(void) {\n");
        for (StructLayout struct : STRUCTS) {
            String type = struct.name().orElseThrow();
            String ref = "struct " + type;
            program.append("  printf(\"%s size %zu\\n\", \"")
                    .append(type)
                    .append("\", sizeof(")
                    .append(ref)
                    .append("));\n");
            expected.put(type + " size", struct.byteSize());
            for (MemoryLayout member : struct.memberLayouts()) {
                if (member instanceof PaddingLayout) {
                    continue;
                }
                String field = member.name().orElseThrow();
                program.append("  printf(\"%s.%s %zu %zu\\n\", \"")
                        .append(type)
                        .append("\", \"")
                        .append(field)
                        .append("\", offsetof(")
                        .append(ref)
                        .append(", ")
                        .append(field)
                        .append("), sizeof(((")
                        .append(ref)
                        .append(" *) 0)->")
                        .append(field)
                        .append("));\n");
                expected.put(type + "." + field, Structs.offset(struct, field) * 1000 + member.byteSize());
            }
        }
        program.append("  return 0;\n}\n");
        Path source = Files.writeString(dir.resolve("layouts.c"), program);
        // Some copies of the headers leave out ggml-alloc.h, which ggml-backend.h includes; none of the
        // mirrored structs needs anything from it, so an empty stand-in will do there.
        if (!Files.isRegularFile(headers.get().resolve("ggml-alloc.h"))) {
            Files.writeString(dir.resolve("ggml-alloc.h"), "/* empty stand-in */\n");
        }
        Path binary = dir.resolve("layouts");
        run(List.of(
                "gcc",
                "-std=c11",
                "-I",
                dir.toString(),
                "-I",
                headers.get().toString(),
                "-o",
                binary.toString(),
                source.toString()));

        Map<String, Long> actual = new LinkedHashMap<>();
        for (String line : run(List.of(binary.toString())).split("\n")) {
            String[] parts = line.trim().split(" "); // "type size N" or "type.field offset size"
            if (parts[1].equals("size")) {
                actual.put(parts[0] + " size", Long.parseLong(parts[2]));
            } else {
                actual.put(parts[0], Long.parseLong(parts[1]) * 1000 + Long.parseLong(parts[2]));
            }
        }
        // Values are sizes, or offset × 1000 + field size.
        assertThat(actual).containsExactlyEntriesOf(expected);
    }

    private static Optional<Path> headers() {
        String configured = System.getenv("PARLEY_LLAMA_HEADERS");
        if (configured != null) {
            return Optional.of(Path.of(configured)).filter(dir -> Files.isRegularFile(dir.resolve("llama.h")));
        }
        // Otherwise a reference copy kept beside the checkout, in any directory above it.
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared/reference/llama.cpp-v0.5.0/include");
            if (Files.isRegularFile(candidate.resolve("llama.h"))) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static boolean onPath(String command) {
        String path = System.getenv().getOrDefault("PATH", "");
        return Stream.of(path.split(":")).anyMatch(dir -> Files.isExecutable(Path.of(dir, command)));
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as("%s failed:%n%s", command, output).isZero();
        return output;
    }
}
