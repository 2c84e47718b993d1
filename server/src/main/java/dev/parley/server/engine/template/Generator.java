package dev.parley.server.engine.template;

import java.util.List;
import java.util.function.Supplier;

/**
 * What {@code map}, {@code select}, {@code selectattr}, {@code unique}, {@code batch} and {@code items} return in
 * jinja2: a Python generator. It is always true, has no length, cannot be serialised to JSON, does nothing (and so
 * raises nothing) until iterated, and is used up by the first pass over it.
 */
final class Generator {
    /** What {@link #take} returns once the generator is used up. */
    static final Object EXHAUSTED = new Object();

    /** How Python prints it, less the address: {@code generator object sync_do_map}. */
    private String label = "generator object";

    private Supplier<List<Object>> source;
    private List<Object> items;
    private int next;

    Generator(List<Object> items) {
        this.items = items;
    }

    /** A generator whose items are computed, errors included, only when first iterated. */
    static Generator lazy(String function, Supplier<Generator> body) {
        Generator g = new Generator(null);
        g.label = "generator object " + function;
        g.source = () -> body.get().items();
        return g;
    }

    /** A reversed list, which Python prints as a {@code list_reverseiterator}. */
    static Generator reversed(List<Object> items) {
        Generator g = new Generator(items);
        g.label = "list_reverseiterator object";
        return g;
    }

    String label() {
        return label;
    }

    private List<Object> items() {
        if (items == null) {
            items = source.get();
            source = null;
        }
        return items;
    }

    /** The items not yet taken; taking them all uses the generator up. */
    List<Object> drain() {
        List<Object> all = items();
        List<Object> rest = all.subList(next, all.size());
        next = all.size();
        return rest;
    }

    Object take() {
        List<Object> all = items();
        return next < all.size() ? all.get(next++) : EXHAUSTED;
    }
}
