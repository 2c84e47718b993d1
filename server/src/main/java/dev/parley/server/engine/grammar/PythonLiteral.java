package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * JSON values as Python literals, for models that write their tool calls as Python ({@code f(a=1, b=True)}): written
 * as JSON is, but {@code True}, {@code False} and {@code None} for JSON's keywords; read back with either quote,
 * Python's escapes, and JSON's keywords too.
 */
public final class PythonLiteral {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private PythonLiteral() {}

    /** {@code value} as a Python literal: JSON's text, its keywords spelled as Python's. */
    public static String write(JsonNode value) {
        return write(value, true);
    }

    /** {@code value} as JSON laid out as Python's {@code json.dumps} (and so templates' {@code tojson}) lays it out. */
    public static String json(JsonNode value) {
        return write(value, false);
    }

    private static String write(JsonNode value, boolean python) {
        return switch (value.getNodeType()) {
            case BOOLEAN -> !python ? value.toString() : value.booleanValue() ? "True" : "False";
            case NULL, MISSING -> python ? "None" : "null";
            case ARRAY -> {
                StringBuilder out = new StringBuilder("[");
                for (JsonNode item : value)
                    out.append(out.length() > 1 ? ", " : "").append(write(item, python));
                yield out.append(']').toString();
            }
            case OBJECT -> {
                StringBuilder out = new StringBuilder("{");
                for (var member : value.properties()) {
                    if (out.length() > 1) out.append(", ");
                    out.append(JSON.textNode(member.getKey())).append(": ").append(write(member.getValue(), python));
                }
                yield out.append('}').toString();
            }
            default -> value.toString();
        };
    }

    /**
     * Reads one Python literal (a string in either quote, a number, {@code True}/{@code False}/{@code None} or
     * their JSON spellings, a list, tuple or dict of them) from {@code text} at {@code at}.
     *
     * @return the value and where it ends, or null when no literal starts there
     */
    public static Read read(CharSequence text, int at) {
        return new Reader(text).value(at);
    }

    /** A value read and the index just past its text. */
    public record Read(JsonNode value, int end) {}

    /** Lists and dicts nested deeper than this do not read: the reader keeps its stack (and the thread's) small. */
    public static final int MAX_DEPTH = 256;

    private static final class Reader {
        private final CharSequence text;
        private int depth;

        Reader(CharSequence text) {
            this.text = text;
        }

        Read value(int at) {
            at = skipSpace(at);
            if (at >= text.length()) return null;
            char c = text.charAt(at);
            return switch (c) {
                case '"', '\'' -> string(at);
                case '[' -> list(at, ']');
                case '(' -> list(at, ')');
                case '{' -> dict(at);
                default -> c == '-' || c == '+' || c == '.' || Character.isDigit(c) ? number(at) : keyword(at);
            };
        }

        private Read keyword(int at) {
            int end = at;
            while (end < text.length() && Character.isLetter(text.charAt(end))) end++;
            JsonNode value = switch (text.subSequence(at, end).toString()) {
                case "True", "true" -> JSON.booleanNode(true);
                case "False", "false" -> JSON.booleanNode(false);
                case "None", "null" -> JSON.nullNode();
                default -> null;
            };
            return value == null ? null : new Read(value, end);
        }

        private Read number(int at) {
            int end = at;
            while (end < text.length() && "+-.0123456789eE_".indexOf(text.charAt(end)) >= 0) end++;
            String digits = text.subSequence(at, end).toString().replace("_", "");
            try {
                boolean integral = digits.chars().noneMatch(ch -> ch == '.' || ch == 'e' || ch == 'E');
                JsonNode value = integral
                        ? JSON.numberNode(new BigInteger(digits.startsWith("+") ? digits.substring(1) : digits))
                        : JSON.numberNode(new BigDecimal(digits));
                if (integral && value.canConvertToLong()) value = JSON.numberNode(value.longValue());
                return new Read(value, end);
            } catch (NumberFormatException e) {
                return null;
            }
        }

        private Read string(int at) {
            char quote = text.charAt(at);
            StringBuilder out = new StringBuilder();
            for (int i = at + 1; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c == quote) return new Read(JSON.textNode(out.toString()), i + 1);
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                if (++i >= text.length()) return null;
                char escaped = text.charAt(i);
                switch (escaped) {
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    case 'r' -> out.append('\r');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case '0' -> out.append('\0');
                    case 'u', 'x' -> {
                        int digits = escaped == 'u' ? 4 : 2;
                        if (i + digits >= text.length()) return null;
                        try {
                            out.append((char) Integer.parseInt(
                                    text.subSequence(i + 1, i + 1 + digits).toString(), 16));
                        } catch (NumberFormatException e) {
                            return null;
                        }
                        i += digits;
                    }
                    case '\n' -> {} // a line continued
                    default -> out.append(escaped); // \\, \', \", \/ and unknown escapes as the character
                }
            }
            return null;
        }

        private Read list(int at, char close) {
            if (depth == MAX_DEPTH) return null;
            depth++;
            try {
                return items(at, close);
            } finally {
                depth--;
            }
        }

        private Read items(int at, char close) {
            ArrayNode items = JSON.arrayNode();
            int i = skipSpace(at + 1);
            while (i < text.length() && text.charAt(i) != close) {
                Read item = value(i);
                if (item == null) return null;
                items.add(item.value());
                i = afterItem(item.end(), close);
                if (i < 0) return null;
            }
            return i < text.length() ? new Read(items, i + 1) : null;
        }

        private Read dict(int at) {
            if (depth == MAX_DEPTH) return null;
            depth++;
            try {
                return members(at);
            } finally {
                depth--;
            }
        }

        private Read members(int at) {
            ObjectNode members = JSON.objectNode();
            int i = skipSpace(at + 1);
            while (i < text.length() && text.charAt(i) != '}') {
                Read key = value(i);
                if (key == null) return null;
                i = skipSpace(key.end());
                if (i >= text.length() || text.charAt(i) != ':') return null;
                Read member = value(i + 1);
                if (member == null) return null;
                members.set(
                        key.value().isTextual()
                                ? key.value().asText()
                                : key.value().toString(),
                        member.value());
                i = afterItem(member.end(), '}');
                if (i < 0) return null;
            }
            return i < text.length() ? new Read(members, i + 1) : null;
        }

        /** Past an item of a list or dict: after its comma, or at its closing bracket; -1 when neither follows. */
        private int afterItem(int at, char close) {
            int i = skipSpace(at);
            if (i >= text.length()) return -1;
            if (text.charAt(i) == ',') return skipSpace(i + 1);
            return text.charAt(i) == close ? i : -1;
        }

        private int skipSpace(int at) {
            while (at < text.length() && Character.isWhitespace(text.charAt(at))) at++;
            return at;
        }
    }
}
