package dev.parley.server.engine.template;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Python's {@code str} methods where they differ from Java's: whitespace is {@code str.isspace}, splits keep Python's rules. */
final class Py {
    private Py() {}

    static boolean isSpace(int c) {
        return c == ' '
                || (c >= '\t' && c <= '\r')
                || (c >= 0x1c && c <= 0x1f)
                || c == 0x85
                || c == 0xa0
                || c == 0x2028
                || c == 0x2029
                || Character.getType(c) == Character.SPACE_SEPARATOR;
    }

    static boolean isBlank(String s) {
        return s.chars().allMatch(Py::isSpace);
    }

    private static boolean strips(int c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    static String strip(String s, String chars) {
        return lstrip(rstrip(s, chars), chars);
    }

    static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && strips(s.charAt(i), chars)) i++;
        return s.substring(i);
    }

    static String rstrip(String s, String chars) {
        int i = s.length();
        while (i > 0 && strips(s.charAt(i - 1), chars)) i--;
        return s.substring(0, i);
    }

    /** {@code str.split(sep, maxsplit)}; a null separator splits on runs of whitespace and drops empty ends. */
    static List<String> split(String s, String sep, long maxsplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) i++;
                if (i >= n) break;
                if (maxsplit >= 0 && out.size() >= maxsplit) {
                    out.add(rstrip(s.substring(i), null));
                    break;
                }
                int j = i;
                while (j < n && !isSpace(s.charAt(j))) j++;
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) throw TemplateException.type("ValueError: empty separator");
        int i = 0;
        while (maxsplit < 0 || out.size() < maxsplit) {
            int j = s.indexOf(sep, i);
            if (j < 0) break;
            out.add(s.substring(i, j));
            i = j + sep.length();
        }
        out.add(s.substring(i));
        return out;
    }

    static List<String> rsplit(String s, String sep, long maxsplit) {
        if (maxsplit < 0) return split(s, sep, -1);
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int j = s.length();
            while (true) {
                while (j > 0 && isSpace(s.charAt(j - 1))) j--;
                if (j <= 0) break;
                if (out.size() >= maxsplit) {
                    out.addFirst(lstrip(s.substring(0, j), null));
                    break;
                }
                int i = j;
                while (i > 0 && !isSpace(s.charAt(i - 1))) i--;
                out.addFirst(s.substring(i, j));
                j = i;
            }
            return out;
        }
        if (sep.isEmpty()) throw TemplateException.type("ValueError: empty separator");
        int end = s.length();
        while (out.size() < maxsplit) {
            int j = s.lastIndexOf(sep, end - sep.length());
            if (j < 0) break;
            out.addFirst(s.substring(j + sep.length(), end));
            end = j;
        }
        out.addFirst(s.substring(0, end));
        return out;
    }

    /** {@code str.splitlines()}: every line boundary Python knows, without the line ends. */
    static List<String> splitlines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            boolean boundary = c == '\n'
                    || c == '\r'
                    || c == 0x0b
                    || c == 0x0c
                    || (c >= 0x1c && c <= 0x1e)
                    || c == 0x85
                    || c == 0x2028
                    || c == 0x2029;
            if (boundary) {
                out.add(s.substring(start, i));
                i += c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n' ? 2 : 1;
                start = i;
            } else {
                i++;
            }
        }
        if (start < s.length()) out.add(s.substring(start));
        return out;
    }

    /** Python's {@code str.isupper()} / {@code str.islower()}: some cased character, and all of them in that case. */
    static boolean isCased(String s, boolean upper) {
        boolean any = false;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            if (Character.isUpperCase(c) || Character.isTitleCase(c)) {
                if (!upper) return false;
                any = true;
            } else if (Character.isLowerCase(c)) {
                if (upper) return false;
                any = true;
            }
        }
        return any;
    }

    static String capitalize(String s) {
        if (s.isEmpty()) return s;
        int first = s.codePointAt(0);
        return new StringBuilder()
                .appendCodePoint(Character.toTitleCase(first))
                .append(s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT))
                .toString();
    }

    /** Python's {@code str.title()}: a letter after a non-letter is upper-cased, every other letter lower-cased. */
    static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            boolean cased = Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
            out.appendCodePoint(cased ? (previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c)) : c);
            previousCased = cased;
            i += Character.charCount(c);
        }
        return out.toString();
    }

    /** Python's {@code repr(str)}: single quotes unless the text holds a single quote and no double quote. */
    static String repr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder out = new StringBuilder(s.length() + 2).append(quote);
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c == quote) out.append('\\').appendCodePoint(c);
                    else if (isPrintable(c)) out.appendCodePoint(c);
                    else if (c < 0x100) out.append("\\x%02x".formatted(c));
                    else if (c < 0x10000) out.append("\\u%04x".formatted(c));
                    else out.append("\\U%08x".formatted(c));
                }
            }
        }
        return out.append(quote).toString();
    }

    private static boolean isPrintable(int c) {
        if (c == ' ') return true;
        int type = Character.getType(c);
        return !(type == Character.CONTROL
                || type == Character.FORMAT
                || type == Character.SURROGATE
                || type == Character.PRIVATE_USE
                || type == Character.UNASSIGNED
                || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR
                || type == Character.SPACE_SEPARATOR);
    }

    /** Python's {@code repr(float)}: the shortest digits that round-trip, in Python's layout ({@code 1e-05}, {@code 1e+16}, {@code 2.0}). */
    static String repr(double d) {
        if (Double.isNaN(d)) return "nan";
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        var decimal = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        if (decimal.precision() == 2) {
            // Java prints at least two digits (4.9E-324) where one may already round-trip (5e-324).
            var one = decimal.round(new MathContext(1, RoundingMode.HALF_EVEN));
            if (one.doubleValue() == Math.abs(d)) decimal = one.stripTrailingZeros();
        }
        String digits = decimal.unscaledValue().toString();
        int exponent = digits.length() - 1 - decimal.scale(); // d = d.igits × 10^exponent
        String sign = d < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16) {
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "")
                    + Math.abs(exponent);
        }
        if (exponent < 0) return sign + "0." + "0".repeat(-exponent - 1) + digits;
        if (digits.length() <= exponent + 1) return sign + digits + "0".repeat(exponent + 1 - digits.length()) + ".0";
        return sign + digits.substring(0, exponent + 1) + "." + digits.substring(exponent + 1);
    }
}
