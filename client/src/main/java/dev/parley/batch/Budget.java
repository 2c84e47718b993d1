package dev.parley.batch;

import dev.parley.client.Sleeper;
import dev.parley.limits.RateLimitSnapshot;
import java.net.URI;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The request and token budget a batch spends: each attempt first {@link #acquire acquires} one request and
 * its estimated tokens, and settles the estimate against the real usage afterwards. What servers answer
 * teaches it: {@link #observe} follows the {@code x-ratelimit-*} a response reports, down and (step by step)
 * up, {@link #pauseFor} holds every request after a 429.
 *
 * <p>{@link #local} keeps the budget in this process; {@link #redis} shares it among batch processes on
 * any number of machines (one organisation's RPM and TPM), answering the same calls from Redis.
 * Implementations are thread-safe. Whoever makes a budget closes it; a local one holds nothing.
 */
public interface Budget extends AutoCloseable {

    /**
     * A budget of {@code limits} in this process: both buckets refill continuously and hold at most
     * {@link BudgetLimits#burst} worth of the limit, so that a server enforcing its limit over short
     * windows (OpenAI quantises per-minute limits to per-second ones) is not overrun at the start.
     *
     * @param nanoTime the clock, in nanoseconds, e.g. {@link System#nanoTime}
     * @param sleeper waits while the budget is spent
     */
    static Budget local(BudgetLimits limits, LongSupplier nanoTime, Sleeper sleeper) {
        return new LocalBudget(limits, nanoTime, sleeper);
    }

    /**
     * A budget of {@code limits} in Redis, spent together by every process that names the same budget there:
     * the same buckets as {@link #local}, following servers down and up alike, kept and changed by atomic
     * scripts (one per call; an answer that lifts the level takes a second), timed by Redis's clock. While Redis is unreachable, {@link #acquire} waits and retries every second (nothing is sent,
     * nothing lost), settlements are kept and applied once Redis answers, and {@code warnings} hears of the
     * outage and the recovery once each. Connects at first use; needs Redis 5 or newer.
     *
     * @param redis e.g. {@code redis://host:6379}, {@code rediss://:password@host:6380/2}
     * @param name the budget's name: processes spending the same limits use the same name
     * @param nanoTime the clock of this process's accounting (its {@link #usage}), e.g. {@link System#nanoTime}
     * @param sleeper waits while the budget is spent or Redis is away
     */
    static Budget redis(
            URI redis,
            String name,
            BudgetLimits limits,
            LongSupplier nanoTime,
            Sleeper sleeper,
            Consumer<String> warnings) {
        return new RedisBudget(redis, name, limits, nanoTime, sleeper, warnings);
    }

    /**
     * Waits until one request and {@code tokens} estimated tokens fit, takes them, and answers the permit
     * that settles them. A pause after a 429 is waited out first.
     *
     * @throws InterruptedException when interrupted while waiting; nothing is taken then
     */
    Permit acquire(long tokens) throws InterruptedException;

    /**
     * Learns from a response's {@code x-ratelimit-*} to a request sent {@code latency} ago: limits are
     * lowered to the server's, never raised; what is left is held under what the server says is left; and
     * what the server says is left beyond one burst is spent too, the level lifted toward it one doubling
     * step per confirming answer (see {@link Bucket}), until a 429. A shared budget lifts the shared level.
     */
    void observe(RateLimitSnapshot snapshot, Duration latency);

    /**
     * Holds every request for {@code wait} from now, after a 429; never shortens a pause already under way.
     * The budget stops spending beyond its own burst from then on; a shared one for every process sharing it.
     */
    void pauseFor(Duration wait);

    /** What was spent and offered so far, for the summary. */
    Usage usage();

    /** Lets go of what the budget holds (a connection); does nothing for a local one. Never throws. */
    @Override
    default void close() {}

    /** One attempt's share of the budget. */
    interface Permit {
        /**
         * Replaces the estimate by the tokens the attempt really used: the difference is given back or
         * charged. A failed attempt that used none settles with zero. Call once.
         */
        void settle(long usedTokens);
    }

    /**
     * Requests and tokens spent, and what the limits offered over the same time (the first burst plus the
     * continuous refill). Offered is infinite for an unlimited budget.
     */
    record Usage(
            double requestsSpent,
            double requestsOffered,
            double tokensSpent,
            double tokensOffered,
            double requestsPerMinute,
            double tokensPerMinute) {

        public double requestShare() {
            return requestsOffered > 0 && Double.isFinite(requestsOffered) ? requestsSpent / requestsOffered : 0;
        }

        public double tokenShare() {
            return tokensOffered > 0 && Double.isFinite(tokensOffered) ? tokensSpent / tokensOffered : 0;
        }
    }
}
