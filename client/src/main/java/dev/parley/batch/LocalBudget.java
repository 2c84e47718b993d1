package dev.parley.batch;

import dev.parley.client.Sleeper;
import dev.parley.limits.RateLimitSnapshot;
import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * {@link Budget} in this process: a request bucket, a token bucket and a pause, behind one lock. Waits
 * happen outside the lock, so that settling and observing never queue behind a sleeping acquirer.
 */
final class LocalBudget implements Budget {
    private final LongSupplier clock;
    private final Sleeper sleeper;
    private final ReentrantLock lock = new ReentrantLock();
    private final BudgetLimits limits;
    private Bucket requests;
    private Bucket tokens;
    private long pausedUntil;
    /** Permits acquired and not yet settled: spent here, maybe not yet counted in a server's remaining. */
    private long outstandingRequests;

    private long outstandingTokens;

    LocalBudget(BudgetLimits limits, LongSupplier clock, Sleeper sleeper) {
        this.limits = limits;
        this.clock = clock;
        this.sleeper = sleeper;
    }

    /**
     * The buckets start full at the first call, not at construction, so that "over the run" means from
     * the first request on: reading the input and loading encodings before it is not counted as unused
     * budget. Called under the lock.
     */
    private long start() {
        long now = clock.getAsLong();
        if (requests == null) {
            double burstMinutes = limits.burst().toNanos() / 60e9;
            requests = new Bucket(limits.requestsPerMinute(), burstMinutes, now);
            tokens = new Bucket(limits.tokensPerMinute(), burstMinutes, now);
            pausedUntil = now;
        }
        return now;
    }

    @Override
    public Permit acquire(long cost) throws InterruptedException {
        while (true) {
            long wait;
            lock.lock();
            try {
                long now = start();
                wait = Math.max(pausedUntil - now, Math.max(requests.waitFor(1, now), tokens.waitFor(cost, now)));
                if (wait <= 0) {
                    requests.take(1, now);
                    tokens.take(cost, now);
                    outstandingRequests++;
                    outstandingTokens += cost;
                    return used -> settle(cost, used);
                }
            } finally {
                lock.unlock();
            }
            sleeper.sleep(Duration.ofNanos(wait));
        }
    }

    private void settle(long estimate, long used) {
        lock.lock();
        try {
            outstandingRequests--;
            outstandingTokens -= estimate;
            tokens.adjust(estimate - used, start());
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void observe(RateLimitSnapshot snapshot, Duration latency) {
        lock.lock();
        try {
            long now = start();
            if (snapshot.limitRequests() != null) requests.lowerLimit(snapshot.limitRequests(), now);
            if (snapshot.limitTokens() != null) tokens.lowerLimit(snapshot.limitTokens(), now);
            // The server counted what is left at some moment while the request was out; since then at most
            // the latency's refill came back. Trusting that much keeps a stale header from starving us.
            long age = latency.toNanos();
            if (snapshot.remainingRequests() != null)
                requests.lowerLevel(snapshot.remainingRequests(), requests.refillIn(age), now);
            if (snapshot.remainingTokens() != null)
                tokens.lowerLevel(snapshot.remainingTokens(), tokens.refillIn(age), now);
            // And up: what the server has left beyond one burst is there to spend, less what is in flight.
            long sent = now - age;
            if (snapshot.remainingRequests() != null)
                requests.followUp(snapshot.remainingRequests() - outstandingRequests, sent, now);
            if (snapshot.remainingTokens() != null)
                tokens.followUp(snapshot.remainingTokens() - outstandingTokens, sent, now);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void pauseFor(Duration wait) {
        lock.lock();
        try {
            long now = start();
            pausedUntil = Math.max(pausedUntil, now + wait.toNanos());
            // A 429: the server's remaining no longer lifts the budget above one burst.
            requests.stopFollowingUp();
            tokens.stopFollowingUp();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Usage usage() {
        lock.lock();
        try {
            long now = start();
            return new Usage(
                    requests.spent(),
                    requests.unlimited() ? Double.POSITIVE_INFINITY : requests.offered(now),
                    tokens.spent(),
                    tokens.unlimited() ? Double.POSITIVE_INFINITY : tokens.offered(now),
                    requests.perMinute(),
                    tokens.perMinute());
        } finally {
            lock.unlock();
        }
    }
}
