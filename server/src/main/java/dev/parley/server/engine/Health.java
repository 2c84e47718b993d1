package dev.parley.server.engine;

/**
 * How an engine is doing, for {@code /health}: whether it is serving and, for an engine with slots of its
 * own, how busy they are and how many requests wait for one (null otherwise).
 */
public record Health(boolean ok, Slots slots, Queue queue) {
    /** Serving, with nothing more to say. */
    public static final Health OK = new Health(true, null, null);

    /** Sequences that can generate at once, and how many do. */
    public record Slots(int total, int busy) {}

    /** Sequences waiting for a slot, and how many may wait before requests are turned away with 503. */
    public record Queue(int waiting, int capacity) {}
}
