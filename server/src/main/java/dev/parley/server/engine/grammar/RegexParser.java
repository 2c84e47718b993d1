package dev.parley.server.engine.grammar;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Parses the common subset of ECMA-262 regular expressions that JSON Schema patterns use: literals, escapes,
 * {@code [...]} classes, {@code \d \w \s} and their negations, {@code .}, groups ({@code (...)}, {@code (?:...)},
 * named), alternation, the quantifiers {@code ? * + {m} {m,} {m,n}} (lazy ones match the same strings), and
 * {@code ^ $}. Lookarounds, backreferences, word boundaries, flags and Unicode properties are refused with a
 * {@link SchemaException} at the pattern's pointer. Not thread-safe; one instance parses one pattern.
 */
final class RegexParser {
    private static final int MAX_CODE_POINT = Character.MAX_CODE_POINT;

    private final String text;
    private final Pointer at;
    private int pos;

    private RegexParser(String text, Pointer at) {
        this.text = text;
        this.at = at;
    }

    static Regex parse(String pattern, Pointer at) {
        if (pattern.length() > Limits.MAX_PATTERN_CHARS) {
            throw SchemaException.tooLarge(at, "pattern longer than " + Limits.MAX_PATTERN_CHARS + " characters");
        }
        RegexParser parser = new RegexParser(pattern, at);
        Regex regex = parser.alternation();
        if (parser.pos < pattern.length()) {
            throw parser.refuse("unbalanced ')'");
        }
        return regex;
    }

    private Regex alternation() {
        List<Regex> branches = new ArrayList<>();
        branches.add(sequence());
        while (peek('|')) {
            pos++;
            branches.add(sequence());
        }
        return branches.size() == 1 ? branches.getFirst() : new Regex.Alternation(branches);
    }

    private Regex sequence() {
        List<Regex> items = new ArrayList<>();
        while (pos < text.length() && !peek('|') && !peek(')')) {
            Regex atom = atom();
            items.add(quantified(atom));
        }
        return items.size() == 1 ? items.getFirst() : new Regex.Sequence(items);
    }

    private Regex quantified(Regex atom) {
        int min;
        int max;
        if (peek('?') || peek('*') || peek('+')) {
            char q = text.charAt(pos++);
            min = q == '+' ? 1 : 0;
            max = q == '?' ? 1 : -1;
        } else if (peek('{') && braceQuantifierAhead()) {
            pos++;
            min = number();
            max = min;
            if (peek(',')) {
                pos++;
                max = peek('}') ? -1 : number();
            }
            pos++; // '}'
            if (max != -1 && max < min) {
                throw refuse("quantifier {" + min + "," + max + "} is out of order");
            }
            if (Math.max(min, max) > Limits.MAX_COUNT) {
                throw SchemaException.tooLarge(at, "pattern quantifier over " + Limits.MAX_COUNT);
            }
        } else {
            return atom;
        }
        if (atom instanceof Regex.Start || atom instanceof Regex.End) {
            throw refuse("quantified anchor");
        }
        if (peek('?')) {
            pos++; // lazy: same strings, another preference
        } else if (peek('+')) {
            throw refuse("possessive quantifier");
        }
        if (peek('?') || peek('*') || peek('+') || (peek('{') && braceQuantifierAhead())) {
            throw refuse("nothing to repeat");
        }
        return new Regex.Repeat(atom, min, max);
    }

    private boolean braceQuantifierAhead() {
        return text.substring(pos).matches("(?s)\\{\\d+(,\\d*)?}.*");
    }

    private int number() {
        int start = pos;
        while (pos < text.length() && Character.isDigit(text.charAt(pos))) {
            pos++;
        }
        String digits = text.substring(start, pos);
        return digits.length() > 6 ? Integer.MAX_VALUE : Integer.parseInt(digits);
    }

    private Regex atom() {
        int cp = text.codePointAt(pos);
        pos += Character.charCount(cp);
        return switch (cp) {
            case '^' -> new Regex.Start();
            case '$' -> new Regex.End();
            case '.' -> new Regex.CharSet(sorted(List.of(r('\n'), r('\r'), r(0x85), r(0x2028, 0x2029))), true);
            case '(' -> group();
            case '[' -> charClass();
            case '\\' -> escape(false, false);
            case '*', '+', '?' -> throw refuse("nothing to repeat");
            default -> new Regex.Literal(cp);
        };
    }

    private Regex group() {
        if (peek('?')) {
            String rest = text.substring(pos);
            if (rest.startsWith("?:")) {
                pos += 2;
            } else if (rest.startsWith("?=")
                    || rest.startsWith("?!")
                    || rest.startsWith("?<=")
                    || rest.startsWith("?<!")) {
                throw refuse("lookaround");
            } else if (rest.matches("(?s)\\?P?<[A-Za-z_][A-Za-z0-9_]*>.*")) {
                pos = text.indexOf('>', pos) + 1;
            } else {
                throw refuse("group modifier '(?'");
            }
        }
        Regex inner = alternation();
        if (!peek(')')) {
            throw refuse("unclosed group");
        }
        pos++;
        return inner;
    }

    private Regex charClass() {
        boolean negated = peek('^');
        if (negated) {
            pos++;
        }
        if (peek(']')) {
            throw refuse(
                    negated
                            ? "'[^]'"
                            : "empty character class '[]'"); // ECMA-262 and java.util.regex read these differently
        }
        List<int[]> ranges = new ArrayList<>();
        boolean first = true;
        while (true) {
            if (pos >= text.length()) {
                throw refuse("unclosed character class");
            }
            if (peek(']') && !first) {
                pos++;
                break;
            }
            first = false;
            List<int[]> low = classAtom(negated);
            if (low.size() == 1 && peek('-') && pos + 1 < text.length() && text.charAt(pos + 1) != ']') {
                int[] lowRange = low.getFirst();
                pos++;
                List<int[]> high = classAtom(negated);
                if (lowRange[0] != lowRange[1] || high.size() != 1 || high.getFirst()[0] != high.getFirst()[1]) {
                    throw refuse("class escape used as a range bound");
                }
                if (high.getFirst()[0] < lowRange[0]) {
                    throw refuse("character range out of order");
                }
                ranges.add(r(lowRange[0], high.getFirst()[0]));
            } else {
                ranges.addAll(low);
            }
        }
        return new Regex.CharSet(sorted(ranges), negated);
    }

    /** One member of a class: a code point as a one-point range, or the ranges of {@code \d}, {@code \w}, {@code \s}. */
    private List<int[]> classAtom(boolean negated) {
        int cp = text.codePointAt(pos);
        pos += Character.charCount(cp);
        if (cp != '\\') {
            return List.of(r(cp));
        }
        Regex escaped = escape(true, negated);
        return switch (escaped) {
            case Regex.Literal(int point) -> List.of(r(point));
            case Regex.CharSet(List<int[]> ranges, boolean inverted) when !inverted -> ranges;
            case Regex.CharSet(List<int[]> ranges, boolean inverted) when !negated -> complement(ranges); // [\s\S]
            default -> throw refuse("negated class escape inside a negated character class");
        };
    }

    private Regex escape(boolean inClass, boolean inNegatedClass) {
        if (pos >= text.length()) {
            throw refuse("trailing backslash");
        }
        char c = text.charAt(pos++);
        return switch (c) {
            case 'd' -> new Regex.CharSet(DIGITS, false);
            case 'D' -> new Regex.CharSet(DIGITS, true);
            case 'w' -> new Regex.CharSet(WORD, false);
            case 'W' -> new Regex.CharSet(WORD, true);
            case 's' -> new Regex.CharSet(inNegatedClass ? WIDE_SPACE : NARROW_SPACE, false);
            case 'S' -> new Regex.CharSet(WIDE_SPACE, true);
            case 't' -> new Regex.Literal('\t');
            case 'n' -> new Regex.Literal('\n');
            case 'r' -> new Regex.Literal('\r');
            case 'f' -> new Regex.Literal('\f');
            case 'v' -> new Regex.Literal(0x0B);
            case '0' -> new Regex.Literal(0);
            case 'b' -> {
                if (inClass) {
                    yield new Regex.Literal('\b');
                }
                throw refuse("word boundary \\b");
            }
            case 'x' -> new Regex.Literal(hex(2));
            case 'u' -> new Regex.Literal(hex(4));
            case 'B' -> throw refuse("word boundary \\B");
            case 'k' -> throw refuse("backreference \\k");
            case 'p', 'P' -> throw refuse("Unicode property escape \\" + c);
            case 'c' -> throw refuse("control escape \\c");
            default -> {
                if (c >= '1' && c <= '9') {
                    throw refuse("backreference \\" + c);
                }
                if (Character.isLetterOrDigit(c)) {
                    throw refuse("unknown escape \\" + c);
                }
                yield new Regex.Literal(c); // escaped punctuation stands for itself
            }
        };
    }

    private int hex(int digits) {
        if (pos + digits > text.length() || !text.substring(pos, pos + digits).matches("[0-9a-fA-F]+")) {
            throw refuse("malformed hex escape");
        }
        int value = Integer.parseInt(text.substring(pos, pos + digits), 16);
        pos += digits;
        return value;
    }

    private boolean peek(char c) {
        return pos < text.length() && text.charAt(pos) == c;
    }

    private SchemaException refuse(String what) {
        return SchemaException.unsupported(
                at,
                "regular expression feature not supported: " + what + " (at character " + pos + " of " + text + ")");
    }

    private static final List<int[]> DIGITS = List.of(r('0', '9'));
    private static final List<int[]> WORD = sorted(List.of(r('0', '9'), r('A', 'Z'), r('_'), r('a', 'z')));
    // Validators disagree on \s (ECMA-262 counts Unicode spaces, java.util.regex only ASCII ones): a grammar
    // produces only what both call a space, and where a space is excluded, excludes what either calls one.
    private static final List<int[]> NARROW_SPACE = sorted(List.of(r('\t', '\r'), r(' ')));
    private static final List<int[]> WIDE_SPACE = sorted(List.of(
            r('\t', '\r'),
            r(' '),
            r(0xA0),
            r(0x1680),
            r(0x2000, 0x200A),
            r(0x2028, 0x2029),
            r(0x202F),
            r(0x205F),
            r(0x3000),
            r(0xFEFF),
            r(0x85)));

    private static int[] r(int cp) {
        return new int[] {cp, cp};
    }

    private static int[] r(int from, int to) {
        return new int[] {from, to};
    }

    /** Sorts ranges and merges those that overlap or touch. */
    static List<int[]> sorted(List<int[]> ranges) {
        List<int[]> copy = new ArrayList<>(ranges.stream().map(int[]::clone).toList());
        copy.sort(Comparator.comparingInt(range -> range[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] range : copy) {
            if (!merged.isEmpty() && range[0] <= merged.getLast()[1] + 1) {
                merged.getLast()[1] = Math.max(merged.getLast()[1], range[1]);
            } else {
                merged.add(range);
            }
        }
        return List.copyOf(merged);
    }

    /** Every code point not in {@code ranges} (sorted and merged). */
    static List<int[]> complement(List<int[]> ranges) {
        List<int[]> out = new ArrayList<>();
        int next = 0;
        for (int[] range : ranges) {
            if (range[0] > next) {
                out.add(r(next, range[0] - 1));
            }
            next = range[1] + 1;
        }
        if (next <= MAX_CODE_POINT) {
            out.add(r(next, MAX_CODE_POINT));
        }
        return out;
    }

    static boolean contains(List<int[]> ranges, int cp) {
        return ranges.stream().anyMatch(range -> range[0] <= cp && cp <= range[1]);
    }
}
