package dev.parley.tokens;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * What a function of text gave for the texts asked about lately, kept so that the same text is worked out once: a
 * conversation sends all of its earlier messages again with each new one, and a system prompt comes with every
 * request. The function must give the same answer for equal texts (a tokenizer, a token count).
 *
 * <p>Bounded by an estimate of the memory its entries take (a text's UTF-16 chars, what the caller says a value
 * takes, and a fixed cost per entry); the texts used least recently go first, and a text whose entry would take
 * more than a quarter of the bound is never kept. The values handed out are shared: callers must not change them.
 *
 * <p>Thread-safe. Two callers that miss the same text at once both work it out.
 */
public final class TextMemo<V> {
    /** What one entry costs besides its text and value: the map's entry, the string's header and its reference. */
    private static final long ENTRY_BYTES = 80;

    private final long capacityBytes;
    private final Function<String, V> compute;
    private final ToLongFunction<V> valueBytes;
    private final LinkedHashMap<String, V> recent = new LinkedHashMap<>(64, 0.75f, true);
    private long bytes;
    private long hits;
    private long misses;

    /**
     * @param capacityBytes the most memory the kept entries may take, by the estimate above
     * @param compute the function whose answers are kept
     * @param valueBytes what one of its answers takes in memory
     */
    public TextMemo(long capacityBytes, Function<String, V> compute, ToLongFunction<V> valueBytes) {
        if (capacityBytes < 0) throw new IllegalArgumentException("capacityBytes < 0: " + capacityBytes);
        this.capacityBytes = capacityBytes;
        this.compute = compute;
        this.valueBytes = valueBytes;
    }

    /** The function's answer for {@code text}: a kept one for an equal text, or worked out now. */
    public V get(String text) {
        text.hashCode(); // computed (and kept in the string) outside the lock
        synchronized (this) {
            V known = recent.get(text);
            if (known != null) {
                hits++;
                return known;
            }
            misses++;
        }
        V value = compute.apply(text);
        long size = size(text, value);
        if (size > capacityBytes / 4) return value;
        synchronized (this) {
            if (recent.putIfAbsent(text, value) != null) return value; // another caller kept an equal text meanwhile
            bytes += size;
            Iterator<Map.Entry<String, V>> eldest = recent.entrySet().iterator();
            while (bytes > capacityBytes && eldest.hasNext()) {
                Map.Entry<String, V> entry = eldest.next();
                bytes -= size(entry.getKey(), entry.getValue());
                eldest.remove();
            }
        }
        return value;
    }

    /** Texts answered from memory and texts worked out, since the start; what is kept now. */
    public synchronized Stats stats() {
        return new Stats(hits, misses, recent.size(), bytes);
    }

    /** Counts of a memo's work: answers from memory, answers worked out, entries kept and their estimated bytes. */
    public record Stats(long hits, long misses, int entries, long bytes) {}

    private long size(String text, V value) {
        return ENTRY_BYTES + 2L * text.length() + valueBytes.applyAsLong(value);
    }
}
