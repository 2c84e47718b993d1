package dev.parley.server.engine.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The cells of a sequence's sliding-window layers as they were where its first {@link #length} tokens ended (the
 * end of its prompt), copied to host memory.
 *
 * <p>A model with a sliding window (Gemma 3, gpt-oss) keeps in those layers only the last window's cells of a
 * sequence: llama.cpp gives older ones up when it needs their room, and a saved sequence never holds them. A
 * conversation's next turn starts with the last prompt but seldom with the whole answer (an answer re-rendered
 * otherwise than it was sampled; reasoning that templates leave out of the history), so it cuts the cells back
 * behind the answer, where the window no longer reaches: without more, it would read its whole history again.
 * With the window cells of where the last prompt ended, the other layers' cells (which keep everything) are cut back
 * to there, the window is loaded over them, and only what is new is read, as llama-server's context checkpoints do.
 *
 * <p>Confined to the thread that took it (the scheduler's), which alone restores, copies and closes it.
 */
final class WindowCheckpoint implements AutoCloseable {
    /** Tokens of the sequence the checkpoint goes on from: the window holds the cells just before this position. */
    final int length;

    private final Arena arena;
    private final MemorySegment state;

    private WindowCheckpoint(int length, Arena arena, MemorySegment state) {
        this.length = length;
        this.arena = arena;
        this.state = state;
    }

    /**
     * Copies the window cells of {@code sequence}, which holds {@code length} tokens; null when it holds none in such
     * layers (or the model has none).
     */
    static WindowCheckpoint take(LlamaContext context, int sequence, int length) {
        long size = context.windowStateSize(sequence);
        if (size <= 0) return null;
        Arena arena = Arena.ofConfined(); // closing a shared arena stops every thread for a handshake
        try {
            MemorySegment state = context.saveWindow(sequence, arena.allocate(size));
            if (state != null) return new WindowCheckpoint(length, arena, state);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
        arena.close();
        return null;
    }

    /** A copy of its own, for a prompt cache entry that outlives the slot's checkpoint. */
    WindowCheckpoint copy() {
        Arena copied = Arena.ofConfined();
        try {
            return new WindowCheckpoint(
                    length, copied, copied.allocate(state.byteSize()).copyFrom(state));
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
     * Makes {@code sequence}, whose other layers hold at least the {@link #length} tokens this was taken after, go on
     * from {@link #length}: loads the window cells and cuts the sequence back there. False when it cannot; the
     * sequence may then hold anything and is to be cleared.
     */
    boolean restore(LlamaContext context, int sequence) {
        return context.restoreWindow(sequence, state)
                && context.truncateSequence(sequence, length)
                && context.continuesAt(sequence, length);
    }

    @Override
    public void close() {
        arena.close();
    }
}
