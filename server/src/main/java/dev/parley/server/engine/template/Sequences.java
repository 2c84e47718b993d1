package dev.parley.server.engine.template;

import dev.parley.server.engine.template.Filters.Arguments;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The filters over sequences: first, last, join, items, select and reject (by attribute or not), map, unique, reverse,
 * sort, dictsort, batch, min, max, sum. Like jinja2, select, map, unique, reverse, items and batch return a
 * {@link Generator}; attribute paths such as {@code 'function.name'} are looked up as items.
 */
final class Sequences {
    private Sequences() {}

    static Object first(Object v) {
        if (v instanceof Generator g) {
            Object next = g.take();
            return next == Generator.EXHAUSTED ? empty() : next;
        }
        List<Object> items = Values.iterate(v);
        return items.isEmpty() ? empty() : items.getFirst();
    }

    static Object last(Object v) {
        if (v instanceof Generator) throw TemplateException.type("'generator' object is not reversible");
        List<Object> items = Values.iterate(v);
        return items.isEmpty() ? empty() : items.getLast();
    }

    static Object join(Object v, Arguments a, Budget budget) {
        String separator = Values.str(a.get(0, "d", ""));
        Object attribute = a.get(1, "attribute", null);
        List<String> parts = new ArrayList<>();
        for (Object item : Values.iterate(v)) {
            parts.add(Values.str(attribute == null ? item : path(item, attribute, null, budget)));
        }
        return budget.string(String.join(separator, parts));
    }

    static Generator items(Object v) {
        if (v instanceof Undefined) return new Generator(List.of());
        if (!(v instanceof Map<?, ?> map)) throw TemplateException.type("Can only get item pairs from a mapping.");
        List<Object> items = new ArrayList<>();
        map.forEach((k, val) -> items.add(new PyTuple(Arrays.asList(k, val))));
        return new Generator(items);
    }

    static Generator map(Object v, List<Object> args, Map<String, Object> kw, Budget budget) {
        List<Object> out = new ArrayList<>();
        if (!Values.truthy(v)) return new Generator(out); // jinja2 maps nothing over a false value
        Object attribute = kw.get("attribute");
        for (Object item : Values.iterate(v)) {
            if (attribute != null) {
                out.add(path(item, attribute, kw.get("default"), budget));
            } else {
                if (args.isEmpty()) throw TemplateException.type("map requires a filter argument");
                out.add(Filters.apply(Values.str(args.getFirst()), item, args.subList(1, args.size()), kw, budget));
            }
        }
        return new Generator(out);
    }

    static Generator unique(Object v, Arguments a, Budget budget) {
        boolean caseSensitive = Values.truthy(a.get(0, "case_sensitive", false));
        Object attribute = a.get(1, "attribute", null);
        List<Object> seen = new ArrayList<>();
        List<Object> out = new ArrayList<>();
        for (Object item : Values.iterate(v)) {
            Object key = sortKey(attribute == null ? item : path(item, attribute, null, budget), caseSensitive);
            if (seen.stream().noneMatch(s -> Values.eq(s, key))) {
                seen.add(key);
                out.add(item);
            }
        }
        return new Generator(out);
    }

    static Object reverse(Object v) {
        if (v instanceof String s) return Attributes.slice(s, null, null, -1L, false);
        List<Object> items = Values.iterate(v);
        Collections.reverse(items);
        return Generator.reversed(items);
    }

    static Object sort(Object v, Arguments a, Budget budget) {
        boolean reverse = Values.truthy(a.get(0, "reverse", false));
        boolean caseSensitive = Values.truthy(a.get(1, "case_sensitive", false));
        Object attribute = a.get(2, "attribute", null);
        List<Object> items = Values.iterate(v);
        Comparator<Object> order = Comparator.comparing(
                item -> sortKey(attribute == null ? item : path(item, attribute, null, budget), caseSensitive),
                (x, y) -> Values.compare(x, y, "<"));
        items.sort(reverse ? order.reversed() : order);
        return items;
    }

    static Object dictsort(Object v, Arguments a) {
        if (!(v instanceof Map<?, ?> map))
            throw TemplateException.type("You can only sort by either \"key\" or \"value\"");
        boolean caseSensitive = Values.truthy(a.get(0, "case_sensitive", false));
        int by = "value".equals(a.get(1, "by", "key")) ? 1 : 0;
        boolean reverse = Values.truthy(a.get(2, "reverse", false));
        List<Object> items = new ArrayList<>();
        map.forEach((k, val) -> items.add(new PyTuple(Arrays.asList(k, val))));
        Comparator<Object> order = Comparator.comparing(
                item -> sortKey(((List<?>) item).get(by), caseSensitive), (x, y) -> Values.compare(x, y, "<"));
        items.sort(reverse ? order.reversed() : order);
        return items;
    }

    static Generator batch(Object v, Arguments a) {
        long size = Values.toLong(a.get(0, "linecount", 1L));
        if (size <= 0) throw TemplateException.type("batch size must be positive");
        Object fill = a.get(1, "fill_with", null);
        List<Object> out = new ArrayList<>();
        List<Object> current = new ArrayList<>();
        for (Object item : Values.iterate(v)) {
            current.add(item);
            if (current.size() == size) {
                out.add(current);
                current = new ArrayList<>();
            }
        }
        if (!current.isEmpty()) {
            if (fill != null) while (current.size() < size) current.add(fill);
            out.add(current);
        }
        return new Generator(out);
    }

    static Object minMax(String name, Object v, Arguments a, Budget budget) {
        boolean caseSensitive = Values.truthy(a.get(0, "case_sensitive", false));
        Object attribute = a.get(1, "attribute", null);
        List<Object> items = Values.iterate(v);
        if (items.isEmpty()) return new Undefined("No aggregated item, sequence was empty.", false);
        Comparator<Object> order = Comparator.comparing(
                item -> sortKey(attribute == null ? item : path(item, attribute, null, budget), caseSensitive),
                (x, y) -> Values.compare(x, y, "<"));
        return name.equals("min")
                ? items.stream().min(order).orElseThrow()
                : items.stream().max(order).orElseThrow();
    }

    static Object sum(Object v, Arguments a, Budget budget) {
        Object attribute = a.get(0, "attribute", null);
        Object total = a.get(1, "start", 0L);
        for (Object item : Values.iterate(v)) {
            total = Arithmetic.apply(
                    "+", total, attribute == null ? item : path(item, attribute, null, budget), budget);
        }
        return total;
    }

    static Undefined empty() {
        return new Undefined("No first item, sequence was empty.", false);
    }

    /** select/reject by a test on each item, selectattr/rejectattr by a test on an attribute of each item. */
    static Generator select(String name, Object v, List<Object> args, Map<String, Object> kw, Budget budget) {
        boolean byAttribute = name.endsWith("attr");
        boolean keep = name.startsWith("select");
        int testAt = byAttribute ? 1 : 0;
        if (byAttribute && args.isEmpty()) throw TemplateException.type("Missing parameter for attribute name");
        String test = args.size() > testAt ? Values.str(args.get(testAt)) : null;
        List<Object> testArgs = args.size() > testAt + 1 ? args.subList(testAt + 1, args.size()) : List.of();
        List<Object> out = new ArrayList<>();
        if (!Values.truthy(v)) return new Generator(out); // jinja2 selects nothing from a false value
        for (Object item : Values.iterate(v)) {
            Object subject = byAttribute ? path(item, args.getFirst(), null, budget) : item;
            boolean passes = test == null ? Values.truthy(subject) : Tests.apply(test, subject, testArgs);
            if (passes == keep) out.add(item);
        }
        return new Generator(out);
    }

    /** jinja2's attribute getter: dotted parts looked up as items, numeric parts as indexes. */
    static Object path(Object item, Object attribute, Object fallback, Budget budget) {
        List<Object> parts = new ArrayList<>();
        if (attribute instanceof String s) {
            for (String part : s.split("\\.", -1))
                parts.add(
                        part.chars().allMatch(Character::isDigit) && !part.isEmpty()
                                ? (Object) Long.parseLong(part)
                                : part);
        } else {
            parts.add(attribute);
        }
        for (Object part : parts) {
            item = Attributes.item(item, part, budget);
            if (fallback != null && item instanceof Undefined) item = fallback;
        }
        return item;
    }

    static Object sortKey(Object v, boolean caseSensitive) {
        return !caseSensitive && v instanceof String s ? s.toLowerCase(Locale.ROOT) : v;
    }
}
