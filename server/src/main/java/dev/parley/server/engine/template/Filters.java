package dev.parley.server.engine.template;

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

    static Object apply(String name, Object input, List<Object> args, Map<String, Object> kw, Budget budget) {
        if (input instanceof Undefined u && u.unsafe()) throw u.error();
        if (name.equals("safe")) return input instanceof Markup ? input : new Markup(Values.str(input));
        if (name.equals("escape") || name.equals("e")) {
            return input instanceof Markup ? input : new Markup(Markup.escape(Values.str(input)));
        }
        Object v = Values.plain(input);
        var a = new Arguments(name, args.stream().map(Values::plain).toList(), kw);
        return switch (name) {
            case "tojson" ->
                budget.string(PyJson.of(
                                Values.truthy(a.get(0, "ensure_ascii", false)), a.get(1, "indent", null),
                                a.get(2, "separators", null), Values.truthy(a.get(3, "sort_keys", false)))
                        .dumps(v, budget));
            case "trim" -> Py.strip(Values.str(v), a.get(0, "chars", null) instanceof String s ? s : null);
            case "length", "count" -> Values.length(v);
            case "first" -> Sequences.first(v);
            case "last" -> Sequences.last(v);
            case "list" -> Values.iterate(v);
            case "join" -> Sequences.join(v, a, budget);
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
            case "items" -> Generator.lazy("do_items", () -> Sequences.items(v));
            case "selectattr", "rejectattr", "select", "reject" ->
                Generator.lazy("select_or_reject", () -> Sequences.select(name, v, args, kw, budget));
            case "map" -> Generator.lazy("sync_do_map", () -> Sequences.map(v, args, kw, budget));
            case "unique" -> Generator.lazy("sync_do_unique", () -> Sequences.unique(v, a, budget));
            case "reverse" -> Sequences.reverse(v);
            case "sort" -> Sequences.sort(v, a, budget);
            case "dictsort" -> Sequences.dictsort(v, a);
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
                        text(v, "indent"),
                        a.get(0, "width", 4L),
                        Values.truthy(a.get(1, "first", false)),
                        Values.truthy(a.get(2, "blank", false)));
            case "wordcount" -> (long) Values.str(v).split("[\\p{L}\\p{N}_]+", -1).length - 1;
            case "batch" -> Generator.lazy("do_batch", () -> Sequences.batch(v, a));
            case "min", "max" -> Sequences.minMax(name, v, a, budget);
            case "sum" -> Sequences.sum(v, a, budget);
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

    /** The filters written for strings only ({@code s += "\n"} in jinja2) raise for anything else. */
    private static String text(Object v, String filter) {
        if (v instanceof String s) return s;
        if (v instanceof Undefined u) throw u.error();
        throw TemplateException.type(filter + " expects a string, got " + Values.typeName(v));
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
    record Arguments(String filter, List<Object> args, Map<String, Object> kw) {
        Object get(int position, String name, Object fallback) {
            if (position < args.size()) return args.get(position);
            return kw.getOrDefault(name, fallback);
        }
    }
}
