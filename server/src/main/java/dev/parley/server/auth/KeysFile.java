package dev.parley.server.auth;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.parley.api.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * A keys file: {@code {"keys":[{"name","sha256","rpm","tpm","rpd","tpd","models","monthly_budget","admin"}]}} in
 * JSON (see {@link KeyEntry}), or the same
 * in YAML when the file name ends in {@code .yaml} or {@code .yml}. Keys themselves are never stored:
 * {@link #newKey} makes one, the caller shows it once, and the file keeps its SHA-256.
 */
public final class KeysFile {
    private static final SecureRandom RANDOM = new SecureRandom();

    private KeysFile() {}

    /** The file's wire shape. */
    record Contents(List<KeyEntry> keys) {}

    /** The entries of {@code file}; an absent file has none. Names must be unique and limits positive. */
    public static List<KeyEntry> read(Path file) {
        if (!Files.exists(file)) return List.of();
        Contents contents;
        try {
            contents = mapper(file).readValue(file.toFile(), Contents.class);
        } catch (JsonProcessingException e) {
            int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            String where = e instanceof MismatchedInputException mismatch ? Json.where(mismatch) : "";
            throw new IllegalArgumentException(
                    "cannot read keys file %s:%d: %s%s".formatted(file, line, Json.problem(e), where), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read keys file " + file + ": " + e.getMessage(), e);
        }
        List<KeyEntry> keys = contents == null || contents.keys() == null ? List.of() : contents.keys();
        var names = new HashSet<String>();
        for (KeyEntry key : keys) {
            if (key.name() == null || key.name().isBlank())
                throw new IllegalArgumentException(file + ": a key has no name");
            if (!names.add(key.name())) throw new IllegalArgumentException(file + ": two keys are named " + key.name());
            if (key.sha256() == null || !key.sha256().matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException(file + ": key " + key.name() + " has no sha256 of 64 hex digits");
            }
            try {
                key.check();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": key " + key.name() + ": " + e.getMessage(), e);
            }
        }
        return keys;
    }

    /**
     * Adds {@code entry} to {@code file}, creating it if needed; the file is replaced whole, so a reader
     * never sees half of it.
     *
     * @throws IllegalArgumentException when a key of that name exists, or the entry's limits or budget are invalid
     */
    public static void add(Path file, KeyEntry entry) {
        entry.check();
        alone(file, () -> {
            List<KeyEntry> keys = new ArrayList<>(read(file));
            if (keys.stream().anyMatch(k -> k.name().equals(entry.name()))) {
                throw new IllegalArgumentException("a key named " + entry.name() + " is already in " + file);
            }
            keys.add(entry);
            write(file, keys);
            return entry;
        });
    }

    /**
     * Removes the key named {@code name} from {@code file}.
     *
     * @throws IllegalArgumentException when there is no key of that name
     */
    public static void remove(Path file, String name) {
        alone(file, () -> {
            List<KeyEntry> keys = new ArrayList<>(read(file));
            if (!keys.removeIf(k -> k.name().equals(name))) throw noSuchKey(file, name);
            write(file, keys);
            return name;
        });
    }

    /**
     * Replaces the key named {@code name} with what {@code change} makes of it (keeping its place in the
     * file), and returns the new entry.
     *
     * @throws IllegalArgumentException when there is no key of that name, or the change is invalid
     */
    public static KeyEntry update(Path file, String name, UnaryOperator<KeyEntry> change) {
        return alone(file, () -> {
            List<KeyEntry> keys = new ArrayList<>(read(file));
            for (int i = 0; i < keys.size(); i++) {
                if (!keys.get(i).name().equals(name)) continue;
                KeyEntry changed = change.apply(keys.get(i));
                if (!changed.name().equals(name)) throw new IllegalArgumentException("a key keeps its name");
                changed.check();
                keys.set(i, changed);
                write(file, keys);
                return changed;
            }
            throw noSuchKey(file, name);
        });
    }

    /**
     * Runs a read-modify-write of {@code file} alone: another process editing it waits on a lock file beside it
     * ({@code .NAME.lock}, locked by the operating system, so a process that dies lets go), another thread here on
     * this class. Without it, two {@code parley keys add} at once each read the file before the other wrote it, and
     * every key but the last writer's was printed as added yet never stored.
     */
    private static <T> T alone(Path file, Supplier<T> edit) {
        Path absolute = file.toAbsolutePath();
        Path lock = absolute.resolveSibling("." + absolute.getFileName() + ".lock");
        synchronized (KeysFile.class) { // a JVM may hold a file's lock once: its threads take turns first
            try {
                Files.createDirectories(absolute.getParent());
                try (FileChannel channel = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                        FileLock held = channel.lock()) {
                    return edit.get();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot lock keys file " + file + " with " + lock, e);
            }
        }
    }

    private static IllegalArgumentException noSuchKey(Path file, String name) {
        return new IllegalArgumentException("no key named " + name + " in " + file);
    }

    /** Replaces {@code file} whole with {@code keys}: written beside it, then moved over it atomically. */
    private static void write(Path file, List<KeyEntry> keys) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path temp = Files.createTempFile(parent, ".keys", ".tmp");
            mapper(file).writeValue(temp.toFile(), new Contents(keys));
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write keys file " + file, e);
        }
    }

    /** A new key: {@code sk-parley-} and 32 random bytes, base64url. */
    public static String newKey() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return "sk-parley-" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** The hex SHA-256 of a key's UTF-8 bytes, as the file stores it. */
    public static String sha256(String key) {
        return HexFormat.of().formatHex(digest(key));
    }

    static byte[] digest(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static ObjectMapper mapper(Path file) {
        String name = file.getFileName().toString();
        var builder = name.endsWith(".yaml") || name.endsWith(".yml") ? YAMLMapper.builder() : JsonMapper.builder();
        return builder.propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT) // rpm: 100.5 is a slip, not 100
                .enable(SerializationFeature.INDENT_OUTPUT)
                .serializationInclusion(JsonInclude.Include.NON_NULL)
                .build();
    }
}
