package dev.parley.server.engine.template;

import java.util.List;
import java.util.Map;

/** String literals as jinja2 decodes them (Python's {@code unicode-escape}), and Python's {@code str.format}. */
final class Strings {
    private Strings() {}

    /** The value of a quoted literal: its escapes decoded, unknown escapes kept as written. */
    static String decode(String quoted) {
        String s = quoted.substring(1, quoted.length() - 1);
        if (s.indexOf('\\') < 0) return s;
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\' || i + 1 >= s.length()) {
                out.append(c);
                continue;
            }
            char e = s.charAt(++i);
            switch (e) {
                case '\n' -> {}
                case '\\' -> out.append('\\');
                case '\'' -> out.append('\'');
                case '"' -> out.append('"');
                case 'a' -> out.append('\u0007');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'v' -> out.append('\u000b');
                case 'x', 'u', 'U' -> {
                    int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    String hex = s.substring(i + 1, Math.min(s.length(), i + 1 + n));
                    if (hex.length() != n || !hex.chars().allMatch(h -> Character.digit(h, 16) >= 0)) throw bad(quoted);
                    out.appendCodePoint(Integer.parseInt(hex, 16));
                    i += n;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int j = i;
                        while (j < s.length() && j < i + 3 && s.charAt(j) >= '0' && s.charAt(j) <= '7') j++;
                        out.appendCodePoint(Integer.parseInt(s.substring(i, j), 8));
                        i = j - 1;
                    } else {
                        out.append('\\').append(e);
                    }
                }
            }
        }
        return out.toString();
    }

    private static TemplateException bad(String literal) {
        return TemplateException.syntax(0, "truncated escape in " + literal);
    }

    /** Python's {@code str.format} for the fields templates use: {@code {}}, {@code {0}}, {@code {name}}, {@code {{}}. */
    static String format(String pattern, List<Object> args, Map<String, Object> named) {
        StringBuilder out = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '{' && i + 1 < pattern.length() && pattern.charAt(i + 1) == '{') {
                out.append('{');
                i++;
            } else if (c == '}' && i + 1 < pattern.length() && pattern.charAt(i + 1) == '}') {
                out.append('}');
                i++;
            } else if (c == '{') {
                int end = pattern.indexOf('}', i);
                if (end < 0) throw TemplateException.type("ValueError: Single '{' encountered in format string");
                String field = pattern.substring(i + 1, end);
                String spec = "";
                int colon = field.indexOf(':');
                if (colon >= 0) {
                    spec = field.substring(colon + 1);
                    field = field.substring(0, colon);
                }
                Object value;
                if (field.isEmpty()) value = positional(args, auto++);
                else if (field.chars().allMatch(Character::isDigit)) value = positional(args, Integer.parseInt(field));
                else if (named.containsKey(field)) value = named.get(field);
                else throw TemplateException.type("KeyError: '" + field + "'");
                if (!spec.isEmpty()) throw TemplateException.type("format specifications are not supported: " + spec);
                out.append(Values.str(value));
                i = end;
            } else if (c == '}') {
                throw TemplateException.type("ValueError: Single '}' encountered in format string");
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static Object positional(List<Object> args, int index) {
        if (index >= args.size()) {
            throw TemplateException.type(
                    "IndexError: Replacement index " + index + " out of range for positional args tuple");
        }
        return args.get(index);
    }
}
