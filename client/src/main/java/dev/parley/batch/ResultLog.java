package dev.parley.batch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The results file, which is also the resume ledger: one JSON object per line, each with the {@code id} of
 * its input line. Opening it reads the ids already written and cuts off a last line that a crash left
 * without its newline; results are then appended, each with one write, so a killed process leaves whole
 * lines and at most one partial last line. In input order, a result waits for those before it.
 *
 * <p>Thread-safe. Close it to release the file.
 */
final class ResultLog implements AutoCloseable {
    private final FileChannel file;
    private final Set<String> done;
    private final boolean keepOrder;
    private final Map<Long, byte[]> waiting = new TreeMap<>();
    private long next;

    private ResultLog(FileChannel file, Set<String> done, boolean keepOrder) {
        this.file = file;
        this.done = done;
        this.keepOrder = keepOrder;
    }

    /**
     * Opens {@code path} for appending, creating it if needed.
     *
     * @param warn told about lines that are kept out of the ledger (a cut-off last line, one that is not JSON)
     */
    static ResultLog open(Path path, boolean keepOrder, Consumer<String> warn) {
        try {
            FileChannel file = FileChannel.open(
                    path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            Set<String> done = new HashSet<>();
            long whole = readDone(file, done, warn);
            if (whole < file.size()) {
                warn.accept("%s: cutting off an unfinished last line (%d bytes) left by an interrupted run"
                        .formatted(path, file.size() - whole));
                file.truncate(whole);
            }
            file.position(whole);
            return new ResultLog(file, done, keepOrder);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open results file " + path, e);
        }
    }

    /**
     * Reads the ids of the whole lines, a buffer at a time (a results file may be larger than memory
     * allows as one array), answering where the whole lines end.
     */
    private static long readDone(FileChannel file, Set<String> done, Consumer<String> warn) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        var line = new ByteArrayOutputStream();
        long position = 0;
        long lineNumber = 0;
        for (int read = file.read(buffer, 0); read > 0; read = file.read(buffer, position)) {
            byte[] bytes = buffer.array();
            int start = 0;
            for (int i = 0; i < read; i++) {
                if (bytes[i] != '\n') continue;
                line.write(bytes, start, i - start);
                remember(line.toString(StandardCharsets.UTF_8), ++lineNumber, done, warn);
                line.reset();
                start = i + 1;
            }
            line.write(bytes, start, read - start);
            position += read;
            buffer.clear();
        }
        return position - line.size();
    }

    private static void remember(String line, long lineNumber, Set<String> done, Consumer<String> warn) {
        if (line.isBlank()) return;
        try {
            JsonNode id = Json.tree(line).get("id");
            if (id != null && id.isTextual()) done.add(id.asText());
            else warn.accept("results line %d has no id; its request will be sent again".formatted(lineNumber));
        } catch (UncheckedIOException e) {
            warn.accept("results line %d is not JSON; its request will be sent again".formatted(lineNumber));
        }
    }

    /** The ids of the results already written when the log was opened. */
    Set<String> done() {
        return Set.copyOf(done);
    }

    /**
     * Appends one result, or in input order holds it until every result of a lower {@code sequence} is
     * written. Sequences are 0, 1, 2, … over the requests sent by this run.
     */
    synchronized void write(long sequence, BatchResult result) {
        byte[] line = (Json.write(result) + "\n").getBytes(StandardCharsets.UTF_8);
        if (!keepOrder) {
            append(line);
            return;
        }
        waiting.put(sequence, line);
        for (byte[] ready = waiting.remove(next); ready != null; ready = waiting.remove(next)) {
            append(ready);
            next++;
        }
    }

    /** Results held back for order when the run stopped early; they are not written, and are redone next time. */
    synchronized int held() {
        return waiting.size();
    }

    private void append(byte[] line) {
        try {
            ByteBuffer buffer = ByteBuffer.wrap(line);
            while (buffer.hasRemaining()) file.write(buffer);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a result", e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            file.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
