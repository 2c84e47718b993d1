package dev.parley.server.responses;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Conversations under a folder ({@code conversations/} in the data folder), one file of JSON lines each. A file is
 * created whole under a temporary name and renamed into place; each append is one write at its end, under a lock on
 * the file (servers may share the folder) and one of this process's (whose threads the file lock does not part).
 * A reader takes no lock: a last line without its newline is an append still being written, and is not read yet.
 * An append whose writer died mid-line leaves a line that is not JSON; the next append starts on a line of its own,
 * and readers skip it (it was never acknowledged).
 */
final class FolderConversations implements ConversationStore {
    private final Path dir;
    /**
     * This process's appenders, by the id's hash: one lock for every folder, since a file lock held by one of two
     * stores in this process sharing a folder would fail the other's (the JVM holds file locks for the whole process).
     */
    private static final Object[] APPENDING = new Object[64];

    static {
        for (int i = 0; i < APPENDING.length; i++) APPENDING[i] = new Object();
    }

    FolderConversations(Path dataDir) {
        this.dir = dataDir.resolve("conversations");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the conversations folder " + dir, e);
        }
    }

    @Override
    public void create(String id, List<String> entries) {
        Path file = file(id);
        Path temporary = dir.resolve("." + id + "." + UUID.randomUUID() + ".tmp");
        try {
            Files.write(temporary, lines(entries));
            try {
                Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, file);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException ignored) {
                // the write failed already; the temporary file holds nothing anyone reads
            }
            throw new ResponseStoreUnavailableException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean append(String id, List<String> entries) {
        Path file = file(id);
        synchronized (APPENDING[Math.floorMod(id.hashCode(), APPENDING.length)]) {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                    FileLock ignored = channel.lock()) {
                long end = channel.size();
                ByteBuffer last = ByteBuffer.allocate(1);
                boolean torn = end > 0 && channel.read(last, end - 1) == 1 && last.get(0) != '\n';
                ByteBuffer bytes = ByteBuffer.wrap(lines(entries));
                if (torn) channel.write(ByteBuffer.wrap(new byte[] {'\n'}), end++);
                while (bytes.hasRemaining()) end += channel.write(bytes, end);
                return true;
            } catch (NoSuchFileException e) {
                return false;
            } catch (IOException e) {
                throw new ResponseStoreUnavailableException("cannot append to " + file + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public Optional<List<String>> read(String id) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file(id));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new ResponseStoreUnavailableException("cannot read " + file(id) + ": " + e.getMessage(), e);
        }
        List<String> entries = new ArrayList<>();
        for (int start = 0, end; (end = indexOf(bytes, start)) >= 0; start = end + 1)
            if (end > start) entries.add(new String(bytes, start, end - start, StandardCharsets.UTF_8));
        return Optional.of(entries);
    }

    /** Its first line, written whole when the file was created under another name. */
    @Override
    public Optional<String> first(String id) {
        try (BufferedReader lines = Files.newBufferedReader(file(id), StandardCharsets.UTF_8)) {
            return Optional.ofNullable(lines.readLine());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new ResponseStoreUnavailableException("cannot read " + file(id) + ": " + e.getMessage(), e);
        }
    }

    private static int indexOf(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) if (bytes[i] == '\n') return i;
        return -1;
    }

    @Override
    public boolean delete(String id) {
        try {
            return Files.deleteIfExists(file(id));
        } catch (IOException e) {
            throw new ResponseStoreUnavailableException("cannot delete " + file(id) + ": " + e.getMessage(), e);
        }
    }

    private static byte[] lines(List<String> entries) {
        var text = new StringBuilder();
        for (String entry : entries) text.append(entry).append('\n');
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The file of a conversation; ids are checked before they get here ({@link KeptConversations}). */
    private Path file(String id) {
        return dir.resolve(id + ".jsonl");
    }

    @Override
    public String where() {
        return dir.toString();
    }

    @Override
    public void close() {}
}
