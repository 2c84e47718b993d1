package dev.parley.client;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Ends streams that have received nothing for their idle time ({@link ClientOptions#streamIdleTimeout}): one daemon
 * thread for the process, which sleeps until the earliest moment a watched stream could be due, at most a second, and
 * is woken by a new stream only when that stream could be due sooner. A stream that reads costs it nothing but the
 * time of its last read.
 */
final class IdleStreams {
    static final IdleStreams INSTANCE = new IdleStreams();

    /** The longest it sleeps: a stream whose moment it could not foresee waits no longer. */
    private static final long MAX_SLEEP_NANOS = 1_000_000_000L;

    private final Set<EventReader<?>> readers = ConcurrentHashMap.newKeySet();
    private final Thread thread =
            Thread.ofPlatform().daemon().name("parley-stream-idle").unstarted(this::run);
    private volatile long wakeAt = System.nanoTime(); // its next look

    private IdleStreams() {
        thread.start();
    }

    void watch(EventReader<?> reader) {
        readers.add(reader);
        if (reader.lastRead + reader.idleNanos - wakeAt < 0) LockSupport.unpark(thread);
    }

    void forget(EventReader<?> reader) {
        readers.remove(reader);
    }

    private void run() {
        while (true) {
            long now = System.nanoTime();
            long next = now + MAX_SLEEP_NANOS;
            for (EventReader<?> reader : readers) {
                long due = reader.lastRead + reader.idleNanos;
                if (due - now <= 0) {
                    readers.remove(reader);
                    reader.expire();
                } else if (due - next < 0) {
                    next = due;
                }
            }
            wakeAt = next;
            LockSupport.parkNanos(this, next - now);
        }
    }
}
