package dev.parley.server.responses;

import dev.parley.api.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Responses under a folder ({@code responses/} in the data folder), one file each, written whole to a temporary name
 * and renamed into place, so that a crash never leaves half a response under an id. Several servers may share the
 * folder. Files older than {@code keep} are deleted when the store opens and then at most once an hour, beside the
 * write that finds the hour passed.
 */
final class FolderResponses implements ResponseStore {
    private static final Duration SWEEP_EVERY = Duration.ofHours(1);

    private final Path dir;
    private final Duration keep;
    private final Clock clock;
    private Instant swept; // guarded by this

    FolderResponses(Path dataDir, Duration keep, Clock clock) {
        this.dir = dataDir.resolve("responses");
        this.keep = keep;
        this.clock = clock;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the responses folder " + dir, e);
        }
        swept = clock.instant();
        sweep();
    }

    @Override
    public void put(StoredResponse response) {
        Path file = file(response.id());
        Path temporary = dir.resolve("." + response.id() + "." + UUID.randomUUID() + ".tmp");
        try {
            Files.write(temporary, Json.bytes(response.toJson()));
            try {
                Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException ignored) {
                // the write failed already; a stray temporary file is swept as old later
            }
            throw new ResponseStoreUnavailableException("cannot write " + file + ": " + e.getMessage(), e);
        }
        if (sweepDue()) Thread.ofVirtual().name("parley-responses-sweep").start(this::sweep); // no caller waits
    }

    @Override
    public Optional<StoredResponse> get(String id) {
        try {
            return Optional.of(StoredResponse.fromJson(Json.mapper().readTree(Files.readAllBytes(file(id)))));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new ResponseStoreUnavailableException("cannot read " + file(id) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean delete(String id) {
        try {
            return Files.deleteIfExists(file(id));
        } catch (IOException e) {
            throw new ResponseStoreUnavailableException("cannot delete " + file(id) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void requestCancel(String id) {
        touch(dir.resolve("." + id + ".cancel"));
    }

    @Override
    public boolean cancelRequested(String id) {
        return Files.exists(dir.resolve("." + id + ".cancel"));
    }

    /** The mark is a file whose time of last change is the beat's; swept with the responses. */
    @Override
    public void beat(String id) {
        touch(dir.resolve("." + id + ".alive"));
    }

    @Override
    public boolean alive(String id) {
        try {
            Instant at =
                    Files.getLastModifiedTime(dir.resolve("." + id + ".alive")).toInstant();
            return Duration.between(at, Instant.now()).compareTo(ALIVE_FOR) <= 0;
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new ResponseStoreUnavailableException("cannot read the mark of " + id + ": " + e.getMessage(), e);
        }
    }

    private static void touch(Path mark) {
        try {
            Files.write(mark, new byte[0]);
        } catch (IOException e) {
            throw new ResponseStoreUnavailableException("cannot write " + mark + ": " + e.getMessage(), e);
        }
    }

    /** The file of a response; ids are checked before they get here ({@link KeptResponses#ID}). */
    private Path file(String id) {
        return dir.resolve(id + ".json");
    }

    /** Whether an hour has passed since the last sweep; if so, the caller sweeps and the next hour begins. */
    private synchronized boolean sweepDue() {
        if (swept != null && Duration.between(swept, clock.instant()).compareTo(SWEEP_EVERY) < 0) return false;
        swept = clock.instant();
        return true;
    }

    /** Deletes the files last written more than {@code keep} ago (their responses have expired). */
    private void sweep() {
        FileTime before = FileTime.from(Instant.now().minus(keep));
        try (Stream<Path> files = Files.list(dir)) {
            files.forEach(file -> {
                try {
                    if (Files.getLastModifiedTime(file).compareTo(before) < 0) Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // gone already, or not ours to delete: the next sweep tries again
                }
            });
        } catch (IOException ignored) {
            // the folder cannot be listed now: the next sweep tries again
        }
    }

    @Override
    public String where() {
        return dir.toString();
    }

    @Override
    public void close() {}
}
