package dev.parley.server.engine.template;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;

/** The {@code int}, {@code float} and {@code round} filters, with Python's parsing and rounding. */
final class Numbers {
    private Numbers() {}

    static Object toInt(Object v, Object fallback, Object base) {
        if (v instanceof Undefined u) throw u.error(); // int(Undefined) raises in jinja2
        if (v instanceof Long) return v;
        if (v instanceof Boolean b) return b ? 1L : 0L;
        if (v instanceof Double d) return Double.isFinite(d) ? (Object) d.longValue() : fallback;
        if (v instanceof String s) {
            String t = Py.strip(s, null).replace("_", "");
            try {
                return Long.parseLong(t.startsWith("+") ? t.substring(1) : t, (int) Values.toLong(base));
            } catch (NumberFormatException e) {
                Object f = toFloat(v, null);
                return f instanceof Double d && Double.isFinite(d) ? (Object) d.longValue() : fallback;
            }
        }
        return fallback;
    }

    static Object toFloat(Object v, Object fallback) {
        if (v instanceof Undefined u) throw u.error();
        if (v instanceof Double) return v;
        if (v instanceof Long || v instanceof Boolean) return Values.toDouble(v);
        if (v instanceof String s) {
            String t = Py.strip(s, null).replace("_", "").toLowerCase(Locale.ROOT);
            switch (t.startsWith("+") || t.startsWith("-") ? t.substring(1) : t) {
                case "inf", "infinity" -> {
                    return t.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
                }
                case "nan" -> {
                    return Double.NaN;
                }
                default -> {}
            }
            if (!t.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)(e[+-]?\\d+)?")) return fallback;
            return Double.parseDouble(t);
        }
        return fallback;
    }

    static Object round(Object v, Object precision, String method) {
        if (!Values.isNumber(v))
            throw TemplateException.type("type " + Values.typeName(v) + " doesn't define __round__ method");
        int digits = (int) Values.toLong(precision);
        double d = Values.toDouble(v);
        if (!Double.isFinite(d)) return d;
        RoundingMode mode = switch (method) {
            case "common" -> RoundingMode.HALF_EVEN; // Python's round() on the exact binary value
            case "ceil" -> RoundingMode.CEILING;
            case "floor" -> RoundingMode.FLOOR;
            default -> throw TemplateException.type("method must be common, ceil or floor");
        };
        double rounded = new BigDecimal(d).setScale(digits, mode).doubleValue();
        return v instanceof Double || !method.equals("common") ? (Object) rounded : Values.toLong(v);
    }
}
