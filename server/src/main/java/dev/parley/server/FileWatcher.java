package dev.parley.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads what was read from files whenever one of them changes: written in place, replaced by a move (as {@code
 * parley keys}, most editors and certbot do), or swapped behind a symbolic link (as Kubernetes updates a mounted
 * ConfigMap or Secret). A daemon thread looks at the files (one {@code stat} each, following links) every {@link
 * #PERIOD} until closed. The keys file and the TLS certificate and key are watched so.
 *
 * <p>The keys file's folder was watched for change events before. Those name what changed in the folder: Kubernetes
 * swaps a link beside the file, so no event ever named the file; and a folder that also holds a busy log (a server
 * started with its output beside its keys) woke it for every line: 7% of a gateway's processor-time samples under load.
 */
public final class FileWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FileWatcher.class);

    /** How often the files are looked at: the longest a change waits to be served. */
    static final Duration PERIOD = Duration.ofMillis(250);

    private final Thread thread;
    private volatile boolean closed;

    private FileWatcher(String name, List<Path> files, String what, Runnable reload) {
        thread = Thread.ofPlatform().daemon().name(name).unstarted(() -> watch(files, what, reload));
    }

    /**
     * Starts watching {@code files} on a thread named {@code name}: once one has changed, and all are there,
     * {@code reload} runs; if it fails, what is in use stays, and the failure is logged as about {@code what} (e.g.
     * "the keys file"). The next change tries again.
     */
    public static FileWatcher start(String name, List<Path> files, String what, Runnable reload) {
        var watcher =
                new FileWatcher(name, files.stream().map(Path::toAbsolutePath).toList(), what, reload);
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

    private void watch(List<Path> files, String what, Runnable reload) {
        List<Version> seen = versions(files);
        while (!closed) {
            LockSupport.parkNanos(this, PERIOD.toNanos());
            if (closed) return;
            List<Version> now = versions(files);
            if (Objects.equals(now, seen)) continue;
            seen = now;
            // A file that is gone keeps what is in use; it is read again once it is back.
            if (now.contains(null)) continue;
            reloadNow(what, files, reload);
        }
    }

    /**
     * Runs {@code reload} now, as a change of {@code files} would (and as SIGHUP asks): when it fails, what is in use
     * stays, and the failure is logged as about {@code what}. Whether it reloaded.
     */
    public static boolean reloadNow(String what, List<Path> files, Runnable reload) {
        try {
            reload.run();
            return true;
        } catch (IllegalArgumentException e) { // what the files hold, e.g. a renewal written halfway
            log.warn("Could not reload {}: {}; what was read before stays in use", what, e.getMessage());
        } catch (RuntimeException e) {
            log.error("Could not reload {} ({}); what was read before stays in use", what, files, e);
        }
        return false;
    }

    private static List<Version> versions(List<Path> files) {
        // Not List.of: a file that cannot be read is a null here.
        return files.stream().map(Version::of).collect(java.util.stream.Collectors.toList());
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
    }
}
