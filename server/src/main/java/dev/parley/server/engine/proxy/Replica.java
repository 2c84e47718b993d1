package dev.parley.server.engine.proxy;

import dev.parley.client.Pacer;
import dev.parley.server.limits.Limits;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One server of an upstream fleet: its base URL, key and own budgets, the requests it is answering now, what its own rate-limit headers
 * say of its budget, and its health. Consecutive failures (connection errors, 5xx, timeouts before an answer) put it
 * in a cooldown, out of rotation; an answer, or a health check that gets one, brings it back.
 *
 * <p>Thread-safe.
 */
final class Replica {
    /** Failures in a row that take a replica out of rotation. */
    static final int FAILURES_TO_COOL = 2;

    final String baseUrl;
    final String apiKey; // null: the fleet's
    final Limits limits; // null: no budgets of its own
    final Pacer pacer;
    final AtomicInteger outstanding = new AtomicInteger();
    private final Duration cooldown;
    private final AtomicInteger failures = new AtomicInteger();
    private volatile long coolUntil; // System.nanoTime() until which it is out of rotation; 0 when healthy

    Replica(UpstreamReplica configured, Clock clock, Duration cooldown) {
        this.baseUrl = configured.baseUrl().replaceAll("/+$", "");
        this.apiKey = configured.apiKey();
        this.limits = configured.limits();
        this.pacer = Pacer.create(clock);
        this.cooldown = cooldown;
    }

    boolean healthy() {
        long until = coolUntil;
        return until == 0 || System.nanoTime() - until >= 0;
    }

    /** It failed to answer a request: after {@link #FAILURES_TO_COOL} in a row, out of rotation for a while. */
    void failed() {
        if (failures.incrementAndGet() >= FAILURES_TO_COOL) coolUntil = System.nanoTime() + cooldown.toNanos();
    }

    /** It answered (or a health check got an answer): back in rotation. */
    void answered() {
        failures.set(0);
        coolUntil = 0;
    }

    /** Whether it is out of rotation now, for the health checks. */
    boolean cooling() {
        return !healthy();
    }

    @Override
    public String toString() {
        return baseUrl;
    }
}
