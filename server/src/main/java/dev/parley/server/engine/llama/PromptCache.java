package dev.parley.server.engine.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * KV cells that slots gave up, kept in host memory within a budget of bytes, so that more conversations than
 * slots each find their history again. When a slot's cells are about to be cleared for another prompt, the {@link
 * Scheduler} {@linkplain #save saves} them here; a later prompt that starts with more of an entry's tokens than
 * any slot holds {@linkplain #restore loads} it into its slot and reads only the rest. The cells come back bit for
 * bit, so an answer from restored cells is the answer from cells the slot had kept (a sliding window's cells may
 * land elsewhere in the cache than they were, which can move the last bits of attention's sums).
 *
 * <p>For a model with a sliding window or recurrent state, an entry also keeps a copy of the slot's {@link
 * ContextCheckpoint} (the window where the slot's last prompt ended, or the state a few tokens before): saved cells
 * hold only the window's last cells, or the state where the answer left it, so a next turn that leaves the answer
 * behind goes on from the checkpoint.
 *
 * <p>Recurrent state cannot go back from an entry's end to an earlier token, so a prompt that leaves an entry's
 * tokens before its checkpoint (another conversation that began with the same system prompt) finds nothing there:
 * the {@link Scheduler} then saves a {@linkplain #saveBranch branch} entry where that prompt leaves them, and later
 * prompts that start so load that one. An entry is found by how much of a prompt it can go on from ({@link
 * Entry#serves}), not by how much it shares.
 *
 * <p>An entry leaves when a newer entry starts with all of its tokens (unless it is a branch, which the newer entry
 * cannot serve), when llama.cpp refuses to load it, or when the budget needs its room: the one saved or loaded
 * longest ago first. With a budget of 0 nothing is kept. Used by one thread only, the scheduler's: an entry's memory
 * belongs to the thread that saved it, and only that thread may free it ({@link #close} included).
 */
final class PromptCache implements AutoCloseable {
    /**
     * What an entry holds for a prompt: the entry, how many of the prompt's leading tokens it has, and how many of
     * those the prompt can go on from ({@link Entry#serves}).
     */
    record Match(Entry entry, int shared, int usable) {}

    /**
     * A slot's cells: the tokens they hold, llama.cpp's copy of them in memory of the entry's own, and the slot's
     * checkpoint (or null).
     */
    static final class Entry {
        final int[] tokens;
        private final Arena arena;
        private final MemorySegment state;
        private final ContextCheckpoint checkpoint;
        private final long bytes; // allocated: the state and any room llama.cpp did not use, and the checkpoint's
        private final boolean cutsBack; // attention alone: cells can be cut back anywhere, unlike a recurrent state
        private final boolean branch;

        private Entry(
                int[] tokens,
                Arena arena,
                MemorySegment state,
                ContextCheckpoint checkpoint,
                long bytes,
                boolean cutsBack,
                boolean branch) {
            this.tokens = tokens;
            this.arena = arena;
            this.state = state;
            this.checkpoint = checkpoint;
            this.bytes = bytes;
            this.cutsBack = cutsBack;
            this.branch = branch;
        }

        /**
         * How many of the {@code shared} leading tokens a prompt has of this entry's it can go on from ({@link
         * ContextCheckpoint#servable}; a sliding window's cells are counted as reaching back: loading tells).
         */
        int serves(int shared) {
            return ContextCheckpoint.servable(tokens.length, shared, cutsBack, checkpoint);
        }

        /** Whether a prompt of all these {@code tokens} would go on from this entry's end of them. */
        private boolean holdsAll(int[] start) {
            return startsWith(tokens, start) && serves(start.length) == start.length;
        }
    }

    private final long budget;
    private final List<Entry> entries = new ArrayList<>(); // the one saved or loaded longest ago first
    private volatile long bytes; // written by the cache's thread only, read by any
    private volatile long restoredTokens;

    /** @param budget the most bytes of cells to keep; 0 keeps none */
    PromptCache(long budget) {
        if (budget < 0)
            throw new IllegalArgumentException("a prompt cache's budget must not be negative, got " + budget);
        this.budget = budget;
    }

    boolean enabled() {
        return budget > 0;
    }

    /** Bytes of cells held now. */
    long bytes() {
        return bytes;
    }

    /** Entries held now; on the cache's own thread only. */
    int entries() {
        return entries.size();
    }

    /** Prompt tokens loaded from here instead of read again, since the engine started. */
    long restoredTokens() {
        return restoredTokens;
    }

    /**
     * Copies the cells of {@code slot}, which hold {@code tokens}, into the cache, with a copy of {@code checkpoint} (the
     * slot's {@link ContextCheckpoint}, or null), unless an entry already holds them all or they would not fit the
     * budget at all; entries that are a start of them are dropped (but branches), and the ones saved or loaded longest
     * ago make room.
     */
    void save(LlamaContext context, int slot, int[] tokens, ContextCheckpoint checkpoint) {
        save(context, slot, tokens, checkpoint, false);
    }

    /**
     * As {@link #save(LlamaContext, int, int[], ContextCheckpoint)}, for a slot stopped where its prompt leaves the
     * tokens of another (a system prompt other conversations share), with a model whose memory cannot be cut back
     * there from a longer entry: newer entries that start with these tokens leave it be.
     */
    void saveBranch(LlamaContext context, int slot, int[] tokens) {
        save(context, slot, tokens, null, true);
    }

    private void save(LlamaContext context, int slot, int[] tokens, ContextCheckpoint checkpoint, boolean branch) {
        if (!enabled() || tokens.length == 0) return;
        for (Entry entry : entries) if (entry.holdsAll(tokens)) return;
        long cells = context.sequenceStateSize(slot);
        long size = cells + (checkpoint == null ? 0 : checkpoint.bytes());
        if (cells <= 0 || size > budget) return;
        entries.removeIf(entry -> !entry.branch && startsWith(tokens, entry.tokens) && drop(entry));
        while (bytes + size > budget && !entries.isEmpty()) drop(entries.removeFirst());
        Arena arena = Arena.ofConfined(); // closing a shared arena stops every thread for a handshake
        ContextCheckpoint copied = null;
        try {
            MemorySegment state = context.saveSequence(slot, arena.allocate(cells));
            if (state == null) {
                arena.close();
                return;
            }
            if (checkpoint != null) copied = checkpoint.copy();
            entries.add(new Entry(
                    tokens, arena, state, copied, size, !context.model().keepsRecurrentState(), branch));
            bytes += size;
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            if (copied != null) copied.close();
            throw e;
        }
    }

    /**
     * The entry a prompt can go on from the furthest ({@link Entry#serves}; all of the prompt but its last token at
     * most, whose logits are needed), or null when none serves any of it. The entry found counts as used: the budget
     * gives up others first.
     */
    Match longest(int[] prompt) {
        Entry best = null;
        int bestShared = 0;
        int bestUsable = 0;
        for (Entry entry : entries) {
            int shared = Scheduler.sharedPrefix(entry.tokens, prompt);
            int usable = entry.serves(shared);
            if (usable > bestUsable) {
                best = entry;
                bestShared = shared;
                bestUsable = usable;
            }
        }
        if (best == null) return null;
        entries.remove(best);
        entries.add(best);
        return new Match(best, bestShared, bestUsable);
    }

    /**
     * The longest start {@code prompt} shares with an entry that cannot go on from there, since its own prompt went on
     * otherwise before its checkpoint (another conversation after the same system prompt); 0 for none.
     */
    int branchPoint(int[] prompt) {
        int best = 0;
        for (Entry entry : entries) {
            int shared = Scheduler.sharedPrefix(entry.tokens, prompt);
            if (entry.serves(shared) == 0) best = Math.max(best, shared);
        }
        return best;
    }

    /**
     * Loads the cells of the entry holding the longest start of {@code prompt} into {@code slot} (emptied first),
     * cut to that start, when it is at least {@code atLeast} tokens; how many cells the slot keeps, 0 when no entry
     * holds that much (a save since the entry was found may have given it up), a copy from or to the slot waits
     * ({@link LlamaContext#copyPending}), llama.cpp refused the cells (the entry is dropped) or they cannot be cut
     * there (the slot is then empty). Where a sliding window has moved past that start, or recurrent state cannot be
     * cut back to it, the cells go on from where the entry's checkpoint was taken, if the prompt holds that much
     * ({@link ContextCheckpoint#serves}). The
     * entry stays: other prompts that
     * start the same way (a system prompt many conversations share) may load it too while this one runs.
     */
    int restore(LlamaContext context, int[] prompt, int slot, int atLeast) {
        if (context.copyPending(slot)) return 0; // the copy would overwrite what was loaded
        Match match = longest(prompt);
        if (match == null || match.usable() < atLeast) return 0;
        Entry entry = match.entry();
        int shared = match.shared();
        if (!context.restoreSequence(slot, entry.state)) {
            entries.remove(entry);
            drop(entry);
            return 0;
        }
        int kept = continuation(context, slot, entry, shared, atLeast);
        if (kept == 0) {
            // A model whose memory cannot be cut short reads the prompt again from the start.
            context.clearSequence(slot);
            return 0;
        }
        restoredTokens += kept;
        return kept;
    }

    /** How many of the {@code shared} tokens {@code slot}, just loaded with {@code entry}, goes on from; 0: none. */
    private static int continuation(LlamaContext context, int slot, Entry entry, int shared, int atLeast) {
        if (context.continuesAt(slot, shared)
                || context.truncateSequence(slot, shared) && context.continuesAt(slot, shared)) return shared;
        ContextCheckpoint checkpoint = entry.checkpoint;
        if (checkpoint == null || Math.min(shared, checkpoint.length) < atLeast) return 0;
        return checkpoint.restore(context, slot, shared);
    }

    /** Frees every entry. */
    @Override
    public void close() {
        for (Iterator<Entry> it = entries.iterator(); it.hasNext(); ) {
            drop(it.next());
            it.remove();
        }
    }

    private boolean drop(Entry entry) {
        bytes -= entry.bytes;
        entry.arena.close();
        if (entry.checkpoint != null) entry.checkpoint.close();
        return true;
    }

    /** Whether {@code tokens} starts with all of {@code start}. */
    private static boolean startsWith(int[] tokens, int[] start) {
        if (start.length > tokens.length) return false;
        for (int i = 0; i < start.length; i++) if (tokens[i] != start[i]) return false;
        return true;
    }
}
