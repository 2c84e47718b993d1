package com.knuddels.jtokkit;

import com.knuddels.jtokkit.api.IntArrayList;
import java.util.Arrays;

/**
 * The byte-pair merges of one long piece (a word of thousands of letters, a run of one character), made as
 * tiktoken makes them, in {@code O(n log n)} time and a few {@code int}s per byte.
 *
 * <p>tiktoken merges, again and again, the adjacent pair of parts whose joined bytes have the lowest rank, the
 * leftmost of equal ones, until no pair is in the vocabulary. JTokkit does that by scanning every pair for each
 * merge below {@value #LONG} bytes, which is fast for words; above, it keeps the pairs in a {@code TreeMap} of
 * {@code LinkedHashMap}s, a few hundred bytes of boxed objects per byte of text (a 10 MB run of one letter took
 * 2.9 GB). Here the parts are a linked list in arrays and the pairs a binary heap of {@code (rank, start)} keys
 * in one {@code long}, which is tiktoken's order exactly; a pair whose rank changed stays in the heap and is
 * skipped when it comes up (a part's pair only ever grows, so an old key never matches its new rank). The
 * vocabulary is JTokkit's, looked up as JTokkit does.
 *
 * <p>Lives in JTokkit's package for {@link TokenEncoder}, as {@link PresplitBytePairEncoding} does.
 */
final class LongPieceMerger {
    /** Pieces of at least this many bytes are merged here; shorter ones by JTokkit (its own threshold). */
    static final int LONG = 500;

    private static final int NONE = TokenEncoder.MAX_RANK;

    private final TokenEncoder encoder;
    private final ByteArrayWrapper piece;
    private final int[] next; // the start of the part after the part starting at i (length: the end)
    private final int[] previous; // the start of the part before it, -1 for the first; -2 once merged away
    private final int[] rank; // the rank of the part starting at i joined with the next one, NONE when not a token
    private long[] heap; // (rank, start) of pairs, lowest first; entries whose rank has changed since are skipped
    private int size;

    private LongPieceMerger(TokenEncoder encoder, byte[] bytes) {
        this.encoder = encoder;
        this.piece = new ByteArrayWrapper(bytes);
        int length = bytes.length;
        next = new int[length];
        previous = new int[length];
        rank = new int[length];
        heap = new long[length + (length >>> 1)];
        for (int i = 0; i < length; i++) {
            next[i] = i + 1;
            previous[i] = i - 1;
            rank[i] = encoder.encode(piece, i, i + 2); // NONE for the last byte: no pair starts there
            if (rank[i] != NONE) heap[size++] = key(rank[i], i);
        }
        for (int i = size / 2 - 1; i >= 0; i--) down(i);
    }

    /**
     * Adds the tokens of {@code bytes} to {@code out} (when {@code keepEncodings}, up to {@code maxTokenCount}
     * in all) and returns how many there are, as {@link TokenEncoder#addTokensAndGetCount} does: pieces shorter
     * than {@value #LONG} bytes go to it.
     */
    static int addTokensAndGetCount(
            TokenEncoder encoder,
            int maxTokenCount,
            boolean keepEncodings,
            byte[] bytes,
            IntArrayList out,
            IntArrayList scratch) {
        if (bytes.length < LONG) return encoder.addTokensAndGetCount(maxTokenCount, keepEncodings, bytes, out, scratch);
        // No token is LONG bytes long (LongPieceMergerTest checks every vocabulary), so the piece is never one.
        return new LongPieceMerger(encoder, bytes).merge(maxTokenCount, keepEncodings, out);
    }

    private int merge(int maxTokenCount, boolean keepEncodings, IntArrayList out) {
        int length = next.length;
        int parts = length;
        while (size > 0) {
            long top = heap[0];
            heap[0] = heap[--size];
            if (size > 0) down(0);
            int start = (int) top;
            // Stale: the part was merged away, or its pair's rank changed (the new rank has its own entry).
            if (previous[start] == -2 || rank[start] != (int) (top >>> 32)) continue;
            int joined = next[start];
            int after = next[joined]; // the part that now follows the merged one
            previous[joined] = -2;
            next[start] = after;
            if (after < length) previous[after] = start;
            parts--;
            set(start, after < length ? encoder.encode(piece, start, next[after]) : NONE);
            int before = previous[start];
            if (before >= 0) set(before, encoder.encode(piece, before, after));
        }
        if (keepEncodings) {
            for (int start = 0; start < length && out.size() < maxTokenCount; start = next[start]) {
                out.add(encoder.encode(piece, start, next[start]));
            }
        }
        return parts;
    }

    /** Gives the pair at {@code start} a new rank, queued unless it is not a token. */
    private void set(int start, int newRank) {
        rank[start] = newRank;
        if (newRank == NONE) return;
        if (size == heap.length) heap = Arrays.copyOf(heap, heap.length * 2);
        heap[size] = key(newRank, start);
        up(size++);
    }

    /** Ranks and starts are below 2^31, so the keys order by rank, then start: tiktoken's order. */
    private static long key(int rank, int start) {
        return (long) rank << 32 | start;
    }

    private void up(int at) {
        long key = heap[at];
        while (at > 0) {
            int parent = (at - 1) >>> 1;
            if (heap[parent] <= key) break;
            heap[at] = heap[parent];
            at = parent;
        }
        heap[at] = key;
    }

    private void down(int at) {
        long key = heap[at];
        while (true) {
            int child = 2 * at + 1;
            if (child >= size) break;
            if (child + 1 < size && heap[child + 1] < heap[child]) child++;
            if (heap[child] >= key) break;
            heap[at] = heap[child];
            at = child;
        }
        heap[at] = key;
    }
}
