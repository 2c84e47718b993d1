package dev.parley.server.engine.template;

import java.util.List;

/**
 * What {@code map}, {@code select}, {@code selectattr} and friends return in jinja2: a Python generator. It is always
 * true, has no length, cannot be serialised to JSON, and is used up by the first pass over it.
 */
final class Generator {
    /** What {@link #take} returns once the generator is used up. */
    static final Object EXHAUSTED = new Object();

    private final List<Object> items;
    private int next;

    Generator(List<Object> items) {
        this.items = items;
    }

    /** The items not yet taken; taking them all uses the generator up. */
    List<Object> drain() {
        List<Object> rest = items.subList(next, items.size());
        next = items.size();
        return rest;
    }

    Object take() {
        return next < items.size() ? items.get(next++) : EXHAUSTED;
    }
}
