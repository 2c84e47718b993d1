package dev.parley.server.usage;

import dev.parley.api.Json;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Totals in a data folder, one file a UTC day: {@code usage/2026-11-30.json}, holding
 * {@code {"day":"2026-11-30","usage":[{"key","model","requests","prompt_tokens","completion_tokens"}],"applied":[…]}}
 * ({@code applied}: the ids of the last flushes added, so that a flush sent again is not counted twice). A day's
 * file is replaced whole (written beside it, forced to disk, renamed over it), so a crash leaves the old totals
 * or the new ones, never half a file, and a reader (such as {@code parley keys usage}) never sees a partial one.
 *
 * <p>One server writes a folder: a writing store holds a lock on {@code usage/.lock}. Readers take no lock.
 */
final class FolderStore implements LedgerStore {
    private final Path dir;
    private final FileChannel lockChannel; // null for a reader
    private final FileLock lock;

    /** A day's file; {@code applied} holds the ids of the last flushes added to it, so none is added twice. */
    record DayFile(String day, List<Entry> usage, List<String> applied) {}

    /** Flush ids a day's file remembers: a flush is sent again at most until it succeeds once. */
    private static final int REMEMBERED = 32;

    /** A day's totals and the flushes they hold. */
    private record Day(Map<Line, Counts> totals, List<String> applied) {}

    record Entry(String key, String model, long requests, long promptTokens, long completionTokens) {}

    private FolderStore(Path dir, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * The ledger under {@code dataDir}; a writer locks it.
     *
     * @throws IllegalStateException when another server writes it, or it cannot be made
     */
    static FolderStore open(Path dataDir, boolean writer) {
        Path dir = dataDir.resolve("usage");
        if (!writer) return new FolderStore(dir, null, null);
        try {
            Files.createDirectories(dir);
            FileChannel channel =
                    FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // this process writes it already
            }
            if (lock == null) {
                channel.close();
                throw new IllegalStateException("another Parley server keeps its usage ledger in " + dataDir);
            }
            return new FolderStore(dir, channel, lock);
        } catch (IOException e) {
            throw new IllegalStateException("cannot keep a usage ledger in " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void add(String flushId, Map<Line, Counts> deltas) {
        Map<LocalDate, Map<Line, Counts>> byDay = new TreeMap<>();
        deltas.forEach((line, counts) ->
                byDay.computeIfAbsent(line.day(), d -> new HashMap<>()).put(line, counts));
        try {
            for (var day : byDay.entrySet()) {
                Day known = readDay(day.getKey());
                if (known.applied().contains(flushId)) continue;
                day.getValue().forEach((line, counts) -> known.totals().merge(line, counts, Counts::plus));
                List<String> applied = new ArrayList<>(known.applied());
                applied.add(flushId);
                writeDay(
                        day.getKey(),
                        known.totals(),
                        applied.subList(Math.max(0, applied.size() - REMEMBERED), applied.size()));
            }
        } catch (IOException e) {
            throw new LedgerUnavailableException("cannot write the usage ledger in " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Map<Line, Counts> read(LocalDate from, LocalDate to) {
        Map<Line, Counts> found = new HashMap<>();
        if (!Files.isDirectory(dir)) return found;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.toList()) {
                LocalDate day = dayOf(file);
                if (day != null && !day.isBefore(from) && !day.isAfter(to))
                    found.putAll(readDay(day).totals());
            }
        } catch (IOException e) {
            throw new LedgerUnavailableException("cannot read the usage ledger in " + dir + ": " + e.getMessage(), e);
        }
        return found;
    }

    private static LocalDate dayOf(Path file) {
        String name = file.getFileName().toString();
        if (!name.endsWith(".json")) return null;
        try {
            return LocalDate.parse(name.substring(0, name.length() - ".json".length()));
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private Day readDay(LocalDate day) throws IOException {
        Map<Line, Counts> totals = new HashMap<>();
        DayFile file;
        try {
            file = Json.mapper().readValue(Files.readAllBytes(file(day)), DayFile.class);
        } catch (NoSuchFileException e) {
            return new Day(totals, List.of());
        }
        List<String> applied = file.applied() == null ? List.of() : file.applied();
        if (file.usage() == null) return new Day(totals, applied);
        for (Entry entry : file.usage()) {
            totals.merge(
                    new Line(day, entry.key(), entry.model()),
                    new Counts(entry.requests(), entry.promptTokens(), entry.completionTokens()),
                    Counts::plus);
        }
        return new Day(totals, applied);
    }

    private void writeDay(LocalDate day, Map<Line, Counts> totals, List<String> applied) throws IOException {
        List<Entry> entries = new ArrayList<>();
        totals.entrySet().stream()
                .sorted(Map.Entry.comparingByKey(
                        java.util.Comparator.comparing(Line::key).thenComparing(Line::model)))
                .forEach(e -> entries.add(new Entry(
                        e.getKey().key(),
                        e.getKey().model(),
                        e.getValue().requests(),
                        e.getValue().promptTokens(),
                        e.getValue().completionTokens())));
        byte[] bytes = Json.mapper().writeValueAsBytes(new DayFile(day.toString(), entries, applied));
        Path temp = Files.createTempFile(dir, ".usage-", ".tmp");
        try {
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                out.write(java.nio.ByteBuffer.wrap(bytes));
                out.force(true);
            }
            try {
                Files.move(temp, file(day), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file(day), StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private Path file(LocalDate day) {
        return dir.resolve(day + ".json");
    }

    @Override
    public String where() {
        return dir.toString();
    }

    @Override
    public void close() {
        try {
            if (lock != null) lock.release();
            if (lockChannel != null) lockChannel.close();
        } catch (IOException e) {
            // released when the process ends
        }
    }
}
