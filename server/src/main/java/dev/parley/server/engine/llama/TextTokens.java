package dev.parley.server.engine.llama;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The token ids of texts tokenized lately, kept so that the same text is tokenized once: a conversation sends
 * all of its earlier messages again with each new one, and a system prompt comes with every request. Texts
 * are the runs {@link PromptTokenizer} gives llama.cpp one at a time, so an id list found here is exactly
 * what tokenizing the text again would give.
 *
 * <p>Bounded by an estimate of the memory its entries take (a text's UTF-16 chars and its ids); the texts
 * used least recently go first, and a text larger than a quarter of the bound is never kept. The ids handed
 * out are shared: callers copy them and never write into them.
 *
 * <p>Thread-safe. Two requests that miss the same text at once both tokenize it.
 */
final class TextTokens {
    /** What one entry costs besides its text and ids: the map's entry, the array and string headers. */
    private static final long ENTRY_BYTES = 96;

    private final long capacityBytes;
    private final Function<String, int[]> tokenize;
    private final LinkedHashMap<String, int[]> recent = new LinkedHashMap<>(64, 0.75f, true);
    private long bytes;
    private long hits;
    private long misses;

    TextTokens(long capacityBytes, Function<String, int[]> tokenize) {
        this.capacityBytes = capacityBytes;
        this.tokenize = tokenize;
    }

    /** The ids of {@code text}, from a recent tokenizing of the same text or from tokenizing it now. */
    int[] ids(String text) {
        text.hashCode(); // computed (and kept in the string) outside the lock
        synchronized (this) {
            int[] known = recent.get(text);
            if (known != null) {
                hits++;
                return known;
            }
            misses++;
        }
        int[] ids = tokenize.apply(text);
        long size = size(text, ids);
        if (size > capacityBytes / 4) return ids;
        synchronized (this) {
            if (recent.put(text, ids) == null) bytes += size;
            else return ids; // another request kept the same text meanwhile (the same ids)
            Iterator<Map.Entry<String, int[]>> eldest = recent.entrySet().iterator();
            while (bytes > capacityBytes && eldest.hasNext()) {
                Map.Entry<String, int[]> entry = eldest.next();
                bytes -= size(entry.getKey(), entry.getValue());
                eldest.remove();
            }
        }
        return ids;
    }

    /** Texts answered from memory and texts tokenized, since the start. */
    synchronized Stats stats() {
        return new Stats(hits, misses, recent.size(), bytes);
    }

    record Stats(long hits, long misses, int entries, long bytes) {}

    private static long size(String text, int[] ids) {
        return ENTRY_BYTES + 2L * text.length() + 4L * ids.length;
    }
}
