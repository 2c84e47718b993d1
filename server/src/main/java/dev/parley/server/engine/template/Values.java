package dev.parley.server.engine.template;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Python values of a render and what Python does with them: {@code None} is {@code null}, {@code bool} is
 * {@link Boolean}, {@code int} is {@link Long}, {@code float} is {@link Double}, {@code str} is {@link String},
 * {@code list} is a {@link List}, {@code tuple} a {@link PyTuple}, {@code dict} a {@link Map} in insertion order.
 */
final class Values {
    private Values() {}

    // ---- from the caller

    /** The caller's value (Jackson tree, Java maps, lists, boxed numbers) as a template value, copied. */
    static Object of(Object value) {
        return switch (value) {
            case null -> null;
            case JsonNode node -> ofJson(node);
            case String s -> s;
            case Boolean b -> b;
            case Long l -> l;
            case Integer i -> (long) i;
            case Short s -> (long) s;
            case Byte b -> (long) b;
            case BigInteger b -> b.longValueExact();
            case Double d -> d;
            case Float f -> (double) f;
            case BigDecimal d -> d.doubleValue();
            case CharSequence s -> s.toString();
            case Map<?, ?> map -> {
                Map<Object, Object> copy = new LinkedHashMap<>();
                map.forEach((k, v) -> copy.put(of(k), of(v)));
                yield copy;
            }
            case Iterable<?> items -> {
                List<Object> copy = new ArrayList<>();
                items.forEach(i -> copy.add(of(i)));
                yield copy;
            }
            case Object[] items -> of(Arrays.asList(items));
            case Optional<?> o -> of(o.orElse(null));
            default ->
                throw new IllegalArgumentException(
                        "not a template value: " + value.getClass().getName());
        };
    }

    private static Object ofJson(JsonNode node) {
        if (node.isNull() || node.isMissingNode()) return null;
        if (node.isTextual()) return node.textValue();
        if (node.isBoolean()) return node.booleanValue();
        if (node.isIntegralNumber())
            return node.canConvertToLong() ? (Object) node.longValue() : (Object) node.doubleValue();
        if (node.isNumber()) return node.doubleValue();
        if (node.isArray()) {
            List<Object> items = new ArrayList<>();
            node.forEach(i -> items.add(ofJson(i)));
            return items;
        }
        if (node.isObject()) {
            Map<Object, Object> map = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) map.put(e.getKey(), ofJson(e.getValue()));
            return map;
        }
        return node.asText();
    }

    // ---- what Python asks of every value

    static String typeName(Object v) {
        return switch (v) {
            case null -> "NoneType";
            case Boolean b -> "bool";
            case Long l -> "int";
            case Double d -> "float";
            case String s -> "str";
            case PyTuple t -> "tuple";
            case DictView view -> view.kind();
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Undefined u -> "Undefined";
            case Namespace n -> "Namespace";
            case Generator g -> "generator";
            case Loop l -> "LoopContext";
            case Markup m -> "Markup";
            default -> "function";
        };
    }

    static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Boolean b -> b;
            case Long l -> l != 0;
            case Double d -> d != 0;
            case String s -> !s.isEmpty();
            case List<?> l -> !l.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            case Undefined u -> false;
            case Markup m -> !m.text().isEmpty();
            default -> true;
        };
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    /** Python's {@code str(value)}, as {@code {{ value }}} prints it. */
    static String str(Object v) {
        return switch (v) {
            case null -> "None";
            case String s -> s;
            case Markup m -> m.text();
            case Undefined u -> "";
            default -> repr(v);
        };
    }

    static String repr(Object v) {
        return switch (v) {
            case null -> "None";
            case Boolean b -> b ? "True" : "False";
            case Long l -> l.toString();
            case Double d -> Py.repr(d);
            case String s -> Py.repr(s);
            case Markup m -> "Markup(" + Py.repr(m.text()) + ")";
            case PyTuple t ->
                t.size() == 1
                        ? "(" + repr(t.get(0)) + ",)"
                        : "(" + String.join(", ", t.stream().map(Values::repr).toList()) + ")";
            case DictView view ->
                view.kind() + "(["
                        + String.join(", ", view.stream().map(Values::repr).toList()) + "])";
            case List<?> l ->
                "[" + String.join(", ", l.stream().map(Values::repr).toList()) + "]";
            case Map<?, ?> m -> {
                List<String> parts = new ArrayList<>();
                m.forEach((k, val) -> parts.add(repr(k) + ": " + repr(val)));
                yield "{" + String.join(", ", parts) + "}";
            }
            case Undefined u -> "";
            case Namespace n -> n.toString();
            case Generator g -> "<" + g.label() + " at 0x7f0000000000>"; // the address is never the same
            case Loop l -> "<LoopContext " + l.index() + "/" + l.length() + ">";
            default -> "<function>";
        };
    }

    // ---- comparisons

    /** Python's {@code ==}: numbers across int, float and bool; containers item by item; tuples never equal lists. */
    static boolean eq(Object a, Object b) {
        a = plain(a);
        b = plain(b);
        if (a == b) return true;
        if (a == null || b == null) return false;
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) return toDouble(a) == toDouble(b);
            return toLong(a) == toLong(b);
        }
        if (a instanceof String x && b instanceof String y) return x.equals(y);
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if ((a instanceof PyTuple) != (b instanceof PyTuple) || x.size() != y.size()) return false;
            if ((a instanceof DictView) != (b instanceof DictView)) return false;
            for (int i = 0; i < x.size(); i++) if (!eq(x.get(i), y.get(i))) return false;
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) return false;
            for (var e : x.entrySet()) {
                if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()))) return false;
            }
            return true;
        }
        if (a instanceof Undefined && b instanceof Undefined) return true;
        return a.equals(b);
    }

    /** Python's ordering for {@code <} and sorting: numbers, strings and sequences; anything else is a type error. */
    static int compare(Object a, Object b, String op) {
        a = plain(a);
        b = plain(b);
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) return Double.compare(toDouble(a), toDouble(b));
            return Long.compare(toLong(a), toLong(b));
        }
        if (a instanceof String x && b instanceof String y) return compareCodePoints(x, y);
        if (a instanceof List<?> x && b instanceof List<?> y && (a instanceof PyTuple) == (b instanceof PyTuple)) {
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                if (!eq(x.get(i), y.get(i))) return compare(x.get(i), y.get(i), op);
            }
            return Integer.compare(x.size(), y.size());
        }
        if (a instanceof Undefined u) throw u.error();
        if (b instanceof Undefined u) throw u.error();
        throw TemplateException.type(
                "'" + op + "' not supported between instances of '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    private static int compareCodePoints(String x, String y) {
        int i = 0;
        while (i < x.length() && i < y.length()) {
            int cx = x.codePointAt(i);
            int cy = y.codePointAt(i);
            if (cx != cy) return Integer.compare(cx, cy);
            i += Character.charCount(cx);
        }
        return Integer.compare(x.length() - i, y.length() - i);
    }

    /** Python's {@code item in container}. */
    static boolean contains(Object container, Object element) {
        Object item = plain(element);
        return switch (plain(container)) {
            case String s -> {
                if (item instanceof String needle) yield s.contains(needle);
                throw TemplateException.type("'in <string>' requires string as left operand, not " + typeName(item));
            }
            case Map<?, ?> m -> {
                if (item instanceof List<?> && !(item instanceof PyTuple) || item instanceof Map<?, ?>) {
                    throw TemplateException.type("unhashable type: '" + typeName(item) + "'");
                }
                yield m.keySet().stream().anyMatch(k -> eq(k, item));
            }
            case List<?> l -> l.stream().anyMatch(i -> eq(i, item));
            case Generator g -> {
                while (true) {
                    Object next = g.take();
                    if (next == Generator.EXHAUSTED) yield false;
                    if (eq(next, item)) yield true;
                }
            }
            case Undefined u -> false;
            case null -> throw TemplateException.type("argument of type 'NoneType' is not iterable");
            default -> throw TemplateException.type("argument of type '" + typeName(container) + "' is not iterable");
        };
    }

    // ---- sequences

    /** The items a {@code for} loop or a filter sees: a dict's keys, a string's characters; a generator is used up. */
    static List<Object> iterate(Object v) {
        return switch (plain(v)) {
            case null -> throw TemplateException.type("'NoneType' object is not iterable");
            case List<?> l -> new ArrayList<>(l);
            case Map<?, ?> m -> new ArrayList<>(m.keySet());
            case String s ->
                new ArrayList<>(s.codePoints().mapToObj(Character::toString).toList());
            case Generator g -> new ArrayList<>(g.drain());
            case Undefined u -> {
                if (u.unsafe()) throw u.error();
                yield new ArrayList<>();
            }
            default -> throw TemplateException.type("'" + typeName(v) + "' object is not iterable");
        };
    }

    static long length(Object v) {
        return switch (plain(v)) {
            case null -> throw TemplateException.type("object of type 'NoneType' has no len()");
            case String s -> s.codePointCount(0, s.length());
            case List<?> l -> l.size();
            case Map<?, ?> m -> m.size();
            case Undefined u -> 0;
            default -> throw TemplateException.type("object of type '" + typeName(v) + "' has no len()");
        };
    }

    /** Python's {@code d[key] = value}: 1, 1.0 and True are one key, and the first spelling of it stays. */
    static void put(Map<Object, Object> map, Object key, Object value) {
        Object k = plain(key);
        if (isNumber(k)) {
            for (Object existing : map.keySet()) {
                if (isNumber(existing) && eq(existing, k)) {
                    map.put(existing, value);
                    return;
                }
            }
        }
        map.put(k, value);
    }

    /** A {@link Markup} as the plain string it is everywhere but in {@code +}. */
    static Object plain(Object v) {
        return v instanceof Markup m ? m.text() : v;
    }

    // ---- numbers

    static long toLong(Object v) {
        return v instanceof Boolean b ? (b ? 1 : 0) : v instanceof Double d ? d.longValue() : (Long) v;
    }

    static double toDouble(Object v) {
        return v instanceof Boolean b ? (b ? 1 : 0) : v instanceof Long l ? l : (Double) v;
    }
}
