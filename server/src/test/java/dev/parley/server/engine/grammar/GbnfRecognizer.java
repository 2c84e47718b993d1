package dev.parley.server.engine.grammar;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A GBNF recogniser written from llama.cpp's grammar description, independent of the converter: the oracle the
 * grammar tests ask whether a text is in a grammar's language. It parses the syntax llama.cpp reads (rules,
 * literals, classes, groups, alternation, {@code ? * + {m} {m,} {m,n}}, comments) and matches code points by
 * computing, for each expression and start position, the set of positions where it can end (memoized per rule),
 * so ambiguous grammars cost polynomial time, not exponential.
 */
final class GbnfRecognizer {
    sealed interface Expr {}

    record Alt(List<Expr> options) implements Expr {}

    record Seq(List<Expr> items) implements Expr {}

    record Lit(int[] codePoints) implements Expr {}

    record Cls(List<int[]> ranges, boolean negated) implements Expr {}

    record AnyChar() implements Expr {}

    record Ref(String name) implements Expr {}

    record Rep(Expr item, int min, int max) implements Expr {} // max -1: unbounded

    private final Map<String, Expr> rules;

    private GbnfRecognizer(Map<String, Expr> rules) {
        this.rules = rules;
    }

    static GbnfRecognizer parse(String grammar) {
        GbnfRecognizer recognizer = new GbnfRecognizer(new Parser(grammar).rules());
        recognizer.rules.values().forEach(recognizer::checkRefs);
        return recognizer;
    }

    Set<String> ruleNames() {
        return rules.keySet();
    }

    /** The rules by name, for {@link GbnfSampler}. */
    Map<String, Expr> rules() {
        return rules;
    }

    /** Whether the whole of {@code text} is derived from rule {@code root}. */
    boolean accepts(String text) {
        return new Match(text.codePoints().toArray())
                .ends(new Ref("root"), 0)
                .get(text.codePointCount(0, text.length()));
    }

    private void checkRefs(Expr expr) {
        switch (expr) {
            case Alt(var options) -> options.forEach(this::checkRefs);
            case Seq(var items) -> items.forEach(this::checkRefs);
            case Rep(var item, var min, var max) -> checkRefs(item);
            case Ref(var name) -> {
                if (!rules.containsKey(name)) {
                    throw new IllegalArgumentException("undefined rule " + name);
                }
            }
            case Lit lit -> {}
            case Cls cls -> {}
            case AnyChar any -> {}
        }
    }

    private final class Match {
        private final int[] text;
        private final Map<String, BitSet[]> memo = new HashMap<>();
        private final Set<String> active = new HashSet<>();

        Match(int[] text) {
            this.text = text;
        }

        BitSet ends(Expr expr, int pos) {
            BitSet out = new BitSet();
            switch (expr) {
                case Lit(int[] cps) -> {
                    if (pos + cps.length <= text.length
                            && java.util.Arrays.equals(text, pos, pos + cps.length, cps, 0, cps.length)) {
                        out.set(pos + cps.length);
                    }
                }
                case Cls(var ranges, var negated) -> {
                    if (pos < text.length) {
                        int cp = text[pos];
                        boolean in = ranges.stream().anyMatch(r -> r[0] <= cp && cp <= r[1]);
                        if (in != negated) {
                            out.set(pos + 1);
                        }
                    }
                }
                case AnyChar any -> {
                    if (pos < text.length) {
                        out.set(pos + 1);
                    }
                }
                case Alt(var options) -> options.forEach(option -> out.or(ends(option, pos)));
                case Seq(var items) -> out.or(sequence(items, pos));
                case Ref(var name) -> out.or(rule(name, pos));
                case Rep(var item, var min, var max) -> out.or(repeat(item, min, max, pos));
            }
            return out;
        }

        BitSet sequence(List<Expr> items, int pos) {
            BitSet at = new BitSet();
            at.set(pos);
            for (Expr item : items) {
                at = advance(item, at);
                if (at.isEmpty()) {
                    break;
                }
            }
            return at;
        }

        BitSet advance(Expr item, BitSet from) {
            BitSet next = new BitSet();
            for (int p = from.nextSetBit(0); p >= 0; p = from.nextSetBit(p + 1)) {
                next.or(ends(item, p));
            }
            return next;
        }

        private BitSet repeat(Expr item, int min, int max, int pos) {
            BitSet current = new BitSet();
            current.set(pos);
            for (int i = 0; i < min; i++) {
                current = advance(item, current);
                if (current.isEmpty()) {
                    return current;
                }
            }
            BitSet result = (BitSet) current.clone();
            BitSet frontier = current;
            for (int i = min; max == -1 || i < max; i++) {
                BitSet next = advance(item, frontier);
                if (max == -1) {
                    next.andNot(result); // unbounded: only new positions can lead anywhere new
                }
                if (next.isEmpty()) {
                    break;
                }
                result.or(next);
                frontier = next;
            }
            return result;
        }

        private BitSet rule(String name, int pos) {
            BitSet[] byPos = memo.computeIfAbsent(name, n -> new BitSet[text.length + 1]);
            if (byPos[pos] != null) {
                return byPos[pos];
            }
            String key = name + "@" + pos;
            if (!active.add(key)) {
                throw new IllegalStateException("left recursion through " + name);
            }
            BitSet result = ends(rules.get(name), pos);
            active.remove(key);
            byPos[pos] = result;
            return result;
        }
    }

    /** Reads GBNF as llama.cpp does: a newline ends a rule unless inside parentheses or right after {@code |}. */
    private static final class Parser {
        private final int[] src;
        private int pos;

        Parser(String grammar) {
            this.src = grammar.codePoints().toArray();
        }

        Map<String, Expr> rules() {
            Map<String, Expr> rules = new LinkedHashMap<>();
            space(true);
            while (pos < src.length) {
                String name = name();
                space(false);
                expect("::=");
                space(true);
                Expr body = alternates(false);
                if (rules.put(name, body) != null) {
                    throw error("rule " + name + " defined twice");
                }
                if (pos < src.length && src[pos] != '\n' && src[pos] != '\r') {
                    throw error("expecting newline or end");
                }
                space(true);
            }
            return rules;
        }

        private Expr alternates(boolean nested) {
            List<Expr> options = new ArrayList<>();
            options.add(sequence(nested));
            while (peek('|')) {
                pos++;
                space(true);
                options.add(sequence(nested));
            }
            return options.size() == 1 ? options.getFirst() : new Alt(options);
        }

        private Expr sequence(boolean nested) {
            List<Expr> items = new ArrayList<>();
            while (pos < src.length) {
                int c = src[pos];
                if (c == '"') {
                    pos++;
                    List<Integer> cps = new ArrayList<>();
                    while (!peek('"')) {
                        cps.add(character());
                    }
                    pos++;
                    items.add(new Lit(cps.stream().mapToInt(Integer::intValue).toArray()));
                } else if (c == '[') {
                    pos++;
                    boolean negated = peek('^');
                    if (negated) {
                        pos++;
                    }
                    List<int[]> ranges = new ArrayList<>();
                    while (!peek(']')) {
                        int from = character();
                        int to = from;
                        if (peek('-') && pos + 1 < src.length && src[pos + 1] != ']') {
                            pos++;
                            to = character();
                        }
                        ranges.add(new int[] {from, to});
                    }
                    pos++;
                    items.add(new Cls(ranges, negated));
                } else if (isWordChar(c)) {
                    items.add(new Ref(name()));
                } else if (c == '(') {
                    pos++;
                    space(true);
                    Expr inner = alternates(true);
                    if (!peek(')')) {
                        throw error("expecting )");
                    }
                    pos++;
                    items.add(inner instanceof Seq || inner instanceof Alt ? inner : new Seq(List.of(inner)));
                } else if (c == '.') {
                    pos++;
                    items.add(new AnyChar());
                } else if (c == '*' || c == '+' || c == '?') {
                    pos++;
                    repeatLast(items, c == '+' ? 1 : 0, c == '?' ? 1 : -1);
                } else if (c == '{') {
                    pos++;
                    space(nested);
                    int min = integer();
                    space(nested);
                    int max = min;
                    if (peek(',')) {
                        pos++;
                        space(nested);
                        max = Character.isDigit(src[pos]) ? integer() : -1;
                        space(nested);
                    }
                    expect("}");
                    repeatLast(items, min, max > 2000 ? -1 : max); // llama.cpp drops upper bounds over 2000
                } else {
                    break;
                }
                space(nested);
            }
            return items.size() == 1 ? items.getFirst() : new Seq(items);
        }

        private void repeatLast(List<Expr> items, int min, int max) {
            if (items.isEmpty()) {
                throw error("nothing to repeat");
            }
            items.add(new Rep(items.removeLast(), min, max));
        }

        private int character() {
            if (pos >= src.length) {
                throw error("unexpected end");
            }
            int c = src[pos++];
            if (c != '\\') {
                return c;
            }
            int e = src[pos++];
            return switch (e) {
                case 'x' -> hex(2);
                case 'u' -> hex(4);
                case 'U' -> hex(8);
                case 't' -> '\t';
                case 'r' -> '\r';
                case 'n' -> '\n';
                case '\\', '"', '[', ']', '-' -> e;
                default -> throw error("unknown escape \\" + Character.toString(e));
            };
        }

        private int hex(int digits) {
            String hex = new String(src, pos, digits);
            pos += digits;
            return Integer.parseInt(hex, 16);
        }

        private int integer() {
            int start = pos;
            while (pos < src.length && Character.isDigit(src[pos])) {
                pos++;
            }
            if (start == pos) {
                throw error("expecting an integer");
            }
            return Integer.parseInt(new String(src, start, pos - start));
        }

        private String name() {
            int start = pos;
            while (pos < src.length && isWordChar(src[pos])) {
                pos++;
            }
            if (start == pos) {
                throw error("expecting a name");
            }
            return new String(src, start, pos - start);
        }

        private void space(boolean newlineOk) {
            while (pos < src.length) {
                int c = src[pos];
                if (c == '#') {
                    while (pos < src.length && src[pos] != '\n' && src[pos] != '\r') {
                        pos++;
                    }
                } else if (c == ' ' || c == '\t' || (newlineOk && (c == '\n' || c == '\r'))) {
                    pos++;
                } else {
                    return;
                }
            }
        }

        private void expect(String text) {
            for (int i = 0; i < text.length(); i++) {
                if (!peek(text.charAt(i))) {
                    throw error("expecting " + text);
                }
                pos++;
            }
        }

        private boolean peek(int c) {
            return pos < src.length && src[pos] == c;
        }

        private static boolean isWordChar(int c) {
            return c < 0x80 && (Character.isLetterOrDigit(c) || c == '-');
        }

        private IllegalArgumentException error(String message) {
            return new IllegalArgumentException(message + " at offset " + pos);
        }
    }
}
