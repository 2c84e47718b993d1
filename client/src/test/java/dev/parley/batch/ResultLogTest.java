package dev.parley.batch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResultLogTest {
    @TempDir
    Path dir;

    static BatchResult result(String id, long line) {
        return new BatchResult(id, null, line, null, null, null, 200, 1, null);
    }

    @Test
    void remembersTheIdsOfWholeLinesAndCutsOffAnUnfinishedLastOne() throws IOException {
        Path file = dir.resolve("out.jsonl");
        Files.writeString(file, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\",\"respo", StandardCharsets.UTF_8);
        List<String> warnings = new ArrayList<>();
        try (var log = ResultLog.open(file, false, warnings::add)) {
            assertThat(log.done()).containsExactlyInAnyOrder("a", "b");
            log.write(0, result("c", 3));
        }
        assertThat(Files.readAllLines(file))
                .containsExactly(
                        "{\"id\":\"a\"}", "{\"id\":\"b\"}", "{\"id\":\"c\",\"line\":3,\"status\":200,\"attempts\":1}");
        assertThat(warnings).singleElement().asString().contains("unfinished last line");
    }

    @Test
    void aLineThatIsNotJsonIsNotCountedAsDone() throws IOException {
        Path file = dir.resolve("out.jsonl");
        Files.writeString(file, "{\"id\":\"a\"}\ngarbage\n", StandardCharsets.UTF_8);
        List<String> warnings = new ArrayList<>();
        try (var log = ResultLog.open(file, false, warnings::add)) {
            assertThat(log.done()).containsExactly("a");
        }
        assertThat(warnings).singleElement().asString().contains("line 2");
    }

    @Test
    void inInputOrderAResultWaitsForTheOnesBeforeIt() throws IOException {
        Path file = dir.resolve("out.jsonl");
        try (var log = ResultLog.open(file, true, warning -> {})) {
            log.write(2, result("c", 3));
            log.write(1, result("b", 2));
            assertThat(Files.readString(file)).isEmpty();
            log.write(0, result("a", 1));
        }
        assertThat(Files.readAllLines(file))
                .extracting(line -> line.substring(0, 10))
                .containsExactly("{\"id\":\"a\",", "{\"id\":\"b\",", "{\"id\":\"c\",");
    }

    @Test
    void readsAResultsFileLongerThanOneBufferWithLinesAcrossTheBufferEdges() throws IOException {
        Path file = dir.resolve("out.jsonl");
        var text = new StringBuilder();
        for (int i = 0; i < 3000; i++)
            text.append("{\"id\":\"r")
                    .append(i)
                    .append("\",\"pad\":\"")
                    .append("x".repeat(i % 50))
                    .append("\"}\n");
        Files.writeString(file, text + "{\"id\":\"r3000\"");
        try (var log = ResultLog.open(file, false, warning -> {})) {
            assertThat(log.done()).hasSize(3000).contains("r0", "r2999").doesNotContain("r3000");
        }
        assertThat(Files.readString(file)).isEqualTo(text.toString());
    }
}
