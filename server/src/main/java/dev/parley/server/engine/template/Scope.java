package dev.parley.server.engine.template;

import java.util.HashMap;
import java.util.Map;

/**
 * Variables visible at one point of a render. A {@code for} iteration and a macro call each get a child scope, so
 * their {@code set}s do not leak out, as in jinja2; {@code if} blocks share their parent's.
 */
final class Scope {
    private static final Object ABSENT = new Object();

    private final Scope parent;
    private final Map<String, Object> variables = new HashMap<>();

    Scope(Scope parent) {
        this.parent = parent;
    }

    /** The value, or {@code absent} when no scope up the chain defines the name. */
    Object lookup(String name, Object absent) {
        for (Scope s = this; s != null; s = s.parent) {
            Object v = s.variables.getOrDefault(name, ABSENT);
            if (v != ABSENT) return v;
        }
        return absent;
    }

    void set(String name, Object value) {
        variables.put(name, value);
    }
}
