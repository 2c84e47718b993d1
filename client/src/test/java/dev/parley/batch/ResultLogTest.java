package dev.parley.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
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
        return new BatchResult(id, null, line, null, null, null, 200, 1, null, null, null);
    }

    @Test
    void remembersTheIdsOfWholeLinesAndCutsOffAnUnfinishedLastOne() throws IOException {
        Path file = dir.resolve("out.jsonl");
        Files.writeString(
                file,
                "{\"id\":\"a\",\"line\":1}\n{\"id\":\"b\",\"line\":2}\n{\"id\":\"c\",\"respo",
                StandardCharsets.UTF_8);
        List<String> warnings = new ArrayList<>();
        try (var log = ResultLog.open(file, false, warnings::add)) {
            assertThat(log.done()).containsExactlyInAnyOrder("a", "b");
            log.write(0, result("c", 3), null);
        }
        assertThat(Files.readAllLines(file))
                .containsExactly(
                        "{\"id\":\"a\",\"line\":1}",
                        "{\"id\":\"b\",\"line\":2}",
                        "{\"id\":\"c\",\"line\":3,\"status\":200,\"attempts\":1}");
        assertThat(warnings).singleElement().asString().contains("unfinished last line");
    }

    @Test
    void aLineThatIsNotJsonIsNotCountedAsDone() throws IOException {
        Path file = dir.resolve("out.jsonl");
        Files.writeString(file, "{\"id\":\"a\",\"line\":1}\ngarbage\n", StandardCharsets.UTF_8);
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
            assertThat(log.write(2, result("c", 3), null)).isEmpty();
            assertThat(log.write(1, result("b", 2), null)).isEmpty();
            assertThat(Files.readString(file)).isEmpty();
            assertThat(log.write(0, result("a", 1), null))
                    .extracting(BatchResult::id)
                    .containsExactly("a", "b", "c");
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
                    .append("\",\"line\":")
                    .append(i + 1)
                    .append(",\"pad\":\"")
                    .append("x".repeat(i % 50))
                    .append("\"}\n");
        Files.writeString(file, text + "{\"id\":\"r3000\"");
        try (var log = ResultLog.open(file, false, warning -> {})) {
            assertThat(log.done()).hasSize(3000).contains("r0", "r2999").doesNotContain("r3000");
        }
        assertThat(Files.readString(file)).isEqualTo(text.toString());
    }

    static final String OK = "{\"id\":\"ok\",\"line\":1,\"status\":200,\"attempts\":1}";
    static final String DOWN =
            "{\"id\":\"down\",\"line\":2,\"error\":{\"message\":\"could not connect\",\"type\":\"connection_error\"},\"status\":0,\"attempts\":5}";
    static final String BUSY =
            "{\"id\":\"busy\",\"line\":3,\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"},\"status\":503,\"attempts\":5}";
    static final String MISSING =
            "{\"id\":\"missing\",\"line\":4,\"error\":{\"message\":\"no such model\",\"type\":\"invalid_request_error\"},\"status\":404,\"attempts\":1}";
    static final String INVALID =
            "{\"id\":\"line-5-0011223344556677\",\"line\":5,\"error\":{\"message\":\"not JSON\",\"code\":\"invalid_line\"},\"status\":0,\"attempts\":0}";

    @Test
    void failuresThatMayPassAndInvalidLinesAreTakenOutToBeRedoneOthersStayDone() throws IOException {
        Path file = dir.resolve("out.jsonl");
        Files.write(file, List.of(OK, DOWN, BUSY, MISSING, INVALID));
        try (var log = ResultLog.open(file, ResultFormat.PARLEY, false, false, warning -> {})) {
            assertThat(log.done()).containsExactlyInAnyOrder("ok", "missing");
            assertThat(log.redone()).isEqualTo(2);
        }
        assertThat(Files.readAllLines(file)).containsExactly(OK, MISSING);
        assertThat(dir.resolve("out.jsonl.rewrite")).doesNotExist();
    }

    @Test
    void retryFailedRedoesEveryFailure() throws IOException {
        Path file = dir.resolve("out.jsonl");
        Files.write(file, List.of(OK, DOWN, MISSING));
        try (var log = ResultLog.open(file, ResultFormat.PARLEY, false, true, warning -> {})) {
            assertThat(log.done()).containsExactly("ok");
            assertThat(log.redone()).isEqualTo(2);
        }
        assertThat(Files.readAllLines(file)).containsExactly(OK);
    }

    @Test
    void aRewriteThatACrashInterruptedIsFinishedFromItsCompleteJournalAndADraftIsIgnored() throws IOException {
        Path file = dir.resolve("out.jsonl");
        Files.write(file, List.of(OK, DOWN, MISSING));
        Files.write(dir.resolve("out.jsonl.rewrite"), List.of(OK, MISSING)); // renamed into place, not copied
        try (var log = ResultLog.open(file, ResultFormat.PARLEY, false, false, warning -> {})) {
            assertThat(log.done()).containsExactlyInAnyOrder("ok", "missing");
        }
        assertThat(Files.readAllLines(file)).containsExactly(OK, MISSING);

        Files.write(dir.resolve("out.jsonl.rewrite.tmp"), List.of("{\"id\":\"half")); // never completed
        try (var log = ResultLog.open(file, ResultFormat.PARLEY, false, false, warning -> {})) {
            assertThat(log.done()).containsExactlyInAnyOrder("ok", "missing");
        }
        assertThat(Files.readAllLines(file)).containsExactly(OK, MISSING);
        assertThat(dir.resolve("out.jsonl.rewrite.tmp")).doesNotExist();
    }

    @Test
    void aSecondOpenOfTheSameFileIsRefusedWhileTheFirstHoldsIt() throws IOException {
        Path file = dir.resolve("out.jsonl");
        try (var first = ResultLog.open(file, false, warning -> {})) {
            assertThatThrownBy(() -> ResultLog.open(file, false, warning -> {}))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("out.jsonl is being written by another batch run");
        }
        ResultLog.open(file, false, warning -> {}).close(); // released
    }

    @Test
    void aResultsFileThatCannotBeOpenedSaysWhy() {
        assertThatThrownBy(() -> ResultLog.open(dir, false, warning -> {}))
                .hasMessage("cannot open results file " + dir + ": is a directory");
        assertThatThrownBy(() -> ResultLog.open(dir.resolve("no/out.jsonl"), false, warning -> {}))
                .hasMessage("cannot open results file " + dir.resolve("no/out.jsonl") + ": no such file or directory");
    }

    @Test
    void releasingWritesTheHeldResultsAndThenEachAsItFinishesUntilClosedToWrites() throws IOException {
        Path file = dir.resolve("out.jsonl");
        try (var log = ResultLog.open(file, true, warning -> {})) {
            log.write(2, result("c", 3), null);
            log.write(1, result("b", 2), null);
            assertThat(log.held()).isEqualTo(2);
            assertThat(log.release(false)).extracting(BatchResult::id).containsExactly("b", "c");
            assertThat(log.write(0, result("a", 1), null))
                    .extracting(BatchResult::id)
                    .containsExactly("a");
            log.write(3, result("d", 4), null);
            assertThat(log.release(true)).isEmpty();
            assertThat(log.write(4, result("e", 5), null)).isEmpty();
            assertThat(log.appended()).isEqualTo(4);
        }
        assertThat(Files.readAllLines(file))
                .extracting(line -> line.substring(0, 10))
                .containsExactly("{\"id\":\"b\",", "{\"id\":\"c\",", "{\"id\":\"a\",", "{\"id\":\"d\",");
    }

    @Test
    void aResultsFileInAnotherFormatIsRefusedRatherThanFilledWithDuplicates() throws IOException {
        Path file = dir.resolve("out.jsonl");
        Files.write(file, List.of(OK));
        assertThatThrownBy(() -> ResultLog.open(file, ResultFormat.COOKBOOK, false, false, warning -> {}))
                .hasMessage(file + " holds results in the parley format, not cookbook: use the same format, or "
                        + "another results file");
        assertThatThrownBy(() -> ResultLog.open(file, ResultFormat.OPENAI_BATCH, false, false, warning -> {}))
                .hasMessageContaining("holds results in the parley format, not openai-batch");
        assertThat(Files.readAllLines(file)).containsExactly(OK);
    }
}
