package dev.parley.server.engine.template;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/** Python's printf-style {@code "text %s" % value} for {@code %s}, {@code %r}, {@code %d}, {@code %i} and {@code %%}. */
final class Percent {
    private Percent() {}

    static String format(String pattern, Object args) {
        List<?> values = args instanceof PyTuple t ? t : Collections.singletonList(args);
        // Python takes anything with __getitem__ (dict, list, undefined) but a tuple or str as a mapping: unused is
        // fine
        boolean mappingLike = args instanceof Map<?, ?>
                || args instanceof Undefined
                || (args instanceof List<?> && !(args instanceof PyTuple) && !(args instanceof DictView));
        StringBuilder out = new StringBuilder();
        int next = 0;
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (++i >= pattern.length()) throw TemplateException.type("ValueError: incomplete format");
            char conversion = pattern.charAt(i);
            if (conversion == '%') {
                out.append('%');
                continue;
            }
            if (next >= values.size()) throw TemplateException.type("not enough arguments for format string");
            Object value = values.get(next++);
            switch (conversion) {
                case 's' -> out.append(Values.str(value));
                case 'r' -> out.append(Values.repr(value));
                case 'd', 'i' -> {
                    if (!Values.isNumber(value)) {
                        throw TemplateException.type(
                                "%" + conversion + " format: a real number is required, not " + Values.typeName(value));
                    }
                    out.append(Values.toLong(value));
                }
                default -> throw TemplateException.type("unsupported format character '" + conversion + "'");
            }
        }
        if (next < values.size() && !mappingLike)
            throw TemplateException.type("not all arguments converted during string formatting");
        return out.toString();
    }
}
