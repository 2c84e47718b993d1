package dev.parley.server.engine.template;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code a.b}, {@code a[b]} and {@code a[i:j:k]} as jinja2's immutable sandbox resolves them: attributes of
 * {@code str}, {@code dict} and {@code list} are their Python methods, methods that change a list or dict are
 * refused (but for a list the template made itself, an {@link OwnList}), names starting with {@code _} are
 * refused, and a miss is {@link Undefined} rather than an error.
 */
final class Attributes {
    private static final Set<String> DICT_MUTATORS = Set.of("clear", "pop", "popitem", "setdefault", "update");
    private static final Set<String> LIST_MUTATORS =
            Set.of("append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort");

    private Attributes() {}

    /** {@code object.name}: the attribute first, then the item of that name. */
    static Object attribute(Object value, String name, Budget budget) {
        Object object = Values.plain(value);
        if (object instanceof Undefined u) throw u.error();
        if (name.startsWith("_")) return Undefined.forbidden(object, name);
        Object method = method(object, name, budget);
        if (method != null) return method;
        return switch (object) {
            case null -> Undefined.attribute(null, name);
            case Map<?, ?> map -> map.containsKey(name) ? map.get(name) : Undefined.attribute(object, name);
            case Namespace ns ->
                ns.attributes.containsKey(name) ? ns.attributes.get(name) : Undefined.attribute(object, name);
            case Loop loop -> loop.attribute(name);
            default -> Undefined.attribute(object, name);
        };
    }

    /** {@code object[key]}: the item first, then (for a string key) the attribute of that name. */
    static Object item(Object value, Object index, Budget budget) {
        Object object = Values.plain(value);
        Object key = Values.plain(index);
        if (object instanceof Undefined u) throw u.error();
        if (key instanceof Undefined u && !(object instanceof Map<?, ?>)) throw u.error();
        switch (object) {
            case null -> {}
            case DictView view -> {
                return Undefined.item(object, key);
            }
            case Map<?, ?> map -> {
                for (var e : map.entrySet()) {
                    if (Values.eq(e.getKey(), key)) return e.getValue();
                }
            }
            case List<?> list
            when key instanceof Long || key instanceof Boolean -> {
                long i = Values.toLong(key);
                if (i < 0) i += list.size();
                return i >= 0 && i < list.size() ? list.get((int) i) : Undefined.item(object, key);
            }
            case String s
            when key instanceof Long || key instanceof Boolean -> {
                int[] cps = s.codePoints().toArray();
                long i = Values.toLong(key);
                if (i < 0) i += cps.length;
                return i >= 0 && i < cps.length ? Character.toString(cps[(int) i]) : Undefined.item(object, key);
            }
            default -> {}
        }
        if (key instanceof String name) {
            if (object instanceof Map<?, ?>) {
                Object method = method(object, name, budget);
                return method != null ? method : Undefined.attribute(object, name);
            }
            return attribute(object, name, budget);
        }
        return Undefined.item(object, key);
    }

    /** Python's slicing of a list, tuple or string; anything else gives undefined, as jinja2's getitem does. */
    /** @param folded true when jinja2 would have evaluated the slice at compile time (see Evaluator.output) */
    static Object slice(Object value, Object start, Object stop, Object step, boolean folded) {
        Object object = Values.plain(value);
        if (object instanceof Undefined u) throw u.error();
        long st = step == null ? 1 : index(step);
        if (st == 0) throw TemplateException.type("ValueError: slice step cannot be zero");
        List<Object> source;
        if (object instanceof String s) {
            source =
                    new ArrayList<>(s.codePoints().mapToObj(Character::toString).toList());
        } else if (object instanceof List<?> list && !(object instanceof DictView)) {
            source = new ArrayList<>(list);
        } else {
            // jinja2 compiles a slice to Python's own subscript, which raises where getitem would not;
            // its optimizer folds constant ones through getitem, which gives undefined instead
            if (folded) return Undefined.item(object, "slice");
            if (object instanceof Undefined u) throw u.error();
            throw TemplateException.type("'" + Values.typeName(object) + "' object is not subscriptable");
        }
        int n = source.size();
        long from = bound(start, n, st, st < 0 ? n - 1 : 0);
        long to = bound(stop, n, st, st < 0 ? -1 : n);
        List<Object> out = new ArrayList<>();
        for (long i = from; st > 0 ? i < to : i > to; i += st) out.add(source.get((int) i));
        if (object instanceof String)
            return String.join("", out.stream().map(o -> (String) o).toList());
        return object instanceof PyTuple ? new PyTuple(out) : out;
    }

    private static long bound(Object value, int n, long step, long absent) {
        if (value == null) return absent;
        long i = index(value);
        if (i < 0) {
            i += n;
            if (i < 0) i = step < 0 ? -1 : 0;
        } else if (i >= n) {
            i = step < 0 ? n - 1 : n;
        }
        return i;
    }

    private static long index(Object value) {
        if (value instanceof Long || value instanceof Boolean) return Values.toLong(value);
        throw TemplateException.type("slice indices must be integers or None or have an __index__ method");
    }

    /** A bound method of a str, dict or list, a forbidden-attribute marker, or null when the type has no such method. */
    private static Object method(Object object, String name, Budget budget) {
        return switch (object) {
            case null -> null;
            case String s -> StringMethods.bind(s, name, budget);
            case Map<?, ?> map -> {
                if (DICT_MUTATORS.contains(name)) yield Undefined.forbidden(object, name);
                yield switch (name) {
                    case "items" ->
                        (Invocable) (args, kwargs) -> {
                            List<Object> items = new ArrayList<>();
                            map.forEach((k, v) -> items.add(new PyTuple(Arrays.asList(k, v))));
                            return new DictView("dict_items", items);
                        };
                    case "keys" ->
                        (Invocable) (args, kwargs) -> new DictView("dict_keys", new ArrayList<Object>(map.keySet()));
                    case "values" ->
                        (Invocable) (args, kwargs) -> new DictView("dict_values", new ArrayList<Object>(map.values()));
                    case "copy" -> (Invocable) (args, kwargs) -> new LinkedHashMap<Object, Object>(map);
                    case "get" ->
                        (Invocable) (args, kwargs) -> {
                            if (args.isEmpty()) throw TemplateException.type("get expected at least 1 argument, got 0");
                            for (var e : map.entrySet()) {
                                if (Values.eq(e.getKey(), args.get(0))) return e.getValue();
                            }
                            return args.size() > 1 ? args.get(1) : null;
                        };
                    default -> null;
                };
            }
            case DictView view -> null;
            case OwnList own when LIST_MUTATORS.contains(name) -> mutator(own, name, budget);
            case List<?> list -> {
                if (LIST_MUTATORS.contains(name) && !(object instanceof PyTuple))
                    yield Undefined.forbidden(object, name);
                yield switch (name) {
                    case "index" ->
                        (Invocable) (args, kwargs) -> {
                            for (int i = 0; i < list.size(); i++)
                                if (Values.eq(list.get(i), args.get(0))) return (long) i;
                            throw TemplateException.type("ValueError: " + Values.repr(args.get(0)) + " is not in list");
                        };
                    case "count" ->
                        (Invocable) (args, kwargs) -> list.stream()
                                .filter(i -> Values.eq(i, args.get(0)))
                                .count();
                    case "copy" -> (Invocable) (args, kwargs) -> new OwnList(list);
                    default -> null;
                };
            }
            default -> null;
        };
    }

    /** A method that changes a list the template made ({@link OwnList}); {@code sort} is not among them. */
    private static Object mutator(OwnList list, String name, Budget budget) {
        return switch (name) {
            case "append" ->
                (Invocable) (args, kwargs) -> {
                    arguments(name, args, 1, 1);
                    budget.items(list.size() + 1);
                    list.add(args.get(0));
                    return null;
                };
            case "extend" ->
                (Invocable) (args, kwargs) -> {
                    arguments(name, args, 1, 1);
                    List<Object> more = Values.iterate(args.get(0));
                    budget.items(list.size() + more.size());
                    list.addAll(more);
                    return null;
                };
            case "insert" ->
                (Invocable) (args, kwargs) -> {
                    arguments(name, args, 2, 2);
                    budget.items(list.size() + 1);
                    list.add(position(Values.toLong(args.get(0)), list.size()), args.get(1));
                    return null;
                };
            case "pop" ->
                (Invocable) (args, kwargs) -> {
                    arguments(name, args, 0, 1);
                    if (list.isEmpty()) throw TemplateException.type("IndexError: pop from empty list");
                    long at = args.isEmpty() ? -1 : Values.toLong(args.get(0));
                    if (at < 0) at += list.size();
                    if (at < 0 || at >= list.size()) throw TemplateException.type("IndexError: pop index out of range");
                    return list.remove((int) at);
                };
            case "remove" ->
                (Invocable) (args, kwargs) -> {
                    arguments(name, args, 1, 1);
                    for (int i = 0; i < list.size(); i++) {
                        if (Values.eq(list.get(i), args.get(0))) {
                            list.remove(i);
                            return null;
                        }
                    }
                    throw TemplateException.type("ValueError: list.remove(x): x not in list");
                };
            case "clear" ->
                (Invocable) (args, kwargs) -> {
                    arguments(name, args, 0, 0);
                    list.clear();
                    return null;
                };
            case "reverse" ->
                (Invocable) (args, kwargs) -> {
                    arguments(name, args, 0, 0);
                    Collections.reverse(list);
                    return null;
                };
            default -> Undefined.forbidden(list, name);
        };
    }

    /** Python's {@code list.insert} position: from the end when negative, clamped to the list. */
    private static int position(long at, int size) {
        if (at < 0) at = Math.max(0, at + size);
        return (int) Math.min(at, size);
    }

    private static void arguments(String method, List<Object> args, int least, int most) {
        if (args.size() < least || args.size() > most) {
            throw TemplateException.type("list.%s() takes %s, %d given"
                    .formatted(
                            method,
                            least == most ? least + " argument" + (least == 1 ? "" : "s") : least + " to " + most,
                            args.size()));
        }
    }
}
