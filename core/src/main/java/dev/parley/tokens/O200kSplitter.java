package dev.parley.tokens;

/**
 * The pre-tokenizer of {@code o200k_base}, written out by hand: it cuts text into the same pieces as
 * tiktoken's pattern compiled by {@code java.util.regex} with {@code UNICODE_CHARACTER_CLASS},
 *
 * <pre>{@code
 * [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 * |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 * |\p{N}{1,3}
 * | ?[^\s\p{L}\p{N}]+[\r\n/]*
 * |\s*[\r\n]+
 * |\s+(?!\S)
 * |\s+
 * }</pre>
 *
 * without the regex engine's backtracking. Each alternative below says which outcome of the engine's search
 * it reproduces. Code points are read as the regex reads them (an unpaired surrogate is one code point of
 * its own), and {@code \s} is Unicode's White_Space, as {@code UNICODE_CHARACTER_CLASS} makes it.
 */
final class O200kSplitter {

    /** {@code [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]}: may start a word, the "upper" half of the first two alternatives. */
    static final int UPPER = 1;
    /** {@code [\p{Ll}\p{Lm}\p{Lo}\p{M}]}: the "lower" half. Modifier and other letters and marks are both. */
    static final int LOWER = 2;
    /** {@code \p{L}}. */
    static final int LETTER = 4;
    /** {@code \p{N}}. */
    static final int NUMBER = 8;
    /** {@code \s} with {@code UNICODE_CHARACTER_CLASS}. */
    static final int SPACE = 16;
    /** {@code [\r\n]}. */
    static final int NEWLINE = 32;

    /** The classes of every code point of the Basic Multilingual Plane; others are computed when met. */
    private static final byte[] BMP = new byte[Character.MIN_SUPPLEMENTARY_CODE_POINT];

    static {
        for (int c = 0; c < BMP.length; c++) BMP[c] = (byte) compute(c);
    }

    private O200kSplitter() {}

    /** The classes ({@link #UPPER}, {@link #LOWER}, ...) of one code point. */
    static int classOf(int c) {
        return c < Character.MIN_SUPPLEMENTARY_CODE_POINT ? BMP[c] : compute(c);
    }

    private static int compute(int c) {
        int classes = switch (Character.getType(c)) {
            case Character.UPPERCASE_LETTER, Character.TITLECASE_LETTER -> UPPER | LETTER;
            case Character.LOWERCASE_LETTER -> LOWER | LETTER;
            case Character.MODIFIER_LETTER, Character.OTHER_LETTER -> UPPER | LOWER | LETTER;
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK ->
                UPPER | LOWER;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
            case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> SPACE;
            default -> 0;
        };
        if ((c >= 0x9 && c <= 0xd) || c == 0x85) classes |= SPACE;
        if (c == '\r' || c == '\n') classes |= NEWLINE;
        return classes;
    }

    /**
     * Where the piece that starts at {@code start} ends (exclusive). Pieces follow one another: the first
     * starts at 0, the next where the previous ended, the last ends at {@code text.length()}.
     */
    static int pieceEnd(String text, int start) {
        int n = text.length();
        int c = codePointAt(text, start, n);
        int classes = classOf(c);
        int next = start + Character.charCount(c);
        // [^\r\n\p{L}\p{N}]: the optional one-code-point prefix of the first two alternatives.
        boolean prefix = (classes & (NEWLINE | LETTER | NUMBER)) == 0;

        // 1. prefix? upper* lower+ contraction?  The engine first tries with the prefix taken, then without.
        int end;
        if (prefix && next < n && (end = lowerWord(text, next, n)) >= 0) return end;
        if ((classes & (UPPER | LOWER)) != 0 && (end = lowerWord(text, start, n)) >= 0) return end;
        // 2. prefix? upper+ lower* contraction?  Whenever it starts with an upper code point it matches.
        if (prefix && next < n && (classOf(codePointAt(text, next, n)) & UPPER) != 0) return upperWord(text, next, n);
        if ((classes & UPPER) != 0) return upperWord(text, start, n);

        // 3. \p{N}{1,3}
        if ((classes & NUMBER) != 0) {
            end = next;
            for (int i = 1; i < 3 && end < n; i++) {
                int d = codePointAt(text, end, n);
                if ((classOf(d) & NUMBER) == 0) break;
                end += Character.charCount(d);
            }
            return end;
        }

        // 4. ' '? [^\s\p{L}\p{N}]+ [\r\n/]*  A '/' is punctuation, so the tail takes one only after a newline.
        int punctuation = -1;
        if (isPunctuation(classes)) punctuation = start;
        else if (c == ' ' && next < n && isPunctuation(classOf(codePointAt(text, next, n)))) punctuation = next;
        if (punctuation >= 0) {
            end = punctuation;
            while (end < n) {
                int p = codePointAt(text, end, n);
                if (!isPunctuation(classOf(p))) break;
                end += Character.charCount(p);
            }
            while (end < n && isLineTail(text.charAt(end))) end++;
            return end;
        }

        // Only whitespace is left (anything else matched above).
        // 5. \s*[\r\n]+  The engine gives back whitespace until a newline can follow: the piece ends after the
        //    run's last newline.
        end = start;
        int afterNewline = -1;
        int last = start;
        while (end < n) {
            char s = text.charAt(end); // all whitespace is in the Basic Multilingual Plane
            if ((BMP[s] & SPACE) == 0) break;
            last = end;
            end++;
            if (s == '\r' || s == '\n') afterNewline = end;
        }
        if (afterNewline >= 0) return afterNewline;
        // 6. \s+(?!\S)  The whole run at the end of the text; otherwise the run but its last code point, which
        //    then prefixes the word, number or punctuation that follows (or is 7., \s+, when alone).
        if (end == n || last == start) return end;
        return last;
    }

    /**
     * {@code upper* lower+ contraction?} from {@code from}, or -1. When the greedy upper run is not followed by
     * a lower code point, the engine gives upper code points back until one that is also lower can end the
     * word alone: the last code point of the run that is in both classes.
     */
    private static int lowerWord(String text, int from, int n) {
        int i = from;
        int lastBoth = -1;
        int c = 0;
        while (i < n) {
            c = codePointAt(text, i, n);
            int classes = classOf(c);
            if ((classes & UPPER) == 0) break;
            if ((classes & LOWER) != 0) lastBoth = i;
            i += Character.charCount(c);
        }
        if (i < n && (classOf(c) & LOWER) != 0) return contraction(text, lowerRun(text, i, n), n);
        if (lastBoth >= 0) return contraction(text, lastBoth + Character.charCount(text.codePointAt(lastBoth)), n);
        return -1;
    }

    /** {@code upper+ lower* contraction?} from {@code from}, whose code point is upper. */
    private static int upperWord(String text, int from, int n) {
        int i = from;
        while (i < n) {
            int c = codePointAt(text, i, n);
            if ((classOf(c) & UPPER) == 0) break;
            i += Character.charCount(c);
        }
        return contraction(text, lowerRun(text, i, n), n);
    }

    private static int lowerRun(String text, int i, int n) {
        while (i < n) {
            int c = codePointAt(text, i, n);
            if ((classOf(c) & LOWER) == 0) break;
            i += Character.charCount(c);
        }
        return i;
    }

    /**
     * {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)?} at {@code i}. Case-insensitive matching with Unicode case folds
     * each character as {@code toLowerCase(toUpperCase(c))}, so {@code 'S} and the long s ({@code 'ſ}) count.
     */
    private static int contraction(String text, int i, int n) {
        if (i + 1 >= n || text.charAt(i) != '\'') return i;
        int a = fold(text.charAt(i + 1));
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
        if (i + 2 >= n) return i;
        int b = fold(text.charAt(i + 2));
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
        return i;
    }

    private static int fold(char c) {
        if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
        return Character.toLowerCase(Character.toUpperCase(c));
    }

    private static boolean isLineTail(char c) {
        return c == '\r' || c == '\n' || c == '/';
    }

    /** {@code [^\s\p{L}\p{N}]}: punctuation, symbols, marks, controls, format characters, unpaired surrogates. */
    private static boolean isPunctuation(int classes) {
        return (classes & (SPACE | LETTER | NUMBER)) == 0;
    }

    private static int codePointAt(String text, int i, int n) {
        char c = text.charAt(i);
        if (!Character.isHighSurrogate(c) || i + 1 >= n) return c;
        char d = text.charAt(i + 1);
        return Character.isLowSurrogate(d) ? Character.toCodePoint(c, d) : c;
    }
}
