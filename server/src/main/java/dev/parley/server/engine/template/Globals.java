package dev.parley.server.engine.template;

import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The functions every template sees: jinja2's {@code range}, {@code namespace}, {@code dict}, {@code joiner}, and Hugging Face's {@code raise_exception} and {@code strftime_now}. */
final class Globals {
    /** jinja2's sandbox refuses ranges longer than this. */
    static final long MAX_RANGE = 100_000;

    private Globals() {}

    static Map<String, Object> of(ZonedDateTime now) {
        Map<String, Object> g = new HashMap<>();
        g.put("range", (Invocable) (args, kw) -> range(args));
        g.put("namespace", (Invocable) (args, kw) -> {
            Namespace ns = new Namespace();
            for (Object a : args) {
                if (!(a instanceof Map<?, ?> map)) throw TemplateException.type("namespace() takes a mapping");
                map.forEach((k, v) -> ns.attributes.put(Values.str(k), v));
            }
            ns.attributes.putAll(kw);
            return ns;
        });
        g.put("dict", (Invocable) (args, kw) -> {
            Map<Object, Object> map = new LinkedHashMap<>();
            if (!args.isEmpty() && args.getFirst() instanceof Map<?, ?> m) map.putAll(m);
            map.putAll(kw);
            return map;
        });
        g.put("joiner", (Invocable) (args, kw) -> {
            String sep = args.isEmpty() ? Values.str(kw.getOrDefault("sep", ", ")) : Values.str(args.getFirst());
            boolean[] used = {false};
            return (Invocable) (a, k) -> {
                if (used[0]) return sep;
                used[0] = true;
                return "";
            };
        });
        g.put("raise_exception", (Invocable) (args, kw) -> {
            throw new TemplateException(
                    TemplateException.Kind.RAISED, args.isEmpty() ? "" : Values.str(args.getFirst()));
        });
        g.put("strftime_now", (Invocable)
                (args, kw) -> Strftime.format(Values.str(args.isEmpty() ? "" : args.getFirst()), now));
        return g;
    }

    private static List<Object> range(List<Object> args) {
        for (Object a : args) {
            if (!(a instanceof Long || a instanceof Boolean)) {
                throw TemplateException.type("'" + Values.typeName(a) + "' object cannot be interpreted as an integer");
            }
        }
        long start = 0;
        long stop;
        long step = 1;
        switch (args.size()) {
            case 1 -> stop = Values.toLong(args.get(0));
            case 2, 3 -> {
                start = Values.toLong(args.get(0));
                stop = Values.toLong(args.get(1));
                if (args.size() == 3) step = Values.toLong(args.get(2));
            }
            default -> throw TemplateException.type("range expected 1 to 3 arguments, got " + args.size());
        }
        if (step == 0) throw TemplateException.type("ValueError: range() arg 3 must not be zero");
        long count = step > 0
                ? Math.max(0, (stop - start + step - 1) / step)
                : Math.max(0, (start - stop - step - 1) / -step);
        if (count > MAX_RANGE) {
            throw new TemplateException(
                    TemplateException.Kind.LIMIT,
                    "Range too big. The sandbox blocks ranges larger than MAX_RANGE (" + MAX_RANGE + ").");
        }
        List<Object> out = new ArrayList<>();
        for (long i = 0; i < count; i++) out.add(start + i * step);
        return out;
    }
}
