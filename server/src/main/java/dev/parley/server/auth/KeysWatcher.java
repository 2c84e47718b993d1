package dev.parley.server.auth;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads a keys file's {@link ApiKeys} whenever the file changes: written in place, replaced by a move (as {@code
 * parley keys} and most editors do), or swapped behind a symbolic link (as Kubernetes updates a mounted ConfigMap or
 * Secret). A daemon thread looks at the file (one {@code stat}, following links) every {@link #PERIOD} until closed.
 *
 * <p>It watched the file's folder for change events before. Those name what changed in the folder: Kubernetes swaps
 * a link beside the file, so no event ever named the file; and a folder that also holds a busy log (a server started
 * with its output beside its keys) woke it for every line: 7% of a gateway's processor-time samples under load.
 */
public final class KeysWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KeysWatcher.class);

    /** How often the file is looked at: the longest a change waits to be served. */
    static final Duration PERIOD = Duration.ofMillis(250);

    private final Thread thread;
    private volatile boolean closed;

    private KeysWatcher(Path file, ApiKeys keys) {
        thread = Thread.ofPlatform().daemon().name("parley-keys-watcher").unstarted(() -> watch(file, keys));
    }

    /** Starts watching {@code keys}' file; null when the keys have no file (every request is accepted). */
    public static KeysWatcher start(ApiKeys keys) {
        if (keys.file() == null) return null;
        var watcher = new KeysWatcher(keys.file().toAbsolutePath(), keys);
        watcher.thread.start();
        return watcher;
    }

    /**
     * What tells one content of a file from the next without reading it: the file's identity (its inode, which a
     * move or a swapped link changes), size and time of last change; null while it cannot be read.
     */
    record Version(Object key, long size, FileTime modified) {
        static Version of(Path file) {
            try {
                BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
                return new Version(attributes.fileKey(), attributes.size(), attributes.lastModifiedTime());
            } catch (IOException | SecurityException e) {
                return null; // gone for a moment (an editor's save), or not yet there
            }
        }
    }

    private void watch(Path file, ApiKeys keys) {
        Version seen = Version.of(file);
        while (!closed) {
            LockSupport.parkNanos(this, PERIOD.toNanos());
            if (closed) return;
            Version now = Version.of(file);
            if (Objects.equals(now, seen)) continue;
            seen = now;
            // A file that is gone keeps the keys in use; it is read again once it is back.
            try {
                if (now != null) keys.reload();
            } catch (RuntimeException e) {
                log.error("Could not reload the keys file {}; the keys in use stay", file, e);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
    }
}
