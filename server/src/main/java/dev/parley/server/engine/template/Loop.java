package dev.parley.server.engine.template;

import java.util.List;

/** The {@code loop} variable inside a {@code for}: position, neighbours and {@code cycle}. */
final class Loop {
    private final List<Object> items;
    private int index0;
    private Object lastChanged = Generator.EXHAUSTED;

    Loop(List<Object> items) {
        this.items = items;
    }

    void moveTo(int index0) {
        this.index0 = index0;
    }

    long index() {
        return index0 + 1;
    }

    long length() {
        return items.size();
    }

    /** An attribute of {@code loop}, or undefined if jinja2's loop has no such attribute. */
    Object attribute(String name) {
        int n = items.size();
        return switch (name) {
            case "index" -> (long) index0 + 1;
            case "index0" -> (long) index0;
            case "revindex" -> (long) (n - index0);
            case "revindex0" -> (long) (n - index0 - 1);
            case "first" -> index0 == 0;
            case "last" -> index0 == n - 1;
            case "length" -> (long) n;
            case "depth" -> 1L;
            case "depth0" -> 0L;
            case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item", false);
            case "nextitem" -> index0 < n - 1 ? items.get(index0 + 1) : new Undefined("there is no next item", false);
            case "cycle" ->
                (Invocable) (args, kwargs) -> {
                    if (args.isEmpty()) throw TemplateException.type("no items for cycling given");
                    return args.get(index0 % args.size());
                };
            case "changed" ->
                (Invocable) (args, kwargs) -> {
                    Object value = new PyTuple(args);
                    if (lastChanged != Generator.EXHAUSTED && Values.eq(lastChanged, value)) return false;
                    lastChanged = value;
                    return true;
                };
            default -> Undefined.attribute(this, name);
        };
    }
}
