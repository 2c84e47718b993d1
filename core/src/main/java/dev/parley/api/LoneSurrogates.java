package dev.parley.api;

import java.util.function.IntFunction;

/**
 * Lone surrogates: halves of a UTF-16 pair without their other half. A JSON string may hold one (as an escape
 * such as <code>&#92;udfff</code>) and a Java string holds it as read, but UTF-8 cannot: {@code
 * String.getBytes(UTF_8)} writes {@code ?} in its place.
 */
public final class LoneSurrogates {
    private LoneSurrogates() {}

    /** Where the first lone surrogate at or after {@code from} is, or -1. */
    public static int next(String text, int from) {
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isSurrogate(c)) continue;
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1)))
                i++; // a pair: one character
            else return i;
        }
        return -1;
    }

    /**
     * {@code text} with each lone surrogate replaced by what {@code replacement} gives for it; {@code text} itself,
     * not copied, when it has none.
     */
    public static String replace(String text, IntFunction<String> replacement) {
        int lone = next(text, 0);
        if (lone < 0) return text;
        StringBuilder fixed = new StringBuilder(text.length() + 8);
        int from = 0;
        for (; lone >= 0; lone = next(text, from)) {
            fixed.append(text, from, lone).append(replacement.apply(text.charAt(lone)));
            from = lone + 1;
        }
        return fixed.append(text, from, text.length()).toString();
    }
}
