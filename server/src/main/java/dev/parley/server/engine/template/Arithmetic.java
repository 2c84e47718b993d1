package dev.parley.server.engine.template;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/** Python's arithmetic operators on template values: ints stay exact (overflow is refused), {@code /} is true division. */
final class Arithmetic {
    private Arithmetic() {}

    static Object apply(String op, Object left, Object right, Budget budget) {
        if (op.equals("+") && (left instanceof Markup || right instanceof Markup)) {
            if (!(Values.plain(left) instanceof String && Values.plain(right) instanceof String)) {
                throw TemplateException.type("unsupported operand type(s) for +: '" + Values.typeName(left) + "' and '"
                        + Values.typeName(right) + "'");
            }
            return new Markup(budget.string(escaped(left) + escaped(right)));
        }
        Object a = Values.plain(left);
        Object b = Values.plain(right);
        if (op.equals("%") && a instanceof String s) return Percent.format(s, b);
        if (a instanceof Undefined u) throw u.error();
        if (b instanceof Undefined u) throw u.error();
        if (a instanceof DictView || b instanceof DictView) throw unsupported(op, a, b);
        boolean numbers = Values.isNumber(a) && Values.isNumber(b);
        boolean floats = a instanceof Double || b instanceof Double;
        switch (op) {
            case "+" -> {
                if (numbers)
                    return floats
                            ? (Object) (Values.toDouble(a) + Values.toDouble(b))
                            : exact(() -> Math.addExact(Values.toLong(a), Values.toLong(b)));
                if (a instanceof String x && b instanceof String y) return budget.string(x + y);
                if (a instanceof List<?> x
                        && b instanceof List<?> y
                        && (a instanceof PyTuple) == (b instanceof PyTuple)) {
                    List<Object> out = new ArrayList<>(x);
                    out.addAll(y);
                    budget.items(out.size());
                    return a instanceof PyTuple ? new PyTuple(out) : out;
                }
                if (a instanceof String || a instanceof List<?>) {
                    String kind = a instanceof String ? "str" : Values.typeName(a);
                    throw TemplateException.type(
                            "can only concatenate " + kind + " (not \"" + Values.typeName(b) + "\") to " + kind);
                }
            }
            case "-" -> {
                if (numbers)
                    return floats
                            ? (Object) (Values.toDouble(a) - Values.toDouble(b))
                            : exact(() -> Math.subtractExact(Values.toLong(a), Values.toLong(b)));
            }
            case "*" -> {
                if (numbers)
                    return floats
                            ? (Object) (Values.toDouble(a) * Values.toDouble(b))
                            : exact(() -> Math.multiplyExact(Values.toLong(a), Values.toLong(b)));
                if (a instanceof String s && isInt(b)) return budget.repeat(s, Values.toLong(b));
                if (b instanceof String s && isInt(a)) return budget.repeat(s, Values.toLong(a));
                if (a instanceof List<?> l && isInt(b)) return repeat(l, Values.toLong(b), budget);
                if (b instanceof List<?> l && isInt(a)) return repeat(l, Values.toLong(a), budget);
            }
            case "/" -> {
                if (numbers) {
                    double d = Values.toDouble(b);
                    if (d == 0) throw TemplateException.type("ZeroDivisionError: division by zero");
                    return Values.toDouble(a) / d;
                }
            }
            case "//" -> {
                if (numbers) {
                    if (Values.toDouble(b) == 0)
                        throw TemplateException.type("ZeroDivisionError: integer division or modulo by zero");
                    if (floats) return Math.floor(Values.toDouble(a) / Values.toDouble(b));
                    return Math.floorDiv(Values.toLong(a), Values.toLong(b));
                }
            }
            case "%" -> {
                if (numbers) {
                    if (Values.toDouble(b) == 0)
                        throw TemplateException.type("ZeroDivisionError: integer modulo by zero");
                    if (floats) {
                        double x = Values.toDouble(a);
                        double y = Values.toDouble(b);
                        double r = x % y;
                        return r != 0 && (r < 0) != (y < 0) ? r + y : r;
                    }
                    return Math.floorMod(Values.toLong(a), Values.toLong(b));
                }
                if (a instanceof String s) return Percent.format(s, b);
            }
            case "**" -> {
                if (numbers) {
                    if (!floats && Values.toLong(b) >= 0) return power(Values.toLong(a), Values.toLong(b));
                    if (Values.toDouble(a) == 0 && Values.toDouble(b) < 0) {
                        throw TemplateException.type("ZeroDivisionError: 0.0 cannot be raised to a negative power");
                    }
                    return Math.pow(Values.toDouble(a), Values.toDouble(b));
                }
            }
            default -> throw new IllegalStateException(op);
        }
        throw unsupported(op, a, b);
    }

    private static String escaped(Object v) {
        return v instanceof Markup m ? m.text() : Markup.escape((String) v);
    }

    private static TemplateException unsupported(String op, Object a, Object b) {
        return TemplateException.type("unsupported operand type(s) for " + op + ": '" + Values.typeName(a) + "' and '"
                + Values.typeName(b) + "'");
    }

    static Object negate(Object v) {
        if (v instanceof Undefined u) throw u.error();
        if (v instanceof Double d) return -d;
        if (Values.isNumber(v)) return exact(() -> Math.negateExact(Values.toLong(v)));
        throw TemplateException.type("bad operand type for unary -: '" + Values.typeName(v) + "'");
    }

    static Object plus(Object v) {
        if (v instanceof Undefined u) throw u.error();
        if (v instanceof Boolean) return Values.toLong(v);
        if (Values.isNumber(v)) return v;
        throw TemplateException.type("bad operand type for unary +: '" + Values.typeName(v) + "'");
    }

    private static boolean isInt(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    private static List<Object> repeat(List<?> items, long times, Budget budget) {
        List<Object> out = new ArrayList<>();
        for (long i = 0; i < times; i++) {
            budget.items(out.size() + items.size());
            out.addAll(items);
        }
        return items instanceof PyTuple ? new PyTuple(out) : out;
    }

    private static long power(long base, long exponent) {
        if (base == 0 || base == 1) return exponent == 0 ? 1 : base;
        if (base == -1) return exponent % 2 == 0 ? 1 : -1;
        long result = 1;
        for (long i = 0; i < exponent; i++) {
            final long r = result;
            result = exact(() -> Math.multiplyExact(r, base));
        }
        return result;
    }

    private static long exact(LongSupplier op) {
        try {
            return op.getAsLong();
        } catch (ArithmeticException e) {
            throw new TemplateException(TemplateException.Kind.LIMIT, "integer beyond 64 bits");
        }
    }
}
