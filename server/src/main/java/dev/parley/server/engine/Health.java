package dev.parley.server.engine;

import java.util.List;

/**
 * How an engine is doing, for {@code /health}: whether it is serving and, for an engine with slots of its
 * own, how busy they are and how many requests wait for one (null otherwise); for an engine that relays to a
 * fleet of upstream replicas, how many are in rotation (null otherwise). A server of several models may be
 * serving some while others cannot: those are {@code modelsDown} (ids), and it is {@code ok} while any is served.
 */
public record Health(boolean ok, Slots slots, Queue queue, Replicas replicas, List<String> modelsDown) {
    /** Serving, with nothing more to say. */
    public static final Health OK = new Health(true, null, null, null);

    public Health {
        modelsDown = modelsDown == null ? List.of() : List.copyOf(modelsDown);
    }

    public Health(boolean ok, Slots slots, Queue queue) {
        this(ok, slots, queue, null);
    }

    public Health(boolean ok, Slots slots, Queue queue, Replicas replicas) {
        this(ok, slots, queue, replicas, List.of());
    }

    /** Upstream replicas, and how many are healthy (in rotation) rather than resting after failures. */
    public record Replicas(int total, int healthy) {}

    /** Sequences that can generate at once, how many do, and (where the engine says) what each slot holds now. */
    public record Slots(int total, int busy, List<Slot> each) {
        public Slots {
            each = each == null ? List.of() : List.copyOf(each);
        }

        public Slots(int total, int busy) {
            this(total, busy, List.of());
        }
    }

    /**
     * One slot as the engine last saw it (a decode step ago at most): the model it belongs to, its number, whether
     * it is {@code idle}, {@code reading} its prompt or {@code generating}, and its sequence's prompt tokens,
     * tokens generated so far and positions of the context in use (0 when idle).
     */
    public record Slot(String model, int id, String state, int promptTokens, int generatedTokens, int contextUsed) {
        public Slot withModel(String model) {
            return new Slot(model, id, state, promptTokens, generatedTokens, contextUsed);
        }
    }

    /** Sequences waiting for a slot, and how many may wait before requests are turned away with 503. */
    public record Queue(int waiting, int capacity) {}
}
