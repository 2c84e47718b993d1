package dev.parley.server.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.parley.server.engine.llama.ffi.Bindings;
import dev.parley.server.engine.llama.ffi.Structs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A llama.cpp context that computes pooled embeddings ({@code embeddings = true} and a {@link Pooling}): each
 * {@link #embed} decodes up to {@link #maxSequences()} inputs together, one sequence id each, and reads one
 * vector per input with {@code llama_get_embeddings_seq}. Nothing is kept between calls: the KV cache (which
 * encoder-only models such as BERT do not have) is cleared after every decode, whether it succeeded or not.
 *
 * <p>Every input is decoded whole within one micro-batch ({@code n_ubatch = n_batch}): llama.cpp pools per
 * micro-batch, so an input split across two would be pooled over its second part only, and a non-causal model
 * aborts the process on a batch larger than its micro-batch.
 *
 * <p>Thread-safe by confinement to one call at a time, like {@link LlamaContext}. {@link #close} is idempotent;
 * later calls throw {@link IllegalStateException}. Every argument is checked in Java before the native call.
 */
@SuppressWarnings("restricted") // this package is the native boundary: it reinterprets C pointers by design
public final class EmbeddingContext implements AutoCloseable {
    private static final int FLASH_ATTN_DISABLED = 0; // enum llama_flash_attn_type

    private final LlamaModel owner;
    private final MemorySegment context;
    private final MemorySegment memory; // NULL when the model keeps no KV cache (encoder-only models)
    private final Arena arena; // holds the llama_batch struct; shared so any thread may call
    private final MemorySegment batch;
    private final MemorySegment tokens;
    private final MemorySegment positions;
    private final MemorySegment seqCounts;
    private final MemorySegment[] seqIds;
    private final MemorySegment outputs;
    private final int capacity;
    private final int maxSequences;
    private final int dimensions;
    private final int vocabSize;
    private final Pooling pooling;
    private boolean closed;

    private EmbeddingContext(LlamaModel owner, MemorySegment context, int capacity, int dimensions, Pooling pooling) {
        this.owner = owner;
        this.context = context;
        this.memory = Bindings.getMemory(context);
        this.capacity = capacity;
        this.maxSequences = Bindings.nSeqMax(context);
        this.dimensions = dimensions;
        this.vocabSize = owner.vocabSize();
        this.pooling = pooling;
        this.arena = Arena.ofShared();
        this.batch = Bindings.batchInit(arena, capacity, 0, 1);
        // Pointers from C have size 0: give each array its real length so that overruns throw.
        this.tokens = batch.get(ADDRESS, Structs.BATCH_TOKEN).reinterpret(capacity * JAVA_INT.byteSize());
        this.positions = batch.get(ADDRESS, Structs.BATCH_POS).reinterpret(capacity * JAVA_INT.byteSize());
        this.seqCounts = batch.get(ADDRESS, Structs.BATCH_N_SEQ_ID).reinterpret(capacity * JAVA_INT.byteSize());
        this.outputs = batch.get(ADDRESS, Structs.BATCH_LOGITS).reinterpret(capacity);
        MemorySegment seqIdArray = batch.get(ADDRESS, Structs.BATCH_SEQ_ID).reinterpret(capacity * ADDRESS.byteSize());
        this.seqIds = new MemorySegment[capacity];
        for (int i = 0; i < capacity; i++) {
            seqIds[i] = seqIdArray.getAtIndex(ADDRESS, i).reinterpret(JAVA_INT.byteSize());
        }
    }

    /**
     * A context for inputs of up to {@code length} tokens, and as many tokens in all per decode, in up to {@code
     * maxSequences} inputs.
     */
    static EmbeddingContext create(
            LlamaModel owner,
            MemorySegment model,
            int length,
            int maxSequences,
            int threads,
            KvCacheType kvCache,
            Pooling pooling) {
        MemorySegment context;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = Bindings.contextDefaultParams(arena);
            set(params, "n_ctx", length);
            set(params, "n_batch", length);
            set(params, "n_ubatch", length);
            set(params, "n_seq_max", maxSequences);
            set(params, "n_threads", threads);
            set(params, "n_threads_batch", threads);
            set(params, "type_k", kvCache.ggmlType);
            set(params, "type_v", kvCache.ggmlType);
            set(params, "pooling_type", pooling.value);
            set(params, "flash_attn_type", FLASH_ATTN_DISABLED);
            params.set(JAVA_BOOLEAN, Structs.offset(Structs.CONTEXT_PARAMS, "embeddings"), true);
            params.set(JAVA_BOOLEAN, Structs.offset(Structs.CONTEXT_PARAMS, "no_perf"), true);
            // One cache for all sequences of a decode, so that any input may take any free cell.
            params.set(JAVA_BOOLEAN, Structs.offset(Structs.CONTEXT_PARAMS, "kv_unified"), true);
            context = Bindings.initFromModel(model, params);
        }
        if (context.equals(MemorySegment.NULL)) {
            throw new LlamaException("llama.cpp could not create an embedding context of %d tokens (its log says why)"
                    .formatted(length));
        }
        try {
            // llama.cpp may lower what was asked for: use what it actually allows.
            int capacity = Math.min(length, Math.min(Bindings.nBatch(context), Bindings.nUbatch(context)));
            int pooled = Bindings.poolingType(context);
            if (pooled != pooling.value) {
                throw new LlamaException("llama.cpp pools with type %d, not %s".formatted(pooled, pooling));
            }
            int dimensions = Bindings.modelNEmbdOut(model);
            if (dimensions <= 0) throw new LlamaException("the model reports " + dimensions + " output dimensions");
            return new EmbeddingContext(owner, context, capacity, dimensions, pooling);
        } catch (RuntimeException e) {
            Bindings.free(context);
            throw e;
        }
    }

    /** Most tokens one {@link #embed} takes, all inputs together; so also the longest input. */
    public int capacity() {
        return capacity;
    }

    /** Most inputs one {@link #embed} takes. */
    public int maxSequences() {
        return maxSequences;
    }

    /** Length of each vector. */
    public int dimensions() {
        return dimensions;
    }

    public Pooling pooling() {
        return pooling;
    }

    /**
     * The pooled embedding of each input, in order, as the model gives it (not normalised), from one decode.
     *
     * @throws IllegalArgumentException when there are no inputs or more than {@link #maxSequences()}, an input is
     *     empty, they hold more than {@link #capacity()} tokens together, or a token id is outside the vocabulary
     * @throws LlamaException when llama.cpp fails; the context stays usable
     */
    public synchronized List<float[]> embed(List<int[]> inputs) {
        Checks.notNull(inputs, "inputs");
        Checks.require(
                !inputs.isEmpty() && inputs.size() <= maxSequences,
                "inputs must number 1..%d, got %d",
                maxSequences,
                inputs.size());
        long total = 0;
        for (int[] input : inputs) {
            Checks.notNull(input, "input");
            Checks.require(input.length > 0, "an input must hold at least one token");
            for (int token : input) Checks.token(token, vocabSize);
            total += input.length;
        }
        Checks.require(total <= capacity, "inputs must hold at most %d tokens together, got %d", capacity, total);
        requireOpen();
        int count = 0;
        for (int s = 0; s < inputs.size(); s++) {
            int[] input = inputs.get(s);
            for (int p = 0; p < input.length; p++, count++) {
                tokens.setAtIndex(JAVA_INT, count, input[p]);
                positions.setAtIndex(JAVA_INT, count, p);
                seqCounts.setAtIndex(JAVA_INT, count, 1);
                seqIds[count].set(JAVA_INT, 0, s);
                outputs.set(JAVA_BYTE, count, (byte) 1); // pooling needs every token's output
            }
        }
        batch.set(JAVA_INT, Structs.BATCH_N_TOKENS, count);
        try {
            int result = Bindings.decode(context, batch);
            if (result != 0) {
                throw new LlamaException("llama_decode failed with %d on %d inputs of %d tokens"
                        .formatted(result, inputs.size(), count));
            }
            List<float[]> vectors = new ArrayList<>(inputs.size());
            for (int s = 0; s < inputs.size(); s++) {
                MemorySegment vector = Bindings.getEmbeddingsSeq(context, s);
                if (vector.equals(MemorySegment.NULL)) {
                    throw new LlamaException("llama.cpp has no pooled embedding for sequence " + s);
                }
                vectors.add(
                        vector.reinterpret(dimensions * JAVA_FLOAT.byteSize()).toArray(JAVA_FLOAT));
            }
            return vectors;
        } finally {
            // The next call starts from an empty cache: no input ever attends to another's cells.
            if (!memory.equals(MemorySegment.NULL)) Bindings.memoryClear(memory, false);
        }
    }

    /** Frees the context and its batch. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Bindings.batchFree(batch);
        arena.close();
        Bindings.free(context);
        owner.forget(this);
    }

    @Override
    public String toString() {
        return "EmbeddingContext[capacity=" + capacity + ", n_seq_max=" + maxSequences + ", " + pooling + "]";
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException(this + " is closed");
    }

    private static void set(MemorySegment params, String field, int value) {
        params.set(JAVA_INT, Structs.offset(Structs.CONTEXT_PARAMS, field), value);
    }
}
