package dev.parley.server.limits;

import dev.parley.limits.RateLimitSnapshot;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The tokens an admitted request holds until it is settled against what it really used. Settle once,
 * after the reply, whether it completed, failed or was cut off; later calls do nothing.
 */
public final class Reservation {
    private final RateLimits limits;
    private final String key;
    private final Limits budgets;
    private final long reserved;
    private final RateLimitSnapshot snapshot;
    private final AtomicBoolean settled = new AtomicBoolean();

    Reservation(RateLimits limits, String key, Limits budgets, long reserved, RateLimitSnapshot snapshot) {
        this.limits = limits;
        this.key = key;
        this.budgets = budgets;
        this.reserved = reserved;
        this.snapshot = snapshot;
    }

    /** A reservation that holds nothing: no limits apply, or the limiter was down and fails open. */
    public static Reservation none(RateLimitSnapshot snapshot) {
        return new Reservation(null, null, null, 0, snapshot);
    }

    /** The budgets as admission left them: the {@code x-ratelimit-*} headers of the reply. */
    public RateLimitSnapshot snapshot() {
        return snapshot;
    }

    public long reserved() {
        return reserved;
    }

    /**
     * Gives back {@code reserved − used} tokens (or takes the excess). The excess taken is at most one minute's
     * tokens: an answer can use more than it reserved (an upstream's tokenizer counts the prompt longer than
     * tiktoken), but one answer whose upstream reports an absurd count must not hold its key back for months.
     * Idempotent; never throws.
     */
    public void settle(long usedTokens) {
        if (limits == null || !settled.compareAndSet(false, true)) return;
        long minute = budgets.tokensPerMinute();
        long most = reserved > Long.MAX_VALUE - minute ? Long.MAX_VALUE : reserved + minute;
        limits.settle(key, budgets, reserved - Math.clamp(usedTokens, 0, most));
    }
}
