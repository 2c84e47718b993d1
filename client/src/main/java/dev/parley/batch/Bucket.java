package dev.parley.batch;

/**
 * A token bucket that refills continuously at {@code perMinute / 60 s}, holding at most {@code capacity};
 * it starts half full.
 * A cost larger than the capacity is let through once the bucket is full and leaves it in debt, so that a
 * request bigger than the burst still runs, at the average rate. Counts what it offered (the first fill plus
 * every refill, including what a full bucket could not hold) and what was spent, so that utilisation is
 * spent / offered: the share of what the limit allowed over the run.
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
        level = Math.min(capacity, level + difference);
        spent -= difference;
    }

    /** Lowers the rate to what the server says the limit is; never raises it. */
    void lowerLimit(double serverPerMinute, long now) {
        if (serverPerMinute >= perMinute || serverPerMinute <= 0) return;
        refill(now);
        perMinute = serverPerMinute;
        capacity = Math.max(perMinute * burstMinutes, Double.MIN_NORMAL);
        level = Math.min(level, capacity);
    }

    /** Holds the level at or under what the server says is left, {@code slack} added for what refilled since. */
    void lowerLevel(double serverRemaining, double slack, long now) {
        if (unlimited()) return;
        refill(now);
        level = Math.min(level, serverRemaining + slack);
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
        level = Math.min(capacity, level + added);
        updated = now;
    }
}
