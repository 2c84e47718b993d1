package dev.parley.client;

import java.time.Duration;

/** Waits between attempts. Tests pass one that records the waits and returns at once. */
@FunctionalInterface
public interface Sleeper {
    Sleeper REAL = duration -> Thread.sleep(duration);

    void sleep(Duration duration) throws InterruptedException;
}
