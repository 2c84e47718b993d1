package dev.parley.server.engine.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The part of a sequence's memory that cannot be cut back, as it was where its first {@link #length} tokens ended,
 * copied to host memory: the cells of its sliding-window layers (at the end of its prompt), or its recurrent state
 * (a few tokens before that end).
 *
 * <p>A model with a sliding window (Gemma 3, gpt-oss) keeps in those layers only the last window's cells of a
 * sequence: llama.cpp gives older ones up when it needs their room, and a saved sequence never holds them. A
 * conversation's next turn starts with the last prompt but seldom with the whole answer (an answer re-rendered
 * otherwise than it was sampled; reasoning that templates leave out of the history), so it cuts the cells back
 * behind the answer, where the window no longer reaches: without more, it would read its whole history again.
 * With the window cells of where the last prompt ended, the other layers' cells (which keep everything) are cut back
 * to there, the window is loaded over them, and only what is new is read, as llama-server's context checkpoints do.
 *
 * <p>A model with recurrent state (Mamba, RWKV; beside attention layers LFM2, Qwen 3.5, Granite 4 H) keeps one state
 * per sequence, where its last token left it: a sequence cannot be cut back at all. Its checkpoint is the state a
 * few tokens before the prompt's end, before the generation prompt that templates render otherwise in the history
 * (Qwen 3.5's {@code <think>}); the attention layers' cells are cut back to there, the state loaded, and the rest
 * read.
 *
 * <p>Confined to the thread that took it (the scheduler's), which alone restores, copies and closes it.
 */
final class ContextCheckpoint implements AutoCloseable {
    /** Tokens of the sequence the checkpoint goes on from: what it holds is as it was just before this position. */
    final int length;

    /** How many tokens before {@link #length} it also serves: 1 for window cells, 0 for a recurrent state. */
    private final int reach;

    private final Arena arena;
    private final MemorySegment state;

    private ContextCheckpoint(int length, int reach, Arena arena, MemorySegment state) {
        this.length = length;
        this.reach = reach;
        this.arena = arena;
        this.state = state;
    }

    /**
     * Copies the window cells or the recurrent state of {@code sequence}, which holds {@code length} tokens; null when
     * it holds none (or the model has neither).
     */
    static ContextCheckpoint take(LlamaContext context, int sequence, int length) {
        long size = context.checkpointStateSize(sequence);
        if (size <= 0) return null;
        int reach = context.model().keepsRecurrentState() ? 0 : 1;
        Arena arena = Arena.ofConfined(); // closing a shared arena stops every thread for a handshake
        try {
            MemorySegment state = context.saveCheckpoint(sequence, arena.allocate(size));
            if (state != null) return new ContextCheckpoint(length, reach, arena, state);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
        arena.close();
        return null;
    }

    /** A copy of its own, for a prompt cache entry that outlives the slot's checkpoint. */
    ContextCheckpoint copy() {
        Arena copied = Arena.ofConfined();
        try {
            return new ContextCheckpoint(
                    length, reach, copied, copied.allocate(state.byteSize()).copyFrom(state));
        } catch (RuntimeException | OutOfMemoryError e) {
            copied.close();
            throw e;
        }
    }

    /** Host memory it takes. */
    long bytes() {
        return state.byteSize();
    }

    /**
     * Whether a sequence that shares {@code shared} tokens with this one's can go on from it: from its end, or, from
     * window cells, from one token before (the window holds every cell the last token attends over, so a prompt that
     * is all of these tokens again reads only its last one); a recurrent state is where it is.
     */
    boolean serves(int shared) {
        return shared >= length - reach;
    }

    /** How many of {@code shared} tokens a sequence goes on from with this: up to its length where it serves, else 0. */
    int reach(int shared) {
        return serves(shared) ? Math.min(shared, length) : 0;
    }

    /**
     * How many of the {@code shared} leading tokens a prompt has of {@code length} tokens held in cells (a slot's, a
     * prompt cache entry's) it can go on from, with {@code checkpoint} (or null) taken of them: all of them when the
     * cells can be cut back there ({@code cutsBack}: attention's cells, whose window layers, if any, still reach back
     * that far) or when they are all the tokens held; else as far as the checkpoint {@linkplain #reach reaches}.
     */
    static int servable(int length, int shared, boolean cutsBack, ContextCheckpoint checkpoint) {
        if (cutsBack || shared == length) return shared;
        return checkpoint == null ? 0 : checkpoint.reach(shared);
    }

    /**
     * Makes {@code sequence}, whose other layers hold at least the first {@code shared} of the tokens this was taken
     * after, go on from the {@link #serves} point: loads the window cells or the state and cuts the sequence back
     * there. How many tokens it keeps; 0 when it cannot, and then the sequence may hold anything and is to be cleared.
     */
    int restore(LlamaContext context, int sequence, int shared) {
        int kept = reach(shared);
        if (kept == 0 || !context.restoreCheckpoint(sequence, state)) return 0;
        return context.truncateSequence(sequence, kept) && context.continuesAt(sequence, kept) ? kept : 0;
    }

    @Override
    public void close() {
        arena.close();
    }
}
