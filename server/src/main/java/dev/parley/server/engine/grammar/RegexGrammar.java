package dev.parley.server.engine.grammar;

import java.util.ArrayList;
import java.util.List;

/**
 * Spells a parsed {@code pattern} as GBNF for the inside of a JSON string (between its quotes). The grammar
 * works on the JSON text, so each character is written as JSON writes it: a quote as backslash-quote, a line
 * break as backslash-n, other control characters as a six-character {@code u} escape. Only one spelling of
 * each character is produced: narrower than JSON, but it decodes to exactly the strings the pattern matches.
 *
 * <p>JSON Schema patterns are not anchored: a branch without {@code ^} may be preceded by any characters, one
 * without {@code $} followed by any. Anchors elsewhere than at a branch's ends are refused.
 */
final class RegexGrammar {
    private final Rules rules;
    private final String hint;
    private final Pointer at;

    private RegexGrammar(Rules rules, String hint, Pointer at) {
        this.rules = rules;
        this.hint = hint;
        this.at = at;
    }

    /** The GBNF for string contents that {@code pattern} matches; the rules it needs are added to {@code rules}. */
    static String contents(String pattern, Rules rules, String hint, Pointer at) {
        Regex regex = RegexParser.parse(pattern, at);
        RegexGrammar grammar = new RegexGrammar(rules, hint, at);
        List<Regex> branches = regex instanceof Regex.Alternation(var all) ? all : List.of(regex);
        List<String> spelled = new ArrayList<>();
        for (Regex branch : branches) {
            spelled.add(grammar.branch(branch));
        }
        return spelled.size() == 1 ? spelled.getFirst() : "( " + String.join(" | ", spelled) + " )";
    }

    private String branch(Regex branch) {
        List<Regex> items = new ArrayList<>(branch instanceof Regex.Sequence(var all) ? all : List.of(branch));
        boolean anchoredStart = !items.isEmpty() && items.getFirst() instanceof Regex.Start;
        if (anchoredStart) {
            items.removeFirst();
        }
        boolean anchoredEnd = !items.isEmpty() && items.getLast() instanceof Regex.End;
        if (anchoredEnd) {
            items.removeLast();
        }
        String body = sequence(items);
        String any = Primitives.use(rules, "char") + "*";
        List<String> parts = new ArrayList<>();
        if (!anchoredStart) {
            parts.add(any);
        }
        if (!body.isEmpty()) {
            parts.add(body);
        }
        if (!anchoredEnd) {
            parts.add(any);
        }
        return parts.isEmpty() ? "\"\"" : String.join(" ", parts);
    }

    private String spell(Regex regex) {
        return switch (regex) {
            case Regex.Literal(int cp) -> Gbnf.literal(json(cp));
            case Regex.CharSet(var ranges, var negated) -> charSet(ranges, negated);
            case Regex.Sequence(var items) -> {
                String body = sequence(items);
                yield body.isEmpty() ? "\"\"" : "( " + body + " )";
            }
            case Regex.Alternation(var branches) ->
                "( "
                        + String.join(
                                " | ", branches.stream().map(this::alternative).toList()) + " )";
            case Regex.Repeat(var item, var min, var max) -> repeat(item, min, max);
            case Regex.Start() ->
                throw SchemaException.unsupported(
                        at, "regular expression feature not supported: '^' inside the pattern");
            case Regex.End() ->
                throw SchemaException.unsupported(
                        at, "regular expression feature not supported: '$' inside the pattern");
        };
    }

    private String alternative(Regex branch) {
        String spelled = branch instanceof Regex.Sequence(var items) ? sequence(items) : spell(branch);
        return spelled.isEmpty() ? "\"\"" : spelled;
    }

    /** Items in a row; runs of literals become one quoted literal. */
    private String sequence(List<Regex> items) {
        List<String> parts = new ArrayList<>();
        StringBuilder run = new StringBuilder();
        for (Regex item : items) {
            if (item instanceof Regex.Literal(int cp)) {
                run.append(json(cp));
                continue;
            }
            if (!run.isEmpty()) {
                parts.add(Gbnf.literal(run.toString()));
                run.setLength(0);
            }
            parts.add(spell(item));
        }
        if (!run.isEmpty()) {
            parts.add(Gbnf.literal(run.toString()));
        }
        return String.join(" ", parts);
    }

    private String repeat(Regex item, int min, int max) {
        String spelled = spell(item);
        // llama.cpp copies a repeated group once per repetition and refuses when copies of copies pass 2000;
        // a repeated rule reference is one symbol, so anything but a single terminal becomes a rule first.
        boolean single = item instanceof Regex.Literal || (spelled.startsWith("[") && spelled.indexOf(" | ") < 0);
        String atom = single ? spelled : rules.add(hint, spelled);
        return Repetition.of(rules, hint, atom, min, max);
    }

    /** A character set as JSON text: unescaped characters in one class, escaped ones as literals beside it. */
    private static String charSet(List<int[]> ranges, boolean negated) {
        List<String> alternatives = new ArrayList<>();
        if (negated) {
            StringBuilder raw = new StringBuilder("[^");
            ranges.forEach(range -> raw.append(classRange(range[0], range[1])));
            alternatives.add(raw.append("\"\\\\\\x7F\\x00-\\x1F]").toString());
            for (int cp : new int[] {'"', '\\', '\t', '\n', '\r'}) {
                if (!RegexParser.contains(ranges, cp)) {
                    alternatives.add(Gbnf.literal(json(cp)));
                }
            }
        } else {
            StringBuilder raw = new StringBuilder();
            for (int[] range : ranges) {
                for (int[] plain : PLAIN) {
                    int from = Math.max(range[0], plain[0]);
                    int to = Math.min(range[1], plain[1]);
                    if (from <= to) {
                        raw.append(classRange(from, to));
                    }
                }
            }
            if (!raw.isEmpty()) {
                alternatives.add("[" + raw + "]");
            }
            for (int cp = 0; cp <= 0x7F; cp++) {
                if (needsEscape(cp) && RegexParser.contains(ranges, cp)) {
                    alternatives.add(Gbnf.literal(json(cp)));
                }
            }
        }
        return alternatives.size() == 1 ? alternatives.getFirst() : "( " + String.join(" | ", alternatives) + " )";
    }

    /** Code points JSON text may carry unescaped (our {@code char} rule also escapes DEL). */
    private static final int[][] PLAIN = {{0x20, 0x21}, {0x23, 0x5B}, {0x5D, 0x7E}, {0x80, Character.MAX_CODE_POINT}};

    private static boolean needsEscape(int cp) {
        return cp < 0x20 || cp == '"' || cp == '\\' || cp == 0x7F;
    }

    private static String classRange(int from, int to) {
        return from == to ? Gbnf.escape(from) : Gbnf.escape(from) + "-" + Gbnf.escape(to);
    }

    /** How JSON text spells one code point inside a string. */
    static String json(int cp) {
        return switch (cp) {
            case '"' -> "\\\"";
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            case '\b' -> "\\b";
            case '\f' -> "\\f";
            default -> needsEscape(cp) ? "\\u%04x".formatted(cp) : Character.toString(cp);
        };
    }
}
