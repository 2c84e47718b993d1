package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The rules of one grammar as it is built: names are unique, and a body already defined under any name is
 * reused rather than written twice. Rules whose body is not known yet (a {@code $ref} that recurses) are
 * reserved first and defined later. Not thread-safe: one converter owns one instance.
 */
final class Rules {
    private final Map<String, String> bodies = new LinkedHashMap<>(); // name → body; null while reserved
    private final Map<String, String> namesByBody = new HashMap<>();
    private final boolean compact;
    private final boolean python;
    private long chars;

    Rules() {
        this(false, false);
    }

    /**
     * @param compact whitespace between JSON tokens is at most one space, no line breaks
     * @param python values are Python literals: {@code True}, {@code False} and {@code None} for JSON's keywords
     */
    Rules(boolean compact, boolean python) {
        this.compact = compact;
        this.python = python;
    }

    boolean compact() {
        return compact;
    }

    boolean python() {
        return python;
    }

    /** How a value is spelled in these rules' language: JSON, or a {@link PythonLiteral}. */
    String spell(JsonNode value) {
        return python ? PythonLiteral.write(value) : value.toString();
    }

    /** Adds {@code name ::= body} under a fresh name derived from {@code hint}, or returns the rule that has that body. */
    String add(String hint, String body) {
        String existing = namesByBody.get(body);
        if (existing != null) {
            return existing;
        }
        String name = reserve(hint);
        define(name, body);
        return name;
    }

    /** Adds a rule under exactly {@code name}, once; used for the fixed rules of {@link Primitives}. */
    void fixed(String name, String body) {
        if (!bodies.containsKey(name)) {
            bodies.put(name, null);
            define(name, body);
        }
    }

    boolean has(String name) {
        return bodies.containsKey(name);
    }

    /** A fresh name derived from {@code hint}, held for a later {@link #define}. */
    String reserve(String hint) {
        String base = sanitize(hint);
        String name = base;
        for (int i = 2; bodies.containsKey(name); i++) {
            name = base + "-" + i;
        }
        if (bodies.size() >= Limits.MAX_RULES) {
            throw SchemaException.tooLarge(Pointer.ROOT, "more than " + Limits.MAX_RULES + " grammar rules");
        }
        bodies.put(name, null);
        return name;
    }

    void define(String name, String body) {
        if (bodies.get(name) != null) {
            throw new IllegalStateException("rule " + name + " is already defined");
        }
        bodies.put(name, body);
        namesByBody.putIfAbsent(body, name);
        chars += name.length() + body.length() + 6;
        if (chars > Limits.MAX_GRAMMAR_CHARS) {
            throw SchemaException.tooLarge(
                    Pointer.ROOT, "grammar text over " + Limits.MAX_GRAMMAR_CHARS + " characters");
        }
    }

    /** The grammar, one rule per line, in the order the rules were first named. */
    String render() {
        StringBuilder out = new StringBuilder();
        bodies.forEach((name, body) -> {
            if (body == null) {
                throw new IllegalStateException("rule " + name + " was reserved but never defined");
            }
            out.append(name).append(" ::= ").append(body).append('\n');
        });
        return out.toString();
    }

    /** Rule names are letters, digits and single dashes; anything else in a hint becomes a dash. */
    static String sanitize(String hint) {
        String name = hint.replaceAll("[^A-Za-z0-9]+", "-").replaceAll("^-+|-+$", "");
        return name.isEmpty() ? "rule" : name;
    }
}
