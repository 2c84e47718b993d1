package dev.parley.server.batches;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The files of OpenAI's Files API, kept under a folder: each file's content and, beside it, its object (with the
 * key that owns it). A file is written whole to a temporary name and renamed into place, so a crash never leaves
 * half a file under an id. Files are the owner's alone: another key sees none of them.
 *
 * <p>Thread-safe.
 */
public final class FileStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] ALPHABET =
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

    /** The purposes OpenAI accepts for uploads; Parley serves {@code batch} and keeps the others as files. */
    public static final List<String> PURPOSES =
            List.of("assistants", "batch", "fine-tune", "vision", "user_data", "evals");
    // Files the server writes itself (a batch's results) have purpose batch_output.

    private final Path dir;

    /** A file as the Files API describes it; {@code owner} is the key's name and stays on the server. */
    public record StoredFile(String id, String owner, long bytes, long createdAt, String filename, String purpose) {
        public ObjectNode toJson() {
            ObjectNode node = JSON.createObjectNode();
            node.put("id", id).put("object", "file").put("bytes", bytes).put("created_at", createdAt);
            node.put("filename", filename).put("purpose", purpose).put("status", "processed");
            node.putNull("expires_at");
            node.putNull("status_details");
            return node;
        }
    }

    public FileStore(Path dir) {
        this.dir = dir.resolve("files");
        try {
            Files.createDirectories(this.dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the files folder " + this.dir, e);
        }
    }

    /** Stores {@code content} (read to its end) as a new file of {@code owner}. */
    public StoredFile create(String owner, String filename, String purpose, InputStream content, long now)
            throws IOException {
        String id = "file-" + random(24);
        Path temp = Files.createTempFile(dir, ".upload-", ".tmp");
        try {
            long bytes = Files.copy(content, temp, StandardCopyOption.REPLACE_EXISTING);
            return adopt(id, owner, filename, purpose, temp, bytes, now);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Stores the file at {@code source} (moved, not copied) as a new file of {@code owner}. */
    public StoredFile adopt(String owner, String filename, String purpose, Path source, long now) throws IOException {
        return adopt("file-" + random(24), owner, filename, purpose, source, Files.size(source), now);
    }

    /**
     * Stores the file at {@code source} (moved) as file {@code id} of {@code owner}. Done again after a crash, it
     * finishes what was started: content already moved stays.
     */
    public StoredFile adopt(String id, String owner, String filename, String purpose, Path source, long now)
            throws IOException {
        Path target = content(id);
        long bytes = Files.exists(source) ? Files.size(source) : Files.size(target);
        return adopt(id, owner, filename, purpose, source, bytes, now);
    }

    private StoredFile adopt(
            String id, String owner, String filename, String purpose, Path source, long bytes, long now)
            throws IOException {
        var file = new StoredFile(id, owner, bytes, now, filename, purpose);
        if (Files.exists(source)) move(source, content(file));
        ObjectNode meta = file.toJson().put("owner", owner);
        writeAtomically(dir.resolve(id + ".json"), JSON.writeValueAsBytes(meta));
        return file;
    }

    /** The file {@code id} if {@code owner} has it. */
    public Optional<StoredFile> find(String owner, String id) {
        if (!id.matches("file-[A-Za-z0-9]{1,64}")) return Optional.empty();
        try {
            JsonNode meta = JSON.readTree(dir.resolve(id + ".json").toFile());
            StoredFile file = new StoredFile(
                    meta.get("id").asText(),
                    meta.get("owner").asText(),
                    meta.get("bytes").asLong(),
                    meta.get("created_at").asLong(),
                    meta.get("filename").asText(),
                    meta.get("purpose").asText());
            return file.owner().equals(owner) ? Optional.of(file) : Optional.empty();
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code owner}'s files, newest first; only those of {@code purpose} unless it is null. */
    public List<StoredFile> list(String owner, String purpose) {
        List<StoredFile> files = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path entry : entries.toList()) {
                String name = entry.getFileName().toString();
                if (!name.endsWith(".json")) continue;
                find(owner, name.substring(0, name.length() - ".json".length()))
                        .filter(f -> purpose == null || f.purpose().equals(purpose))
                        .ifPresent(files::add);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        files.sort(Comparator.comparingLong(StoredFile::createdAt)
                .thenComparing(StoredFile::id)
                .reversed());
        return files;
    }

    /** Where a file's content is. */
    public Path content(StoredFile file) {
        return content(file.id());
    }

    Path content(String id) {
        return dir.resolve(id + ".jsonl");
    }

    /** Deletes {@code owner}'s file {@code id}; false when there is none. */
    public boolean delete(String owner, String id) throws IOException {
        Optional<StoredFile> file = find(owner, id);
        if (file.isEmpty()) return false;
        Files.deleteIfExists(dir.resolve(id + ".json"));
        Files.deleteIfExists(content(file.get()));
        return true;
    }

    static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path temp = Files.createTempFile(target.getParent(), ".write-", ".tmp");
        try {
            Files.write(temp, bytes);
            move(temp, target);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static String random(int length) {
        char[] out = new char[length];
        for (int i = 0; i < length; i++) out[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
        return new String(out);
    }
}
