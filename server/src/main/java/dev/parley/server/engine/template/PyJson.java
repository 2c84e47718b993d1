package dev.parley.server.engine.template;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps}, which Hugging Face's {@code tojson} filter calls: {@code ", "} and {@code ": "}
 * separators (or {@code ","} with an indent), floats as Python prints them, {@code NaN} and {@code Infinity}, non-string
 * keys turned into strings, and non-ASCII text kept or escaped by {@code ensure_ascii}.
 */
record PyJson(boolean ensureAscii, String indent, String itemSeparator, String keySeparator, boolean sortKeys) {
    private static final int MAX_DEPTH = 100;

    /** The options as {@code json.dumps} reads them; indent may be null, an int or a string, separators a pair. */
    static PyJson of(boolean ensureAscii, Object indent, Object separators, boolean sortKeys) {
        String unit = switch (indent) {
            case null -> null;
            case String s -> s;
            case Long n -> " ".repeat((int) Math.max(0, Math.min(n, 1000)));
            case Boolean b -> b ? " " : "";
            default -> throw TemplateException.type("indent must be an int or a string");
        };
        String item = unit == null ? ", " : ",";
        String key = ": ";
        if (separators instanceof List<?> pair
                && pair.size() == 2
                && pair.get(0) instanceof String i
                && pair.get(1) instanceof String k) {
            item = i;
            key = k;
        } else if (separators != null) {
            throw TemplateException.type("separators must be a pair of strings");
        }
        return new PyJson(ensureAscii, unit, item, key, sortKeys);
    }

    String dumps(Object value, Budget budget) {
        StringBuilder out = new StringBuilder();
        write(value, out, 0, budget);
        return out.toString();
    }

    private void write(Object v, StringBuilder out, int level, Budget budget) {
        if (level > MAX_DEPTH) throw TemplateException.type("ValueError: Circular reference detected");
        budget.output(out.length());
        switch (v) {
            case null -> out.append("null");
            case Boolean b -> out.append(b ? "true" : "false");
            case Long l -> out.append(l);
            case Double d -> out.append(number(d));
            case String s -> string(s, out);
            case Markup m -> string(m.text(), out);
            case DictView view ->
                throw TemplateException.type("Object of type " + view.kind() + " is not JSON serializable");
            case List<?> list -> {
                if (list.isEmpty()) {
                    out.append("[]");
                    return;
                }
                out.append('[');
                for (int i = 0; i < list.size(); i++) {
                    out.append(i == 0 ? "" : itemSeparator);
                    newline(out, level + 1);
                    write(list.get(i), out, level + 1, budget);
                }
                newline(out, level);
                out.append(']');
            }
            case Map<?, ?> map -> {
                if (map.isEmpty()) {
                    out.append("{}");
                    return;
                }
                List<Map.Entry<String, Object>> entries = new ArrayList<>();
                map.forEach((k, val) -> entries.add(Map.entry(key(k), val == null ? NULL : val)));
                if (sortKeys) entries.sort(Map.Entry.comparingByKey((a, b) -> Values.compare(a, b, "<")));
                out.append('{');
                boolean first = true;
                for (var e : entries) {
                    out.append(first ? "" : itemSeparator);
                    first = false;
                    newline(out, level + 1);
                    string(e.getKey(), out);
                    out.append(keySeparator);
                    write(e.getValue() == NULL ? null : e.getValue(), out, level + 1, budget);
                }
                newline(out, level);
                out.append('}');
            }
            default ->
                throw TemplateException.type("Object of type " + Values.typeName(v) + " is not JSON serializable");
        }
    }

    private static final Object NULL = new Object(); // Map.entry refuses null values

    private void newline(StringBuilder out, int level) {
        if (indent != null) out.append('\n').append(indent.repeat(level));
    }

    private static String key(Object k) {
        return switch (k) {
            case String s -> s;
            case null -> "null";
            case Boolean b -> b ? "true" : "false";
            case Long l -> l.toString();
            case Double d -> number(d);
            default ->
                throw TemplateException.type("keys must be str, int, float, bool or None, not " + Values.typeName(k));
        };
    }

    private static String number(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        return Py.repr(d);
    }

    private void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) out.append("\\u%04x".formatted((int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }
}
