package dev.parley.tokens;

import java.util.Map;

/**
 * An encoding whose counts of long texts are kept in a {@link TextMemo}: counting a 5,300-token conversation took
 * 0.6–0.76 ms here, looking its texts up 0.026 ms ({@code TokensBenchmark}). Short texts are counted each time, which
 * costs about what a lookup does. Everything else is the wrapped encoding's.
 */
record RememberedCounts(Encoding encoding, TextMemo<Integer> counts) implements Encoding {
    /** Texts shorter than this are counted each time. */
    static final int SHORTEST_KEPT = 128;

    /** What a kept count takes besides its text: the boxed integer. */
    private static final long COUNT_BYTES = 16;

    RememberedCounts(Encoding encoding, long memoryBytes) {
        this(encoding, new TextMemo<>(memoryBytes, encoding::count, count -> COUNT_BYTES));
    }

    @Override
    public int count(String text) {
        return text.length() < SHORTEST_KEPT ? encoding.count(text) : counts.get(text);
    }

    @Override
    public String name() {
        return encoding.name();
    }

    @Override
    public int[] encode(String text, Special special) {
        return encoding.encode(text, special);
    }

    @Override
    public String decode(int[] ids) {
        return encoding.decode(ids);
    }

    @Override
    public byte[] decodeBytes(int[] ids) {
        return encoding.decodeBytes(ids);
    }

    @Override
    public Map<String, Integer> specialTokens() {
        return encoding.specialTokens();
    }
}
