package dev.parley.server.engine.template;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** jinja2's tests ({@code x is defined}, {@code x is mapping}, ...), with Python's idea of each type. */
final class Tests {
    private Tests() {}

    static boolean apply(String name, Object value, List<Object> args) {
        Object v = Values.plain(value);
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "string" -> v instanceof String;
            case "mapping" -> v instanceof Map<?, ?>;
            case "iterable" ->
                v instanceof String
                        || v instanceof List<?>
                        || v instanceof Map<?, ?>
                        || v instanceof Generator
                        || v instanceof Undefined;
            case "sequence" ->
                v instanceof String
                        || (v instanceof List<?> && !(v instanceof DictView))
                        || v instanceof Map<?, ?>
                        || v instanceof Undefined;
            case "number" -> Values.isNumber(v);
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "callable" ->
                v instanceof Invocable || v instanceof Undefined; // Undefined has __call__ (which raises)
            case "odd" -> Values.eq(Arithmetic.apply("%", integer(v), 2L, null), 1L);
            case "even" -> Values.eq(Arithmetic.apply("%", integer(v), 2L, null), 0L);
            case "divisibleby" -> {
                Object r = Arithmetic.apply("%", v, arg(args, 0), null);
                yield Values.eq(r, 0L);
            }
            case "eq", "equalto", "==" -> Values.eq(v, arg(args, 0));
            case "ne", "!=" -> !Values.eq(v, arg(args, 0));
            case "lt", "lessthan", "<" -> Values.compare(v, arg(args, 0), "<") < 0;
            case "le", "<=" -> Values.compare(v, arg(args, 0), "<=") <= 0;
            case "gt", "greaterthan", ">" -> Values.compare(v, arg(args, 0), ">") > 0;
            case "ge", ">=" -> Values.compare(v, arg(args, 0), ">=") >= 0;
            case "in" -> Values.contains(arg(args, 0), v);
            case "sameas" -> v == arg(args, 0) || (v instanceof Boolean && v.equals(arg(args, 0)));
            case "lower" -> Py.isCased(Values.str(v), false);
            case "upper" -> Py.isCased(Values.str(v), true);
            case "filter" -> v instanceof String s && Filters.exists(s);
            case "test" -> v instanceof String s && exists(s);
            case "escaped" -> false;
            default -> throw TemplateException.syntax(0, "No test named '" + name + "'.");
        };
    }

    private static final Set<String> NAMES = Set.of(
            "defined",
            "undefined",
            "none",
            "string",
            "mapping",
            "iterable",
            "sequence",
            "number",
            "integer",
            "float",
            "boolean",
            "true",
            "false",
            "callable",
            "odd",
            "even",
            "divisibleby",
            "eq",
            "equalto",
            "==",
            "ne",
            "!=",
            "lt",
            "lessthan",
            "<",
            "le",
            "<=",
            "gt",
            "greaterthan",
            ">",
            "ge",
            ">=",
            "in",
            "sameas",
            "lower",
            "upper",
            "filter",
            "test",
            "escaped");

    static boolean exists(String name) {
        return NAMES.contains(name);
    }

    private static Object integer(Object v) {
        if (v instanceof Undefined u) throw u.error();
        if (!(v instanceof Long || v instanceof Boolean || v instanceof Double)) {
            throw TemplateException.type("not all arguments converted during string formatting");
        }
        return v;
    }

    private static Object arg(List<Object> args, int i) {
        if (i >= args.size()) throw TemplateException.type("test expects an argument");
        return args.get(i);
    }
}
