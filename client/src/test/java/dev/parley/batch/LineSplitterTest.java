package dev.parley.batch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineSplitterTest {
    static List<String> lines(InputStream in) throws IOException {
        var splitter = new LineSplitter(in);
        List<String> lines = new ArrayList<>();
        for (var line = splitter.next(); line != null; line = splitter.next())
            lines.add(new String(line.bytes(), 0, line.length(), StandardCharsets.ISO_8859_1));
        return lines;
    }

    @Test
    void splitsAtNewlinesKeepingEmptyLinesAndALastLineWithoutOne() throws IOException {
        assertThat(lines(new ByteArrayInputStream("a\n\nb\r\nc".getBytes(StandardCharsets.ISO_8859_1))))
                .containsExactly("a", "", "b\r", "c");
        assertThat(lines(new ByteArrayInputStream("a\n".getBytes(StandardCharsets.ISO_8859_1))))
                .containsExactly("a");
        assertThat(lines(new ByteArrayInputStream(new byte[0]))).isEmpty();
    }

    @Test
    void linesLongerThanItsBuffersAndStreamsThatAnswerAFewBytesAtATime() throws IOException {
        String longLine = "x".repeat(200_000);
        byte[] bytes = (longLine + "\n" + "é\u00ff" + "\n" + longLine).getBytes(StandardCharsets.ISO_8859_1);
        var trickle = new ByteArrayInputStream(bytes) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 7));
            }
        };
        assertThat(lines(trickle)).containsExactly(longLine, "é\u00ff", longLine);
    }
}
