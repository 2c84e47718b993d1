package dev.parley.server.engine.grammar;

import dev.parley.server.engine.grammar.GbnfRecognizer.Alt;
import dev.parley.server.engine.grammar.GbnfRecognizer.AnyChar;
import dev.parley.server.engine.grammar.GbnfRecognizer.Cls;
import dev.parley.server.engine.grammar.GbnfRecognizer.Expr;
import dev.parley.server.engine.grammar.GbnfRecognizer.Lit;
import dev.parley.server.engine.grammar.GbnfRecognizer.Ref;
import dev.parley.server.engine.grammar.GbnfRecognizer.Rep;
import dev.parley.server.engine.grammar.GbnfRecognizer.Seq;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Random texts in a grammar's language, as a model held to the grammar could write them: each alternative and
 * repetition count chosen at random, each character of a class drawn mostly from the characters that break
 * markup and quoting ({@code " \ < > / { } ,}, newlines, control characters, letters beyond ASCII). Past a depth
 * or length budget every choice takes the shortest way to the end, so every sample finishes.
 */
final class GbnfSampler {
    /**
     * Characters worth trying wherever a class allows them. Not NUL: llama.cpp's grammar matcher reads a token's text
     * as a C string, so no grammar ever lets a model write one.
     */
    private static final int[] PALETTE = " \"\\<>/{}[],:=|'`\n\t\r\u0001\u001f\u007fé中😀aZ09_-.$#&;?!"
            .codePoints()
            .toArray();

    private static final int INFINITE = Integer.MAX_VALUE / 4;

    private final Map<String, Expr> rules;
    private final Map<String, Integer> costs = new HashMap<>();
    private final Random random;
    private final int depthBudget;
    private final int lengthBudget;

    GbnfSampler(GbnfRecognizer grammar, Random random, int depthBudget, int lengthBudget) {
        this.rules = grammar.rules();
        this.random = random;
        this.depthBudget = depthBudget;
        this.lengthBudget = lengthBudget;
        rules.keySet().forEach(name -> costs.put(name, INFINITE));
        for (boolean changed = true; changed; ) { // the fewest rule expansions that finish each rule
            changed = false;
            for (var rule : rules.entrySet()) {
                int cost = cost(rule.getValue());
                if (cost < costs.get(rule.getKey())) {
                    costs.put(rule.getKey(), cost);
                    changed = true;
                }
            }
        }
    }

    /** A text derived from {@code root}. */
    String sample() {
        var out = new StringBuilder();
        emit(new Ref("root"), 0, out);
        return out.toString();
    }

    private int cost(Expr expr) {
        return switch (expr) {
            case Lit lit -> 0;
            case Cls cls -> 0;
            case AnyChar any -> 0;
            case Ref(var name) -> Math.min(INFINITE, 1 + costs.get(name));
            case Alt(var options) -> options.stream().mapToInt(this::cost).min().orElse(INFINITE);
            case Seq(var items) ->
                Math.min(INFINITE, items.stream().mapToInt(this::cost).sum());
            case Rep(var item, var min, var max) -> min == 0 ? 0 : Math.min(INFINITE, min * cost(item));
        };
    }

    private void emit(Expr expr, int depth, StringBuilder out) {
        boolean finishing = depth > depthBudget || out.length() > lengthBudget;
        switch (expr) {
            case Lit(int[] cps) -> {
                for (int cp : cps) out.appendCodePoint(cp);
            }
            case Cls(var ranges, var negated) -> out.appendCodePoint(character(ranges, negated));
            case AnyChar any -> out.appendCodePoint(PALETTE[random.nextInt(PALETTE.length)]);
            case Ref(var name) -> emit(rules.get(name), depth + 1, out);
            case Alt(var options) -> {
                Expr chosen = options.get(random.nextInt(options.size()));
                if (finishing || cost(chosen) >= INFINITE) {
                    chosen = options.stream()
                            .min((a, b) -> Integer.compare(cost(a), cost(b)))
                            .orElseThrow();
                }
                emit(chosen, depth, out);
            }
            case Seq(var items) -> items.forEach(item -> emit(item, depth, out));
            case Rep(var item, var min, var max) -> {
                int most = max < 0 ? min + 4 : Math.min(max, min + 4);
                int count = finishing ? min : min + random.nextInt(most - min + 1);
                for (int i = 0; i < count; i++) emit(item, depth + 1, out);
            }
        }
    }

    /** A code point in (or, negated, outside) {@code ranges}: from the palette when one fits, else any. */
    private int character(List<int[]> ranges, boolean negated) {
        if (random.nextInt(4) != 0) {
            int start = random.nextInt(PALETTE.length);
            for (int i = 0; i < PALETTE.length; i++) {
                int cp = PALETTE[(start + i) % PALETTE.length];
                if (in(ranges, cp) != negated) return cp;
            }
        }
        if (!negated) {
            int[] range = ranges.get(random.nextInt(ranges.size()));
            int cp = range[0] + random.nextInt(range[1] - range[0] + 1);
            if (cp == 0 && range[1] > 0) cp = 1;
            return Character.isSurrogate((char) cp) && cp <= 0xFFFF ? range[0] : cp;
        }
        while (true) {
            int cp = 0x20 + random.nextInt(0x3000);
            if (!in(ranges, cp)) return cp;
        }
    }

    private static boolean in(List<int[]> ranges, int cp) {
        for (int[] range : ranges) if (range[0] <= cp && cp <= range[1]) return true;
        return false;
    }
}
