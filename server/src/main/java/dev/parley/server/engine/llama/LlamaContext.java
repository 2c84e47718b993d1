package dev.parley.server.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.parley.server.engine.llama.ffi.Bindings;
import dev.parley.server.engine.llama.ffi.SamplerBindings;
import dev.parley.server.engine.llama.ffi.Structs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * A llama.cpp context: a KV cache for up to {@link #maxSequences()} sequences, decoded one batch at a time,
 * and the logits of the last batch.
 *
 * <p>Each sequence has a cache of its own ({@link #cellsPerSequence()} cells; llama.cpp's {@code kv_unified}
 * off), so a token attends over its own sequence's cells only. In one shared cache every token attended over
 * every cell in use, masking the others': with 16 sequences of 100 tokens, 1,600 cells for each token where
 * 100 are its own. llama-server v0.5.0 on the 135M-shape model, 16 streams of 64 tokens, 2 threads: 143–170
 * tok/s shared, 229–317 separate. llama.cpp decodes the sequences of one batch together only when their ids
 * are consecutive (a batch of sequences 0, 1, 2 and 5 runs as two); batches list tokens by sequence id.
 *
 * <p>Thread-safe by confinement to one call at a time: every method holds this context's lock, so a
 * scheduler may hand a context between threads but calls never overlap. {@link #close} is idempotent and
 * frees the context and its batch; later calls throw {@link IllegalStateException}. Every argument is
 * checked in Java before the native call and a bad one throws {@link IllegalArgumentException}.
 *
 * <p>A decode is a long native call: on a virtual thread it pins the carrier for its whole duration, so a
 * scheduler should decode on a platform thread of its own.
 */
@SuppressWarnings("restricted") // this package is the native boundary: it reinterprets C pointers by design
public final class LlamaContext implements AutoCloseable {
    private static final int FLASH_ATTN_DISABLED = 0; // enum llama_flash_attn_type

    private final LlamaModel owner;
    private final MemorySegment context;
    private final MemorySegment memory; // the context's KV cache, freed with it
    private final Arena arena; // holds the llama_batch struct; shared so any thread may call
    private final MemorySegment batch;
    private final MemorySegment tokens;
    private final MemorySegment positions;
    private final MemorySegment seqCounts;
    private final MemorySegment[] seqIds;
    private final MemorySegment wantLogits;
    private final int contextLength;
    private final int cellsPerSequence;
    private final int maxSequences;
    private final int batchCapacity;
    private final int vocabSize;
    private final int threads;
    private final MemorySegment threadpool; // NULL: llama.cpp makes its own for each decode
    private boolean[] outputs = new boolean[0]; // which batch indices of the last decode have logits
    // Per sequence, whether a copy from it or to it waits for the next decode (llama.cpp copies caches then).
    private final boolean[] copyingFrom;
    private final boolean[] copyingTo;
    private boolean closed;

    private LlamaContext(
            LlamaModel owner,
            MemorySegment context,
            int batchCapacity,
            int threads,
            MemorySegment threadpool,
            int share) {
        this.owner = owner;
        this.threads = threads;
        this.context = context;
        this.threadpool = threadpool;
        this.memory = Bindings.getMemory(context);
        this.contextLength = Bindings.nCtx(context);
        // llama.cpp rounds each sequence's cells up to a multiple of 256; a sequence keeps to the share asked for.
        this.cellsPerSequence = share > 0 ? Math.min(share, Bindings.nCtxSeq(context)) : Bindings.nCtxSeq(context);
        this.maxSequences = Bindings.nSeqMax(context);
        this.copyingFrom = new boolean[maxSequences];
        this.copyingTo = new boolean[maxSequences];
        this.batchCapacity = batchCapacity;
        this.vocabSize = owner.vocabSize();
        this.arena = Arena.ofShared();
        this.batch = Bindings.batchInit(arena, batchCapacity, 0, 1);
        // Pointers from C have size 0: give each array its real length so that overruns throw.
        this.tokens = batch.get(ADDRESS, Structs.BATCH_TOKEN).reinterpret(batchCapacity * JAVA_INT.byteSize());
        this.positions = batch.get(ADDRESS, Structs.BATCH_POS).reinterpret(batchCapacity * JAVA_INT.byteSize());
        this.seqCounts = batch.get(ADDRESS, Structs.BATCH_N_SEQ_ID).reinterpret(batchCapacity * JAVA_INT.byteSize());
        this.wantLogits = batch.get(ADDRESS, Structs.BATCH_LOGITS).reinterpret(batchCapacity);
        MemorySegment seqIdArray =
                batch.get(ADDRESS, Structs.BATCH_SEQ_ID).reinterpret(batchCapacity * ADDRESS.byteSize());
        this.seqIds = new MemorySegment[batchCapacity];
        for (int i = 0; i < batchCapacity; i++) {
            seqIds[i] = seqIdArray.getAtIndex(ADDRESS, i).reinterpret(JAVA_INT.byteSize());
        }
    }

    static LlamaContext create(LlamaModel owner, MemorySegment model, ContextOptions options) {
        MemorySegment context;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = Bindings.contextDefaultParams(arena);
            set(params, "n_ctx", options.contextLength());
            set(params, "n_batch", options.batchCapacity());
            set(params, "n_ubatch", options.batchCapacity());
            set(params, "n_seq_max", options.maxSequences());
            set(params, "n_threads", options.threads());
            set(params, "n_threads_batch", options.threads());
            set(params, "type_k", options.kvCache().ggmlType);
            set(params, "type_v", options.kvCache().ggmlType);
            params.set(JAVA_BOOLEAN, Structs.offset(Structs.CONTEXT_PARAMS, "no_perf"), true);
            // A cache per sequence (see the class comment); one sequence alone needs no other.
            params.set(JAVA_BOOLEAN, Structs.offset(Structs.CONTEXT_PARAMS, "kv_unified"), options.maxSequences() == 1);
            // Unless asked for the whole, sliding-window layers keep a window and a batch of cells per sequence
            // (llama.cpp's
            // own default is the whole; llama-server's is this); see ContextCheckpoint for what that asks of reuse.
            params.set(JAVA_BOOLEAN, Structs.offset(Structs.CONTEXT_PARAMS, "swa_full"), options.fullWindow());
            set(params, "flash_attn_type", FLASH_ATTN_DISABLED);
            context = Bindings.initFromModel(model, params);
        }
        if (context.equals(MemorySegment.NULL)) {
            throw new LlamaException("llama.cpp could not create a context with " + options + " (its log says why)");
        }
        // llama.cpp caps the batch at the context length: use what it actually allows.
        int capacity = Math.min(options.batchCapacity(), Bindings.nBatch(context));
        MemorySegment threadpool = MemorySegment.NULL;
        try {
            // Without a threadpool of its own, each decode starts and joins its worker threads anew. A lasting
            // pool whose workers sleep at once between decodes (polling 0: spinning would take a core from the
            // sampler and the HTTP threads) measured 2 threads, greedy, at 1 stream 86–95 → 126–130 tok/s and at
            // 8 streams 183–190 → 199–220.
            if (options.threads() > 1) {
                threadpool = Bindings.threadpoolNew(options.threads(), 0);
                if (!threadpool.equals(MemorySegment.NULL)) Bindings.attachThreadpool(context, threadpool);
            }
            return new LlamaContext(
                    owner,
                    context,
                    capacity,
                    options.threads(),
                    threadpool,
                    options.contextLength() / options.maxSequences());
        } catch (RuntimeException e) {
            Bindings.free(context);
            if (!threadpool.equals(MemorySegment.NULL)) Bindings.threadpoolFree(threadpool);
            throw e;
        }
    }

    /** KV cache cells of all sequences together. */
    public int contextLength() {
        return contextLength;
    }

    /**
     * KV cache cells of one sequence: its share of the context length asked for (llama.cpp may hold more); no
     * position may reach it.
     */
    public int cellsPerSequence() {
        return cellsPerSequence;
    }

    /** Sequence ids are {@code 0 .. maxSequences()-1}. */
    public int maxSequences() {
        return maxSequences;
    }

    /** Most tokens one {@link #decode} accepts. */
    public int batchCapacity() {
        return batchCapacity;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** The threads each decode runs on. */
    public int threads() {
        return threads;
    }

    /**
     * Runs the model over one batch, which may mix tokens of several sequences, and keeps the logits of
     * the tokens that want them until the next decode.
     *
     * @throws IllegalArgumentException when the batch is empty or larger than {@link #batchCapacity()}, or a
     *     token id, position or sequence id is out of range
     * @throws ContextFullException when the KV cache has no room for the batch; nothing was decoded
     * @throws LlamaException when llama.cpp fails otherwise
     */
    public synchronized void decode(List<BatchToken> batchTokens) {
        Checks.notNull(batchTokens, "batch");
        int count = batchTokens.size();
        Checks.require(
                count >= 1 && count <= batchCapacity, "batch must hold 1..%d tokens, got %d", batchCapacity, count);
        for (BatchToken t : batchTokens) {
            Checks.notNull(t, "batch token");
            Checks.token(t.token(), vocabSize);
            Checks.require(
                    t.position() >= 0 && t.position() < cellsPerSequence,
                    "position must be 0..%d, got %d",
                    cellsPerSequence - 1,
                    t.position());
            Checks.require(
                    t.sequenceId() >= 0 && t.sequenceId() < maxSequences,
                    "sequence id must be 0..%d, got %d",
                    maxSequences - 1,
                    t.sequenceId());
        }
        requireOpen();
        boolean[] wanted = new boolean[count];
        for (int i = 0; i < count; i++) {
            BatchToken t = batchTokens.get(i);
            tokens.setAtIndex(JAVA_INT, i, t.token());
            positions.setAtIndex(JAVA_INT, i, t.position());
            seqCounts.setAtIndex(JAVA_INT, i, 1);
            seqIds[i].set(JAVA_INT, 0, t.sequenceId());
            wantLogits.set(JAVA_BYTE, i, (byte) (t.wantLogits() ? 1 : 0));
            wanted[i] = t.wantLogits();
        }
        batch.set(JAVA_INT, Structs.BATCH_N_TOKENS, count);
        outputs = new boolean[0];
        int result = Bindings.decode(context, batch);
        if (result == 1) {
            throw new ContextFullException(
                    "no room in the KV cache for %d tokens (%d cells in all)".formatted(count, contextLength));
        }
        if (result != 0) {
            throw new LlamaException("llama_decode failed with %d on a batch of %d tokens".formatted(result, count));
        }
        outputs = wanted;
        Arrays.fill(copyingFrom, false); // a decode that ran began by making every waiting copy
        Arrays.fill(copyingTo, false);
    }

    /**
     * A copy of the logits (one per vocabulary id) of the token at {@code batchIndex} of the last decode.
     *
     * @throws IllegalArgumentException when that token did not ask for logits
     */
    public synchronized float[] logits(int batchIndex) {
        return logitsSegment(batchIndex).toArray(JAVA_FLOAT);
    }

    /**
     * As {@link #logits(int)}, copied into {@code into} (of the vocabulary's length) instead of a new array: a
     * caller that reads logits every step need not make garbage of a vocabulary's floats per token.
     */
    public synchronized float[] logits(int batchIndex, float[] into) {
        MemorySegment segment = logitsSegment(batchIndex);
        Checks.require(
                into.length == vocabSize,
                "the array holds %d logits, not the %d of the vocabulary",
                into.length,
                vocabSize);
        MemorySegment.copy(segment, JAVA_FLOAT, 0, into, 0, vocabSize);
        return into;
    }

    /**
     * The id of the largest of the logits at {@code batchIndex}, the lowest such id on a tie (as {@link
     * TokenSampler#argmax}), read where llama.cpp wrote them: a greedy choice needs no copy of a vocabulary's floats.
     */
    public synchronized int argmax(int batchIndex) {
        MemorySegment logits = logitsSegment(batchIndex);
        int best = 0;
        float max = logits.getAtIndex(JAVA_FLOAT, 0);
        for (int id = 1; id < vocabSize; id++) {
            float logit = logits.getAtIndex(JAVA_FLOAT, id);
            if (logit > max) {
                max = logit;
                best = id;
            }
        }
        return best;
    }

    /** How many positions sequence {@code sequenceId} holds in the KV cache (0 when it is empty). */
    public synchronized int sequenceLength(int sequenceId) {
        requireSequence(sequenceId);
        requireOpen();
        int max = Bindings.memorySeqPosMax(memory, sequenceId);
        return max < 0 ? 0 : max - Bindings.memorySeqPosMin(memory, sequenceId) + 1;
    }

    /**
     * Whether sequence {@code sequenceId} can go on from position {@code length}: its last cell is at {@code
     * length - 1} and it still holds every cell the next token attends over. Under a sliding window (see {@link
     * LlamaModel#slidingWindow}) the oldest cells are given up as the sequence grows: a sequence cut back far enough
     * ({@link #truncateSequence}) no longer holds the window before its new end, and must read its tokens again
     * (or have the window's cells {@linkplain #restoreCheckpoint loaded}). A model with recurrent state holds it where
     * its last token left it ({@link LlamaModel#keepsRecurrentState}): ending at {@code length - 1} is all it takes
     * (with a sliding window too, what its window layers hold cannot be told apart, and the answer is no).
     */
    public synchronized boolean continuesAt(int sequenceId, int length) {
        requireSequence(sequenceId);
        Checks.require(
                length >= 0 && length <= cellsPerSequence, "length must be 0..%d, got %d", cellsPerSequence, length);
        requireOpen();
        if (Bindings.memorySeqPosMax(memory, sequenceId) != length - 1) return false;
        if (length == 0) return true;
        // llama.cpp answers the later of the attention layers' oldest cell and the recurrent state's position.
        if (owner.keepsRecurrentState()) return owner.slidingWindow() == 0;
        return windowReaches(sequenceId, length);
    }

    /**
     * Whether the cells of sequence {@code sequenceId} still reach back as far as a token at {@code length} attends,
     * were it cut back there: always for a model without a sliding window; with one, whether its window layers still
     * hold the cells of that token's window (they give up older ones as the sequence goes on, unless they keep every
     * cell). Says nothing of recurrent state.
     */
    public synchronized boolean windowReaches(int sequenceId, int length) {
        requireSequence(sequenceId);
        requireOpen();
        int window = owner.slidingWindow();
        if (window == 0 || owner.keepsRecurrentState() || length == 0) return true;
        // The next token (at length) attends back to length - window + 1 under a standard window; a chunked or
        // symmetric one needs no more.
        int oldest = Bindings.memorySeqPosMin(memory, sequenceId);
        return oldest >= 0 && oldest <= Math.max(0, length - window + 1);
    }

    /**
     * Forgets a sequence's tokens from position {@code from} on, keeping those before it. False when the
     * model's memory cannot cut a sequence short (recurrent state); then nothing was removed.
     */
    public synchronized boolean truncateSequence(int sequenceId, int from) {
        requireSequence(sequenceId);
        Checks.require(from >= 0 && from <= cellsPerSequence, "from must be 0..%d, got %d", cellsPerSequence, from);
        requireOpen();
        return Bindings.memorySeqRm(memory, sequenceId, from, -1);
    }

    /** Forgets every token of one sequence, so that its id can start a new one. */
    public synchronized void clearSequence(int sequenceId) {
        requireSequence(sequenceId);
        requireOpen();
        Bindings.memorySeqRm(memory, sequenceId, -1, -1); // removing a whole sequence never fails
    }

    /**
     * Makes sequence {@code target} hold the tokens of sequence {@code source} at positions {@code 0 ..
     * length-1}, without decoding them again. {@code target} should be empty (see {@link #clearSequence}).
     * Sequences have caches of their own, so the cells are copied (the whole of the source's cache, at the
     * start of the next decode: a memory copy, far cheaper than reading a prompt again) and the copy is cut
     * to {@code length}. False when the model's memory cannot be cut there (recurrent state) and the source
     * holds more; then the target is left empty.
     */
    public synchronized boolean copySequence(int source, int target, int length) {
        Checks.require(
                source >= 0 && source < maxSequences,
                "source sequence id must be 0..%d, got %d",
                maxSequences - 1,
                source);
        Checks.require(
                target >= 0 && target < maxSequences,
                "target sequence id must be 0..%d, got %d",
                maxSequences - 1,
                target);
        Checks.require(source != target, "source and target must differ, both are %d", source);
        Checks.require(
                length >= 0 && length <= cellsPerSequence, "length must be 0..%d, got %d", cellsPerSequence, length);
        requireOpen();
        if (length == 0) return true;
        Bindings.memorySeqCp(memory, source, target, -1, -1); // llama.cpp copies whole caches only
        copyingFrom[source] = true;
        copyingTo[target] = true;
        if (Bindings.memorySeqPosMax(memory, target) < length) return true;
        if (Bindings.memorySeqRm(memory, target, length, -1)) return true;
        Bindings.memorySeqRm(memory, target, -1, -1);
        return false;
    }

    /**
     * Whether a {@link #copySequence} from or to this sequence waits for the next decode, which makes it: until
     * then cells cannot be {@linkplain #restoreSequence loaded} into it, nor (when it is the copy's target)
     * {@linkplain #saveSequence saved} from it.
     */
    public synchronized boolean copyPending(int sequenceId) {
        requireSequence(sequenceId);
        return copyingFrom[sequenceId] || copyingTo[sequenceId];
    }

    /** Bytes {@link #saveSequence} needs for sequence {@code sequenceId}'s cells; 0 when it holds none. */
    public synchronized long sequenceStateSize(int sequenceId) {
        return stateSize(sequenceId, Bindings.STATE_SEQ_ALL);
    }

    /**
     * Copies sequence {@code sequenceId}'s cells (and their positions) to host memory, into the start of {@code
     * into} ({@link #sequenceStateSize} bytes), and returns the part written, or null when it holds none, a copy to
     * it waits ({@link #copyPending}) or llama.cpp could not copy them. {@link #restoreSequence} loads them back
     * into this context, to this sequence or another, bit for bit.
     */
    public synchronized MemorySegment saveSequence(int sequenceId, MemorySegment into) {
        return save(sequenceId, into, Bindings.STATE_SEQ_ALL);
    }

    /**
     * Loads cells copied by {@link #saveSequence} into sequence {@code sequenceId}, clearing it first; false when
     * llama.cpp refused them (another model's or context's, or no room), and then the sequence is left empty, or
     * while a copy from or to it waits ({@link #copyPending}), and then it is left as it was.
     */
    public synchronized boolean restoreSequence(int sequenceId, MemorySegment state) {
        return load(sequenceId, state, Bindings.STATE_SEQ_ALL);
    }

    /**
     * Bytes {@link #saveCheckpoint} needs for what sequence {@code sequenceId} holds that cannot be cut back: the cells
     * of its model's sliding-window layers, or its recurrent state; 0 when it holds none or the model has neither.
     */
    public synchronized long checkpointStateSize(int sequenceId) {
        if (!hasCheckpoints()) return 0;
        return stateSize(sequenceId, Bindings.STATE_SEQ_PARTIAL_ONLY);
    }

    /**
     * As {@link #saveSequence}, the cells of the sliding-window layers only (what a sequence cut back behind its
     * window lacks), or the recurrent state only (what cannot be cut back at all): taken where a prompt ends, or a
     * few tokens before, they let the conversation's next turn go on from there ({@link #restoreCheckpoint}) though
     * the window or the state has since moved on.
     */
    public synchronized MemorySegment saveCheckpoint(int sequenceId, MemorySegment into) {
        Checks.require(hasCheckpoints(), "the model has no sliding window and no recurrent state");
        return save(sequenceId, into, Bindings.STATE_SEQ_PARTIAL_ONLY);
    }

    /**
     * Loads window cells or a recurrent state copied by {@link #saveCheckpoint} into sequence {@code sequenceId} in
     * place of the ones it holds, keeping its other layers' cells; cut it back to where they end ({@link
     * #truncateSequence}) and it {@linkplain #continuesAt continues} from there. False while a copy from or to it
     * waits ({@link #copyPending}), and then it is left as it was, or when llama.cpp refused them, and then it is
     * left empty.
     */
    public synchronized boolean restoreCheckpoint(int sequenceId, MemorySegment state) {
        Checks.require(hasCheckpoints(), "the model has no sliding window and no recurrent state");
        return load(sequenceId, state, Bindings.STATE_SEQ_PARTIAL_ONLY);
    }

    /** Whether the model holds something a sequence cannot be cut back through: a sliding window, recurrent state. */
    private boolean hasCheckpoints() {
        return owner.slidingWindow() > 0 || owner.keepsRecurrentState();
    }

    /** The model this context runs. */
    LlamaModel model() {
        return owner;
    }

    private long stateSize(int sequenceId, int flags) {
        requireSequence(sequenceId);
        requireOpen();
        if (Bindings.memorySeqPosMax(memory, sequenceId) < 0) return 0;
        return Math.max(0, Bindings.stateSeqGetSize(context, sequenceId, flags));
    }

    private MemorySegment save(int sequenceId, MemorySegment into, int flags) {
        requireSequence(sequenceId);
        Checks.require(into != null && into.isNative(), "cells are copied to native memory only");
        requireOpen();
        // Cells a waiting copy has yet to fill hold someone else's data.
        if (copyingTo[sequenceId] || Bindings.memorySeqPosMax(memory, sequenceId) < 0) return null;
        long written = Bindings.stateSeqGetData(context, into, into.byteSize(), sequenceId, flags);
        return written <= 0 || written > into.byteSize() ? null : into.asSlice(0, written);
    }

    private boolean load(int sequenceId, MemorySegment state, int flags) {
        requireSequence(sequenceId);
        Checks.require(state != null && state.isNative() && state.byteSize() > 0, "state must be native bytes");
        requireOpen();
        if (copyPending(sequenceId)) return false; // the copy would overwrite what was loaded, or carry it off
        // A whole sequence's cells replace what it held; a window's replace only its window layers' cells.
        if (flags == Bindings.STATE_SEQ_ALL) Bindings.memorySeqRm(memory, sequenceId, -1, -1);
        if (Bindings.stateSeqSetData(context, state, state.byteSize(), sequenceId, flags) > 0) return true;
        Bindings.memorySeqRm(memory, sequenceId, -1, -1);
        return false;
    }

    private void requireSequence(int sequenceId) {
        Checks.require(
                sequenceId >= 0 && sequenceId < maxSequences,
                "sequence id must be 0..%d, got %d",
                maxSequences - 1,
                sequenceId);
    }

    /** Forgets every sequence. */
    public synchronized void clear() {
        requireOpen();
        Bindings.memoryClear(memory, false);
        outputs = new boolean[0];
    }

    /** Frees the KV cache and the batch. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        outputs = new boolean[0];
        Bindings.batchFree(batch);
        arena.close();
        Bindings.free(context);
        if (!threadpool.equals(MemorySegment.NULL)) Bindings.threadpoolFree(threadpool);
        owner.forget(this);
    }

    @Override
    public String toString() {
        return "LlamaContext[n_ctx=" + contextLength + ", n_seq_max=" + maxSequences + ", batch=" + batchCapacity + "]";
    }

    /** Samples with a chain from one output of the last decode, under this context's lock. */
    synchronized int sample(MemorySegment chain, int batchIndex) {
        logitsSegment(batchIndex); // checks the index before llama.cpp dereferences it
        return SamplerBindings.sample(chain, context, batchIndex);
    }

    private MemorySegment logitsSegment(int batchIndex) {
        requireOpen();
        Checks.require(
                batchIndex >= 0 && batchIndex < outputs.length && outputs[batchIndex],
                "batch index %d has no logits: the last decode kept logits only for tokens that asked for them",
                batchIndex);
        MemorySegment logits = Bindings.getLogitsIth(context, batchIndex);
        if (logits.equals(MemorySegment.NULL)) {
            throw new LlamaException("llama.cpp has no logits for batch index " + batchIndex);
        }
        return logits.reinterpret(vocabSize * JAVA_FLOAT.byteSize());
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    private static void set(MemorySegment params, String field, int value) {
        params.set(JAVA_INT, Structs.offset(Structs.CONTEXT_PARAMS, field), value);
    }
}
