package dev.parley.batch;

/**
 * A token bucket that refills continuously at {@code perMinute / 60 s}, holding at most {@code capacity};
 * it starts half full.
 * A cost larger than the capacity is let through once the bucket is full and leaves it in debt, so that a
 * request bigger than the burst still runs, at the average rate. Counts what it offered (the first fill plus
 * every refill, including what a full bucket could not hold) and what was spent, so that utilisation is
 * spent / offered: the share of what the limit allowed over the run.
 *
 * <p>What a server says is left can lift the level above the capacity ({@link #followUp}): a server whose
 * own bucket holds more than one burst (Parley's keys start with a whole minute's worth) offers that burst,
 * and the batch spends it. The lift grows step by step, each step only once a request sent after the last
 * one was answered, starting at one burst and doubling; a 429 ends it for good ({@link #stopFollowingUp}),
 * so a server that reports a minute's worth left but turns away more than a burst costs a step's worth of
 * 429s at most. The refill never adds above the capacity.
 *
 * <p>Not thread-safe: {@link LocalBudget} guards it. Time is in nanoseconds from the budget's clock.
 */
final class Bucket {
    private static final double NANOS_PER_MINUTE = 60e9;

    private double perMinute;
    private double capacity;
    private final double burstMinutes;
    private double level;
    private long updated;
    private double offered;
    private double spent;
    /** The most the next {@link #followUp} may lift the level by; 0 once a 429 ended following up. */
    private double step;
    /** When the last lift happened: only a request sent after it confirms it. */
    private long lifted = Long.MIN_VALUE;

    Bucket(double perMinute, double burstMinutes, long now) {
        this.perMinute = perMinute;
        this.burstMinutes = burstMinutes;
        this.capacity = Math.max(perMinute * burstMinutes, Double.MIN_NORMAL);
        // Half full: a fresh process sends its first requests slowly (class loading, new connections), so
        // they arrive late and together; a server whose own bucket was full meanwhile lost that refill, and a
        // whole burst would meet 429s. Offered still counts the whole burst, so utilisation stays honest.
        this.level = capacity / 2;
        this.offered = capacity;
        this.updated = now;
        this.step = capacity;
    }

    boolean unlimited() {
        return Double.isInfinite(perMinute);
    }

    double perMinute() {
        return perMinute;
    }

    /** Nanoseconds until {@code cost} may be taken; zero when it may be now. */
    long waitFor(double cost, long now) {
        if (unlimited()) return 0;
        refill(now);
        double needed = Math.min(cost, capacity);
        if (level >= needed) return 0;
        return (long) Math.ceil((needed - level) * NANOS_PER_MINUTE / perMinute);
    }

    void take(double cost, long now) {
        refill(now);
        level -= cost;
        spent += cost;
    }

    /** Gives back (positive) or charges (negative) the difference between an estimate and what was used. */
    void adjust(double difference, long now) {
        refill(now);
        level = Math.min(Math.max(capacity, level), level + difference);
        spent -= difference;
    }

    /** Lowers the rate to what the server says the limit is; never raises it. */
    void lowerLimit(double serverPerMinute, long now) {
        if (serverPerMinute >= perMinute || serverPerMinute <= 0) return;
        refill(now);
        perMinute = serverPerMinute;
        capacity = Math.max(perMinute * burstMinutes, Double.MIN_NORMAL);
        level = Math.min(level, capacity);
        step = Math.min(step, capacity);
    }

    /** Holds the level at or under what the server says is left, {@code slack} added for what refilled since. */
    void lowerLevel(double serverRemaining, double slack, long now) {
        if (unlimited()) return;
        refill(now);
        level = Math.min(level, serverRemaining + slack);
    }

    /**
     * Lifts the level toward {@code serverAvailable} less one burst ({@code serverAvailable} being what the
     * server says is left less what is still in flight), by at most one step, when the request answered
     * was sent at {@code sent} after the last lift (which it confirms: the step doubles). Never lowers the
     * level.
     */
    void followUp(double serverAvailable, long sent, long now) {
        if (unlimited()) return;
        refill(now);
        double lift = lift(level, capacity, step, lifted, serverAvailable, sent);
        if (lift <= 0) return;
        level += lift;
        offered += lift; // the server offered it: utilisation stays spent over offered
        lifted = now;
        step = nextStep(step);
    }

    /**
     * The rule of following up, for this bucket and for {@link RedisBudget}, which applies it to the level
     * it keeps in Redis: how far a bucket at {@code level} lifts when a server says {@code serverAvailable}
     * is left (less what is in flight) of a request sent at {@code sent}; 0 or less for not at all. Only a
     * request sent after the last lift ({@code lifted}) confirms it, and {@code step} (0 once a 429 ended
     * following) bounds the lift.
     */
    static double lift(double level, double capacity, double step, long lifted, double serverAvailable, long sent) {
        if (step <= 0 || sent < lifted) return 0;
        // One burst stays with the server: a server whose own bucket holds no more than ours lends nothing,
        // and once its burst is spent, requests paced at its rate arrive with a burst's worth of room for
        // the jitter of their travel.
        return Math.min(serverAvailable - capacity - level, step);
    }

    /** The step after a lift that an answer confirmed. */
    static double nextStep(double step) {
        return step * 2;
    }

    /** Counts {@code amount} more as offered: what following up in a shared budget lifted it by. */
    void offer(double amount) {
        offered += amount;
    }

    /** After a 429: what a server says is left no longer lifts the level, and what it lifted is dropped. */
    void stopFollowingUp() {
        step = 0;
        level = Math.min(level, capacity);
    }

    /** How much the rate refills in {@code nanos}. */
    double refillIn(long nanos) {
        return unlimited() ? 0 : perMinute * nanos / NANOS_PER_MINUTE;
    }

    double offered(long now) {
        refill(now);
        return offered;
    }

    double spent() {
        return spent;
    }

    private void refill(long now) {
        if (now <= updated || unlimited()) {
            updated = Math.max(updated, now);
            return;
        }
        double added = perMinute * (now - updated) / NANOS_PER_MINUTE;
        offered += added;
        if (level < capacity) level = Math.min(capacity, level + added);
        updated = now;
    }
}
