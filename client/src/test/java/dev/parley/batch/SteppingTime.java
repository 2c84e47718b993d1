package dev.parley.batch;

import dev.parley.client.Sleeper;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/** A clock in nanoseconds that only moves when a test steps it or something sleeps on it; records the sleeps. */
final class SteppingTime implements LongSupplier, Sleeper {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final List<Duration> sleeps = new CopyOnWriteArrayList<>();

    @Override
    public long getAsLong() {
        return now.get();
    }

    @Override
    public void sleep(Duration duration) {
        sleeps.add(duration);
        now.addAndGet(duration.toNanos());
    }

    void step(Duration duration) {
        now.addAndGet(duration.toNanos());
    }

    List<Duration> sleeps() {
        return List.copyOf(sleeps);
    }
}
