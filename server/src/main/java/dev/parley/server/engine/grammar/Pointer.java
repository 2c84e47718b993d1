package dev.parley.server.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/** A JSON pointer (RFC 6901) into the schema being converted, kept as its unescaped reference tokens. */
record Pointer(List<String> tokens) {
    static final Pointer ROOT = new Pointer(List.of());

    Pointer {
        tokens = List.copyOf(tokens);
    }

    Pointer child(String token) {
        List<String> next = new ArrayList<>(tokens);
        next.add(token);
        return new Pointer(next);
    }

    Pointer child(int index) {
        return child(Integer.toString(index));
    }

    int depth() {
        return tokens.size();
    }

    /** The last reference token: for a keyword's pointer, the keyword. */
    String last() {
        return tokens.isEmpty() ? "" : tokens.getLast();
    }

    /** Parses {@code #/a/b} or {@code /a/b}; {@code ~1} and {@code ~0} unescape to {@code /} and {@code ~}. */
    static Pointer parse(String text) {
        String body = text.startsWith("#") ? text.substring(1) : text;
        if (body.isEmpty()) {
            return ROOT;
        }
        if (!body.startsWith("/")) {
            throw new IllegalArgumentException(text);
        }
        List<String> tokens = new ArrayList<>();
        for (String token : body.substring(1).split("/", -1)) {
            tokens.add(token.replace("~1", "/").replace("~0", "~"));
        }
        return new Pointer(tokens);
    }

    /** The pointer for a message: {@code /} stands for the root, which RFC 6901 spells as the empty string. */
    String display() {
        return tokens.isEmpty() ? "/" : toString();
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder();
        for (String token : tokens) {
            out.append('/').append(token.replace("~", "~0").replace("/", "~1"));
        }
        return out.toString();
    }
}
