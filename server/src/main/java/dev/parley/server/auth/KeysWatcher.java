package dev.parley.server.auth;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads a keys file's {@link ApiKeys} whenever the file changes: written in place, or replaced by a move
 * (as {@code parley keys} and most editors do). Watches the file's folder on a daemon thread until closed.
 */
public final class KeysWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KeysWatcher.class);

    private final WatchService watcher;
    private final Thread thread;

    private KeysWatcher(WatchService watcher, Thread thread) {
        this.watcher = watcher;
        this.thread = thread;
    }

    /** Starts watching {@code keys}' file; null when the keys have no file (every request is accepted). */
    public static KeysWatcher start(ApiKeys keys) {
        if (keys.file() == null) return null;
        Path file = keys.file().toAbsolutePath();
        Path folder = file.getParent();
        Path name = file.getFileName();
        WatchService watcher;
        try {
            watcher = FileSystems.getDefault().newWatchService();
            folder.register(
                    watcher,
                    StandardWatchEventKinds.ENTRY_CREATE,
                    StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot watch " + folder + " for changes to the keys file", e);
        }
        Thread thread =
                Thread.ofPlatform().daemon().name("parley-keys-watcher").start(() -> watch(watcher, name, keys));
        return new KeysWatcher(watcher, thread);
    }

    private static void watch(WatchService watcher, Path name, ApiKeys keys) {
        try {
            while (true) {
                WatchKey key = watcher.take();
                boolean changed = false;
                for (WatchEvent<?> event : key.pollEvents()) {
                    changed |= event.kind() == StandardWatchEventKinds.OVERFLOW || name.equals(event.context());
                }
                key.reset();
                if (changed) keys.reload();
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closed
        } catch (RuntimeException e) {
            log.error("Stopped watching the keys file", e);
        }
    }

    @Override
    public void close() {
        try {
            watcher.close();
        } catch (IOException e) {
            // nothing left to do
        }
        thread.interrupt();
    }
}
