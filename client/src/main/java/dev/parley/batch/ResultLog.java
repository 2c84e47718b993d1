package dev.parley.batch;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The results file, which is also the resume ledger. Opening it takes an exclusive lock on it, held until
 * it is closed, so that two runs never write one file; reads back which input lines are done (see
 * {@link ResultFormat#decode}); cuts off a last line that a crash left without its newline; and takes out
 * the lines that this run will redo: invalid lines and failures that may pass on another try, or every
 * failure when asked. Results are then appended, each with one write, so a killed process leaves whole
 * lines and at most one partial last line. In input order, a result waits for those before it.
 *
 * <p>Taking lines out rewrites the file through a journal next to it ({@code FILE.rewrite}, renamed into
 * place only once complete), copied over the file and then deleted: a crash at any point leaves either
 * the old file or a complete journal that the next open finishes copying.
 *
 * <p>Thread-safe. Close it to release the file.
 */
final class ResultLog implements AutoCloseable {
    private final FileChannel file;
    private final FileLock lock;
    private final ResultFormat format;
    private final Map<String, List<ResultFormat.State>> done;
    private final int redone;
    private boolean keepOrder;
    private final Map<Long, Pending> waiting = new TreeMap<>();
    private long next;
    private long appended;
    private boolean closedToWrites;

    /** A result to write, with the bytes of its line; null bytes when the format writes nothing for it. */
    private record Pending(BatchResult result, byte[] bytes) {}

    private ResultLog(
            FileChannel file,
            FileLock lock,
            ResultFormat format,
            Map<String, List<ResultFormat.State>> done,
            int redone,
            boolean keepOrder) {
        this.file = file;
        this.lock = lock;
        this.format = format;
        this.done = done;
        this.redone = redone;
        this.keepOrder = keepOrder;
    }

    /** Opens {@code path} in Parley's format for appending, redoing only failures that may pass on another try. */
    static ResultLog open(Path path, boolean keepOrder, Consumer<String> warn) {
        return open(path, ResultFormat.PARLEY, keepOrder, false, warn);
    }

    /**
     * Opens {@code path} for appending, creating it if needed.
     *
     * @param retryFailed redo every failed line, not only those that failed on errors that may pass
     * @param warn told about lines that are kept out of the ledger (a cut-off last line, one that is not a
     *     results line)
     * @throws UncheckedIOException when the file cannot be opened (the message names the reason) or another
     *     run holds its lock
     */
    static ResultLog open(
            Path path, ResultFormat format, boolean keepOrder, boolean retryFailed, Consumer<String> warn) {
        FileChannel file;
        try {
            file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open results file " + FileErrors.describe(path, e), e);
        }
        try {
            FileLock lock = lock(file, path);
            try {
                finishRewrite(file, path);
                Map<String, List<ResultFormat.State>> done = new HashMap<>();
                var scan = new Scan(format, retryFailed, done, warn);
                long whole = scan.read(file, null);
                if (scan.foreign != null) {
                    String message = ("%s holds results in the %s format, not %s: use the same format, or another "
                                    + "results file")
                            .formatted(path, scan.foreign.cliName(), format.cliName());
                    throw new UncheckedIOException(message, new IOException(message));
                }
                if (whole < file.size()) {
                    warn.accept("%s: cutting off an unfinished last line (%d bytes) left by an interrupted run"
                            .formatted(path, file.size() - whole));
                    file.truncate(whole);
                }
                if (scan.dropped > 0) rewrite(file, path, format, retryFailed, warn);
                file.position(file.size());
                return new ResultLog(file, lock, format, done, scan.redoneFailures, keepOrder);
            } catch (IOException | RuntimeException e) {
                lock.release();
                throw e;
            }
        } catch (IOException e) {
            closeQuietly(file);
            throw new UncheckedIOException("cannot use results file " + FileErrors.describe(path, e), e);
        } catch (RuntimeException e) {
            closeQuietly(file);
            throw e;
        }
    }

    private static FileLock lock(FileChannel file, Path path) throws IOException {
        FileLock lock;
        try {
            lock = file.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            String message = "%s is being written by another batch run; wait for it to finish, or write to another file"
                    .formatted(path);
            throw new UncheckedIOException(message, new IOException(message));
        }
        return lock;
    }

    private static Path journal(Path path) {
        return path.resolveSibling(path.getFileName() + ".rewrite");
    }

    private static Path journalDraft(Path path) {
        return path.resolveSibling(path.getFileName() + ".rewrite.tmp");
    }

    /** Finishes a rewrite that a crash interrupted: a complete journal is copied over the file. */
    private static void finishRewrite(FileChannel file, Path path) throws IOException {
        Files.deleteIfExists(journalDraft(path)); // never renamed into place: the file is as it was
        Path journal = journal(path);
        if (!Files.exists(journal)) return;
        try (FileChannel source = FileChannel.open(journal, StandardOpenOption.READ)) {
            long size = source.size();
            for (long copied = 0; copied < size; ) copied += file.transferFrom(source, copied, size - copied);
            file.truncate(size);
            file.force(true);
        }
        Files.delete(journal);
    }

    /** Writes the file again without the lines this run redoes, through the journal. */
    private static void rewrite(
            FileChannel file, Path path, ResultFormat format, boolean retryFailed, Consumer<String> warn)
            throws IOException {
        Path draft = journalDraft(path);
        try (FileChannel out = FileChannel.open(
                        draft,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE);
                OutputStream stream = Channels.newOutputStream(out)) {
            new Scan(format, retryFailed, new HashMap<>(), message -> {}).read(file, stream);
            stream.flush();
            out.force(true);
        }
        Files.move(draft, journal(path), StandardCopyOption.ATOMIC_MOVE);
        finishRewrite(file, path);
    }

    /** One pass over the whole lines of the file, a buffer at a time (it may be larger than memory). */
    private static final class Scan {
        final ResultFormat format;
        final boolean retryFailed;
        final Map<String, List<ResultFormat.State>> done;
        final Consumer<String> warn;
        int dropped;
        int redoneFailures;
        /** A format other than this run's that a line of the file is in; null when none. */
        ResultFormat foreign;

        Scan(
                ResultFormat format,
                boolean retryFailed,
                Map<String, List<ResultFormat.State>> done,
                Consumer<String> warn) {
            this.format = format;
            this.retryFailed = retryFailed;
            this.done = done;
            this.warn = warn;
        }

        /** Reads every whole line, copying those kept to {@code kept} when given; answers where they end. */
        long read(FileChannel file, OutputStream kept) throws IOException {
            ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
            var line = new ByteArrayOutputStream();
            long position = 0;
            long lineNumber = 0;
            for (int read = file.read(buffer, 0); read > 0; read = file.read(buffer, position)) {
                byte[] bytes = buffer.array();
                int start = 0;
                for (int i = 0; i < read; i++) {
                    if (bytes[i] != '\n') continue;
                    line.write(bytes, start, i + 1 - start);
                    if (keep(line.toString(StandardCharsets.UTF_8).strip(), ++lineNumber) && kept != null)
                        line.writeTo(kept);
                    line.reset();
                    start = i + 1;
                }
                line.write(bytes, start, read - start);
                position += read;
                buffer.clear();
            }
            return position - line.size();
        }

        private boolean keep(String line, long lineNumber) {
            if (line.isEmpty()) return true;
            ResultFormat.Entry entry = format.decode(line);
            if (entry == null || entry.state() == null) {
                for (ResultFormat other : ResultFormat.values()) {
                    if (other != format && foreign == null && other.decode(line) != null) foreign = other;
                }
                warn.accept("results line %d is not a %s results line; its request will be sent again"
                        .formatted(lineNumber, format.cliName()));
                return true;
            }
            boolean redo = switch (entry.state()) {
                case SUCCEEDED -> false;
                case INVALID, FAILED_RETRYABLE -> true;
                case FAILED -> retryFailed;
            };
            if (redo) {
                dropped++;
                if (entry.state() != ResultFormat.State.INVALID) redoneFailures++;
                return false;
            }
            done.computeIfAbsent(entry.key(), key -> new ArrayList<>(1)).add(entry.state());
            return true;
        }
    }

    /** Failed lines of earlier runs that this run sends again. */
    int redone() {
        return redone;
    }

    /**
     * How the line with this key stands when an earlier run wrote it ({@code SUCCEEDED} or {@code FAILED});
     * null when it is to be done. Each written line answers for one input line.
     */
    synchronized ResultFormat.State claim(String key) {
        List<ResultFormat.State> states = done.get(key);
        if (states == null) return null;
        ResultFormat.State state = states.removeLast();
        if (states.isEmpty()) done.remove(key);
        return state;
    }

    /** The keys of the results already written when the log was opened, and not yet claimed. */
    synchronized Set<String> done() {
        return Set.copyOf(done.keySet());
    }

    /**
     * Appends one result, or in input order holds it until every result of a lower {@code sequence} is
     * written; answers the results appended by this call, in the order written. Sequences are 0, 1, 2, …
     * over the lines this run writes.
     *
     * @param echo the input line without its {@code metadata} (for the cookbook's format); may be null
     */
    synchronized List<BatchResult> write(long sequence, BatchResult result, JsonNode echo) {
        if (closedToWrites) return List.of();
        var pending = new Pending(result, format.encode(result, echo));
        if (!keepOrder) {
            append(pending);
            return List.of(result);
        }
        waiting.put(sequence, pending);
        List<BatchResult> written = new ArrayList<>();
        for (Pending ready = waiting.remove(next); ready != null; ready = waiting.remove(next)) {
            append(ready);
            written.add(ready.result());
            next++;
        }
        return written;
    }

    /**
     * Writes every result held back for input order at once, in input order but after the gaps they were
     * waiting for, so that no finished result is lost; answers the results written. Then, when
     * {@code closeToWrites}, writes nothing more (for a run being interrupted, so that what it reports
     * written is what the file holds), else every result as it finishes.
     */
    synchronized List<BatchResult> release(boolean closeToWrites) {
        List<BatchResult> written = new ArrayList<>();
        if (!closedToWrites) {
            for (Pending pending : waiting.values()) {
                append(pending);
                written.add(pending.result());
            }
        }
        waiting.clear();
        keepOrder = false;
        closedToWrites |= closeToWrites;
        return written;
    }

    /** Lines appended since the log was opened. */
    synchronized long appended() {
        return appended;
    }

    /** Results held back for input order. */
    synchronized int held() {
        return waiting.size();
    }

    private void append(Pending pending) {
        if (pending.bytes() == null) return;
        try {
            ByteBuffer buffer = ByteBuffer.wrap(pending.bytes());
            while (buffer.hasRemaining()) file.write(buffer);
            appended++;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a result: " + FileErrors.reason(e), e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (lock.isValid()) lock.release();
            file.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void closeQuietly(FileChannel file) {
        try {
            file.close();
        } catch (IOException ignored) {
            // the open failed already; that is the error to report
        }
    }
}
