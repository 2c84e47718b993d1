package dev.parley.sse;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * One daemon thread that acts on each watched stream when its moment comes: a server's keep-alive comment, a client's
 * idle limit. It sleeps until the earliest moment a watched stream could be due, at most a second, and is woken by a
 * new stream only when that one could be due sooner; so streams cost it no wake-up of their own, and a stream that
 * moves on (a write, a read) costs it nothing but the time of that.
 *
 * <p>Thread-safe.
 */
public final class Deadlines {
    /** A stream watched: when it is next due, and what is done then. */
    public interface Watched {
        /**
         * When it is next due, on {@link System#nanoTime()}'s clock: a moment (its last byte plus its time), which
         * the clock reaches, not one reckoned from the clock's now.
         */
        long due();

        /**
         * Called on the watching thread once {@link #due} has come; must not block (hand blocking work to another
         * thread). Returns when to look at it next, or {@link #FORGET} to stop watching it.
         */
        long fire(long now);
    }

    /** What {@link Watched#fire} returns to be watched no more. */
    public static final long FORGET = Long.MIN_VALUE;

    /** The longest the thread sleeps: a stream whose moment it could not foresee waits no longer. */
    private static final long MAX_SLEEP_NANOS = 1_000_000_000L;

    private final Set<Watched> watched = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile long wakeAt = System.nanoTime(); // its next look

    /** Starts the watching thread, named {@code name}. */
    public Deadlines(String name) {
        thread = Thread.ofPlatform().daemon().name(name).unstarted(this::run);
        thread.start();
    }

    public void watch(Watched stream) {
        watched.add(stream);
        if (stream.due() - wakeAt < 0) LockSupport.unpark(thread);
    }

    public void forget(Watched stream) {
        watched.remove(stream);
    }

    private void run() {
        while (true) {
            long now = System.nanoTime();
            long next = now + MAX_SLEEP_NANOS;
            for (Watched stream : watched) {
                long due = stream.due();
                if (due - now <= 0) {
                    due = stream.fire(now);
                    if (due == FORGET) {
                        watched.remove(stream);
                        continue;
                    }
                }
                if (due - next < 0) next = due;
            }
            wakeAt = next;
            LockSupport.parkNanos(this, next - now);
        }
    }
}
