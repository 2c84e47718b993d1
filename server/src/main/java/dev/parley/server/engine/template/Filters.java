package dev.parley.server.engine.template;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** jinja2's built-in filters that chat templates use, plus Hugging Face's {@code tojson}, with jinja2's argument names. */
final class Filters {
    private static final List<String> NAMES = List.of(
            "tojson",
            "trim",
            "length",
            "count",
            "first",
            "last",
            "list",
            "join",
            "default",
            "d",
            "upper",
            "lower",
            "title",
            "capitalize",
            "replace",
            "items",
            "selectattr",
            "rejectattr",
            "select",
            "reject",
            "map",
            "unique",
            "reverse",
            "sort",
            "string",
            "int",
            "float",
            "abs",
            "round",
            "safe",
            "indent",
            "wordcount",
            "dictsort",
            "batch",
            "min",
            "max",
            "sum",
            "center",
            "escape",
            "e",
            "format",
            "attr");

    private Filters() {}

    static boolean exists(String name) {
        return NAMES.contains(name);
    }

    static Object apply(String name, Object v, List<Object> args, Map<String, Object> kw, Budget budget) {
        if (v instanceof Undefined u && u.unsafe()) throw u.error();
        if (name.equals("safe")) return v instanceof Markup ? v : new Markup(Values.str(v));
        if (name.equals("escape") || name.equals("e"))
            return v instanceof Markup ? v : new Markup(Markup.escape(Values.str(v)));
        v = Values.plain(v);
        var a = new Arguments(name, args.stream().map(Values::plain).toList(), kw);
        return switch (name) {
            case "tojson" ->
                budget.string(PyJson.of(
                                Values.truthy(a.get(0, "ensure_ascii", false)), a.get(1, "indent", null),
                                a.get(2, "separators", null), Values.truthy(a.get(3, "sort_keys", false)))
                        .dumps(v, budget));
            case "trim" -> Py.strip(Values.str(v), a.get(0, "chars", null) instanceof String s ? s : null);
            case "length", "count" -> Values.length(v);
            case "first" -> {
                if (v instanceof Generator g) {
                    Object next = g.take();
                    yield next == Generator.EXHAUSTED ? empty() : next;
                }
                List<Object> items = Values.iterate(v);
                yield items.isEmpty() ? empty() : items.getFirst();
            }
            case "last" -> {
                if (v instanceof Generator) throw TemplateException.type("'generator' object is not reversible");
                List<Object> items = Values.iterate(v);
                yield items.isEmpty() ? empty() : items.getLast();
            }
            case "list" -> Values.iterate(v);
            case "join" -> {
                String separator = Values.str(a.get(0, "d", ""));
                Object attribute = a.get(1, "attribute", null);
                List<String> parts = new ArrayList<>();
                for (Object item : Values.iterate(v)) {
                    parts.add(Values.str(attribute == null ? item : path(item, attribute, null, budget)));
                }
                yield budget.string(String.join(separator, parts));
            }
            case "default", "d" -> {
                boolean useOnFalse = Values.truthy(a.get(1, "boolean", false));
                yield v instanceof Undefined || (useOnFalse && !Values.truthy(v)) ? a.get(0, "default_value", "") : v;
            }
            case "upper" -> Values.str(v).toUpperCase(Locale.ROOT);
            case "lower" -> Values.str(v).toLowerCase(Locale.ROOT);
            case "capitalize" -> Py.capitalize(Values.str(v));
            case "title" -> titleFilter(Values.str(v));
            case "replace" -> {
                Object count = a.get(2, "count", null);
                yield StringMethods.bind(Values.str(v), "replace", budget)
                        .call(
                                count == null
                                        ? List.of(Values.str(a.get(0, "old", "")), Values.str(a.get(1, "new", "")))
                                        : List.of(
                                                Values.str(a.get(0, "old", "")),
                                                Values.str(a.get(1, "new", "")),
                                                count),
                                Map.of());
            }
            case "items" -> {
                if (v instanceof Undefined) yield new Generator(List.of());
                if (!(v instanceof Map<?, ?> map))
                    throw TemplateException.type("Can only get item pairs from a mapping.");
                List<Object> items = new ArrayList<>();
                map.forEach((k, val) -> items.add(new PyTuple(java.util.Arrays.asList(k, val))));
                yield new Generator(items);
            }
            case "selectattr", "rejectattr", "select", "reject" -> select(name, v, args, kw, budget);
            case "map" -> {
                List<Object> out = new ArrayList<>();
                if (!Values.truthy(v)) yield new Generator(out); // jinja2 maps nothing over a false value
                Object attribute = kw.get("attribute");
                for (Object item : Values.iterate(v)) {
                    if (attribute != null) {
                        out.add(path(item, attribute, kw.get("default"), budget));
                    } else {
                        if (args.isEmpty()) throw TemplateException.type("map requires a filter argument");
                        out.add(apply(Values.str(args.getFirst()), item, args.subList(1, args.size()), kw, budget));
                    }
                }
                yield new Generator(out);
            }
            case "unique" -> {
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
                yield new Generator(out);
            }
            case "reverse" -> {
                if (v instanceof String s) yield Attributes.slice(s, null, null, -1L);
                List<Object> items = Values.iterate(v);
                java.util.Collections.reverse(items);
                yield new Generator(items);
            }
            case "sort" -> {
                boolean reverse = Values.truthy(a.get(0, "reverse", false));
                boolean caseSensitive = Values.truthy(a.get(1, "case_sensitive", false));
                Object attribute = a.get(2, "attribute", null);
                List<Object> items = Values.iterate(v);
                Comparator<Object> order = Comparator.comparing(
                        item -> sortKey(attribute == null ? item : path(item, attribute, null, budget), caseSensitive),
                        (x, y) -> Values.compare(x, y, "<"));
                items.sort(reverse ? order.reversed() : order);
                yield items;
            }
            case "dictsort" -> {
                if (!(v instanceof Map<?, ?> map))
                    throw TemplateException.type("You can only sort by either \"key\" or \"value\"");
                boolean caseSensitive = Values.truthy(a.get(0, "case_sensitive", false));
                int by = "value".equals(a.get(1, "by", "key")) ? 1 : 0;
                boolean reverse = Values.truthy(a.get(2, "reverse", false));
                List<Object> items = new ArrayList<>();
                map.forEach((k, val) -> items.add(new PyTuple(java.util.Arrays.asList(k, val))));
                Comparator<Object> order = Comparator.comparing(
                        item -> sortKey(((List<?>) item).get(by), caseSensitive), (x, y) -> Values.compare(x, y, "<"));
                items.sort(reverse ? order.reversed() : order);
                yield items;
            }
            case "string" -> Values.str(v);
            case "int" -> Numbers.toInt(v, a.get(0, "default", 0L), a.get(1, "base", 10L));
            case "float" -> Numbers.toFloat(v, a.get(0, "default", 0.0));
            case "abs" -> {
                if (v instanceof Double d) yield Math.abs(d);
                if (Values.isNumber(v)) yield Math.abs(Values.toLong(v));
                throw TemplateException.type("bad operand type for abs(): '" + Values.typeName(v) + "'");
            }
            case "round" -> Numbers.round(v, a.get(0, "precision", 0L), Values.str(a.get(1, "method", "common")));
            case "indent" ->
                indent(
                        Values.str(v),
                        a.get(0, "width", 4L),
                        Values.truthy(a.get(1, "first", false)),
                        Values.truthy(a.get(2, "blank", false)));
            case "wordcount" -> (long) Values.str(v).split("[\\p{L}\\p{N}_]+", -1).length - 1;
            case "batch" -> {
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
                yield new Generator(out);
            }
            case "min", "max" -> {
                boolean caseSensitive = Values.truthy(a.get(0, "case_sensitive", false));
                Object attribute = a.get(1, "attribute", null);
                List<Object> items = Values.iterate(v);
                if (items.isEmpty()) yield new Undefined("No aggregated item, sequence was empty.", false);
                Comparator<Object> order = Comparator.comparing(
                        item -> sortKey(attribute == null ? item : path(item, attribute, null, budget), caseSensitive),
                        (x, y) -> Values.compare(x, y, "<"));
                yield name.equals("min")
                        ? items.stream().min(order).orElseThrow()
                        : items.stream().max(order).orElseThrow();
            }
            case "sum" -> {
                Object attribute = a.get(0, "attribute", null);
                Object total = a.get(1, "start", 0L);
                for (Object item : Values.iterate(v)) {
                    total = Arithmetic.apply(
                            "+", total, attribute == null ? item : path(item, attribute, null, budget), budget);
                }
                yield total;
            }
            case "center" -> {
                String s = Values.str(v);
                int width = (int) Values.toLong(a.get(0, "width", 80L));
                int pad = Math.max(0, width - s.length());
                int left = pad / 2 + (pad & width & 1);
                yield " ".repeat(left) + s + " ".repeat(pad - left);
            }
            case "format" -> Percent.format(Values.str(v), kw.isEmpty() ? new PyTuple(args) : kw);
            case "attr" -> Attributes.attribute(v, Values.str(a.get(0, "name", "")), budget);
            default -> throw TemplateException.syntax(0, "No filter named '" + name + "'.");
        };
    }

    private static Undefined empty() {
        return new Undefined("No first item, sequence was empty.", false);
    }

    /** select/reject by a test on each item, selectattr/rejectattr by a test on an attribute of each item. */
    private static Object select(String name, Object v, List<Object> args, Map<String, Object> kw, Budget budget) {
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
    private static Object path(Object item, Object attribute, Object fallback, Budget budget) {
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

    /** jinja2's {@code title} filter, which is not {@code str.title}: words start after whitespace, - ( { [ or <. */
    private static String titleFilter(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean wordStart = true;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            boolean separator = Py.isSpace(c) || "-({[<".indexOf(c) >= 0;
            if (separator) out.appendCodePoint(c);
            else
                out.append(
                        wordStart
                                ? Character.toString(c).toUpperCase(Locale.ROOT)
                                : Character.toString(c).toLowerCase(Locale.ROOT));
            wordStart = separator;
        }
        return out.toString();
    }

    private static Object sortKey(Object v, boolean caseSensitive) {
        return !caseSensitive && v instanceof String s ? s.toLowerCase(Locale.ROOT) : v;
    }

    private static String indent(String s, Object width, boolean first, boolean blank) {
        String unit =
                width instanceof String w ? w : " ".repeat((int) Math.max(0, Math.min(Values.toLong(width), 1000)));
        List<String> lines = Py.splitlines(s + "\n");
        StringBuilder out = new StringBuilder();
        if (blank) {
            out.append(String.join("\n" + unit, lines));
        } else {
            out.append(lines.getFirst());
            for (String line : lines.subList(1, lines.size()))
                out.append('\n').append(line.isEmpty() ? "" : unit + line);
        }
        return first ? unit + out : out.toString();
    }

    /** Positional-or-named arguments of one filter call, by jinja2's parameter names. */
    private record Arguments(String filter, List<Object> args, Map<String, Object> kw) {
        Object get(int position, String name, Object fallback) {
            if (position < args.size()) return args.get(position);
            return kw.getOrDefault(name, fallback);
        }
    }
}
