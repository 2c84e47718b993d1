package dev.parley.server.engine.template;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The methods of Python's {@code str} that templates call, bound to one string. */
final class StringMethods {
    private StringMethods() {}

    /** The bound method, or null when {@code str} has no method of that name. */
    static Invocable bind(String s, String name, Budget budget) {
        return switch (name) {
            case "strip" -> (args, kw) -> Py.strip(s, chars(args));
            case "lstrip" -> (args, kw) -> Py.lstrip(s, chars(args));
            case "rstrip" -> (args, kw) -> Py.rstrip(s, chars(args));
            case "split" -> (args, kw) -> new ArrayList<Object>(Py.split(s, separator(args, kw), maxsplit(args, kw)));
            case "rsplit" -> (args, kw) -> new ArrayList<Object>(Py.rsplit(s, separator(args, kw), maxsplit(args, kw)));
            case "splitlines" -> (args, kw) -> new ArrayList<Object>(Py.splitlines(s));
            case "startswith" -> (args, kw) -> affix(s, args, true);
            case "endswith" -> (args, kw) -> affix(s, args, false);
            case "upper" -> (args, kw) -> s.toUpperCase(Locale.ROOT);
            case "lower" -> (args, kw) -> s.toLowerCase(Locale.ROOT);
            case "title" -> (args, kw) -> Py.title(s);
            case "capitalize" -> (args, kw) -> Py.capitalize(s);
            case "replace" ->
                (args, kw) -> replace(
                        s, string(args, 0), string(args, 1), args.size() > 2 ? Values.toLong(args.get(2)) : -1, budget);
            case "find" -> (args, kw) -> (long) codePointIndex(s, s.indexOf(string(args, 0)));
            case "rfind" -> (args, kw) -> (long) codePointIndex(s, s.lastIndexOf(string(args, 0)));
            case "index" ->
                (args, kw) -> {
                    int i = s.indexOf(string(args, 0));
                    if (i < 0) throw TemplateException.type("ValueError: substring not found");
                    return (long) codePointIndex(s, i);
                };
            case "count" -> (args, kw) -> count(s, string(args, 0));
            case "format" -> (args, kw) -> budget.string(Strings.format(s, args, kw));
            case "join" ->
                (args, kw) -> {
                    List<String> parts = new ArrayList<>();
                    for (Object item : Values.iterate(args.get(0))) {
                        if (!(item instanceof String part)) {
                            throw TemplateException.type("sequence item " + parts.size() + ": expected str instance, "
                                    + Values.typeName(item) + " found");
                        }
                        parts.add(part);
                    }
                    return budget.string(String.join(s, parts));
                };
            case "isdigit", "isnumeric", "isdecimal" ->
                (args, kw) -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> (args, kw) -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isalnum" -> (args, kw) -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            case "isspace" -> (args, kw) -> !s.isEmpty() && Py.isBlank(s);
            case "isupper" -> (args, kw) -> Py.isCased(s, true);
            case "islower" -> (args, kw) -> Py.isCased(s, false);
            case "removeprefix" ->
                (args, kw) -> s.startsWith(string(args, 0))
                        ? s.substring(string(args, 0).length())
                        : s;
            case "removesuffix" ->
                (args, kw) -> {
                    String suffix = string(args, 0);
                    return !suffix.isEmpty() && s.endsWith(suffix) ? s.substring(0, s.length() - suffix.length()) : s;
                };
            case "partition" ->
                (args, kw) -> {
                    String sep = string(args, 0);
                    int i = s.indexOf(sep);
                    return i < 0
                            ? new PyTuple(List.of(s, "", ""))
                            : new PyTuple(List.of(s.substring(0, i), sep, s.substring(i + sep.length())));
                };
            case "rpartition" ->
                (args, kw) -> {
                    String sep = string(args, 0);
                    int i = s.lastIndexOf(sep);
                    return i < 0
                            ? new PyTuple(List.of("", "", s))
                            : new PyTuple(List.of(s.substring(0, i), sep, s.substring(i + sep.length())));
                };
            default -> null;
        };
    }

    private static String string(List<Object> args, int i) {
        if (i >= args.size()) throw TemplateException.type("missing required argument " + (i + 1));
        if (args.get(i) instanceof String s) return s;
        if (args.get(i) instanceof Undefined u) throw u.error();
        throw TemplateException.type("must be str, not " + Values.typeName(args.get(i)));
    }

    private static String chars(List<Object> args) {
        if (args.isEmpty() || args.get(0) == null) return null;
        return string(args, 0);
    }

    private static String separator(List<Object> args, Map<String, Object> kw) {
        Object sep = !args.isEmpty() ? args.get(0) : kw.get("sep");
        if (sep == null) return null;
        if (sep instanceof String s) return s;
        throw TemplateException.type("must be str or None, not " + Values.typeName(sep));
    }

    private static long maxsplit(List<Object> args, Map<String, Object> kw) {
        Object n = args.size() > 1 ? args.get(1) : kw.getOrDefault("maxsplit", -1L);
        return Values.toLong(n);
    }

    private static boolean affix(String s, List<Object> args, boolean prefix) {
        Object what = args.isEmpty() ? null : args.get(0);
        List<?> options = what instanceof PyTuple t ? t : List.of(what == null ? "" : what);
        if (!(what instanceof String) && !(what instanceof PyTuple)) {
            throw TemplateException.type((prefix ? "startswith" : "endswith")
                    + " first arg must be str or a tuple of str, not " + Values.typeName(what));
        }
        for (Object o : options) {
            String a = (String) o;
            if (prefix ? s.startsWith(a) : s.endsWith(a)) return true;
        }
        return false;
    }

    private static String replace(String s, String old, String replacement, long count, Budget budget) {
        if (count < 0) {
            if (old.isEmpty()) {
                StringBuilder out = new StringBuilder(replacement);
                s.codePoints().forEach(c -> out.appendCodePoint(c).append(replacement));
                return budget.string(out.toString());
            }
            return budget.string(s.replace(old, replacement));
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (long n = 0; n < count && !old.isEmpty(); n++) {
            int i = s.indexOf(old, from);
            if (i < 0) break;
            out.append(s, from, i).append(replacement);
            from = i + old.length();
        }
        return budget.string(out.append(s.substring(from)).toString());
    }

    private static long count(String s, String sub) {
        if (sub.isEmpty()) return s.codePointCount(0, s.length()) + 1;
        long n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) n++;
        return n;
    }

    private static int codePointIndex(String s, int charIndex) {
        return charIndex < 0 ? -1 : s.codePointCount(0, charIndex);
    }
}
