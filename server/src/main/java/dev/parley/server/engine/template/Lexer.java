package dev.parley.server.engine.template;

import dev.parley.server.engine.template.Token.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a template into tokens the way jinja2's lexer does with {@code trim_blocks} and {@code lstrip_blocks}:
 * newlines normalised to {@code \n}, one trailing newline dropped, {@code -} and {@code +} whitespace control, the
 * newline after a block or comment tag removed, and the indentation before a block or comment tag that starts a line
 * removed. String literals are kept with their quotes and escapes; the parser decodes them.
 */
final class Lexer {
    private static final Pattern RAW_BEGIN = Pattern.compile("\\{%([-+]?)\\s*raw\\s*(-%}\\s*|%})");
    private static final Pattern RAW_END = Pattern.compile("\\{%([-+]?)\\s*endraw\\s*(\\+%}|-%}\\s*|%}\\n?)");
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Pattern FLOAT =
            Pattern.compile("(\\d+_)*\\d+((\\.(\\d+_)*\\d+)?[eE][+\\-]?(\\d+_)*\\d+|\\.(\\d+_)*\\d+)");
    private static final Pattern INTEGER = Pattern.compile("(\\d+_)*\\d+");
    private static final Pattern STRING =
            Pattern.compile("'([^'\\\\]*(?:\\\\.[^'\\\\]*)*)'|\"([^\"\\\\]*(?:\\\\.[^\"\\\\]*)*)\"", Pattern.DOTALL);
    private static final String[] OPERATORS = {
        "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=",
        ".", ":", "|", ",", ";"
    };

    private final String src;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;
    private boolean lineStarting = true;
    private int lineScan; // offsets only grow, so lines are counted once
    private int lineCount = 1;

    private Lexer(String source) {
        this.src = normalize(source);
    }

    static List<Token> tokenize(String source) {
        Lexer lexer = new Lexer(source);
        lexer.run();
        return lexer.tokens;
    }

    /** jinja2 splits on \r\n, \r and \n, rejoins with \n, and drops one trailing newline (keep_trailing_newline=False). */
    private static String normalize(String source) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    private void run() {
        while (pos < src.length()) {
            int start = nextTag(pos);
            if (start < 0) {
                data(src.substring(pos));
                break;
            }
            char kind = src.charAt(start + 1);
            char sign = start + 2 < src.length() ? src.charAt(start + 2) : 0;
            Matcher raw = RAW_BEGIN.matcher(src).region(start, src.length());
            boolean isRaw = kind == '%' && raw.lookingAt();
            data(beforeTag(src.substring(pos, start), sign, kind == '{'));
            int body = start + 2 + (sign == '-' || sign == '+' ? 1 : 0);
            if (isRaw) {
                raw(raw.end());
            } else if (kind == '#') {
                comment(body);
            } else {
                tag(kind == '{', body);
            }
        }
        tokens.add(new Token(Type.END, "", line(src.length())));
    }

    private int nextTag(int from) {
        int i = src.indexOf('{', from);
        while (i >= 0 && i + 1 < src.length()) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
            i = src.indexOf('{', i + 1);
        }
        return -1;
    }

    /** The text before a tag, after the tag's {@code -} or lstrip_blocks took what they take. */
    private String beforeTag(String text, char sign, boolean variable) {
        if (sign == '-') return Py.rstrip(text, null);
        if (sign == '+' || variable) return text;
        int lineStart = text.lastIndexOf('\n') + 1;
        if ((lineStart > 0 || lineStarting) && lineStart < text.length() && Py.isBlank(text.substring(lineStart))) {
            return text.substring(0, lineStart);
        }
        return text;
    }

    private void data(String text) {
        if (!text.isEmpty()) tokens.add(new Token(Type.DATA, text, line(pos)));
    }

    private void comment(int body) {
        int end = src.indexOf("#}", body);
        if (end < 0) throw TemplateException.syntax(line(body), "missing end of comment tag");
        int after = end + 2;
        if (end > body && src.charAt(end - 1) == '-') after = skipWhitespace(after);
        else if (!(end > body && src.charAt(end - 1) == '+') && after < src.length() && src.charAt(after) == '\n')
            after++;
        finish(after);
    }

    private void raw(int contentStart) {
        Matcher end = RAW_END.matcher(src).region(contentStart, src.length());
        if (!end.find()) throw TemplateException.syntax(line(contentStart), "missing endraw");
        pos = contentStart;
        data(beforeTag(src.substring(contentStart, end.start()), signOf(end.group(1)), false));
        finish(end.end());
    }

    private static char signOf(String group) {
        return group.isEmpty() ? 0 : group.charAt(0);
    }

    private void tag(boolean variable, int body) {
        tokens.add(new Token(variable ? Type.VARIABLE_BEGIN : Type.BLOCK_BEGIN, "", line(body)));
        int depth = 0;
        int i = body;
        while (true) {
            while (i < src.length() && Py.isSpace(src.charAt(i))) i++;
            if (i >= src.length()) throw TemplateException.syntax(line(body), "unexpected end of template in a tag");
            if (depth == 0) {
                int end = tagEnd(variable, i);
                if (end >= 0) {
                    tokens.add(new Token(variable ? Type.VARIABLE_END : Type.BLOCK_END, "", line(i)));
                    finish(end);
                    return;
                }
            }
            i = word(i);
            Token last = tokens.getLast();
            if (last.type() == Type.OPERATOR) {
                switch (last.text()) {
                    case "(", "[", "{" -> depth++;
                    case ")", "]", "}" -> depth = Math.max(0, depth - 1);
                    default -> {}
                }
            }
        }
    }

    /** Where the text after the tag's end starts, or -1 if no end starts at {@code i}. */
    private int tagEnd(boolean variable, int i) {
        String close = variable ? "}}" : "%}";
        if (src.startsWith("-" + close, i)) return skipWhitespace(i + 3);
        if (!variable && src.startsWith("+" + close, i)) return i + 3;
        if (src.startsWith(close, i)) {
            int after = i + 2;
            return !variable && after < src.length() && src.charAt(after) == '\n' ? after + 1 : after;
        }
        return -1;
    }

    private int word(int i) {
        int line = line(i);
        Matcher m;
        if ((m = STRING.matcher(src).region(i, src.length())).lookingAt()) {
            tokens.add(new Token(Type.STRING, m.group(), line));
        } else if ((m = FLOAT.matcher(src).region(i, src.length())).lookingAt()) {
            tokens.add(new Token(Type.FLOAT, m.group().replace("_", ""), line));
        } else if ((m = INTEGER.matcher(src).region(i, src.length())).lookingAt()) {
            tokens.add(new Token(Type.INTEGER, m.group().replace("_", ""), line));
        } else if ((m = NAME.matcher(src).region(i, src.length())).lookingAt()) {
            tokens.add(new Token(Type.NAME, m.group(), line));
        } else {
            for (String op : OPERATORS) {
                if (src.startsWith(op, i)) {
                    tokens.add(new Token(Type.OPERATOR, op, line));
                    return i + op.length();
                }
            }
            throw TemplateException.syntax(line, "unexpected character '" + src.charAt(i) + "'");
        }
        return m.end();
    }

    private int skipWhitespace(int i) {
        while (i < src.length() && Py.isSpace(src.charAt(i))) i++;
        return i;
    }

    private void finish(int end) {
        lineStarting = end > 0 && src.charAt(end - 1) == '\n';
        pos = end;
    }

    private int line(int offset) {
        while (lineScan < offset && lineScan < src.length()) {
            if (src.charAt(lineScan++) == '\n') lineCount++;
        }
        return lineCount;
    }
}
