package dev.parley.server.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.parley.server.engine.llama.ffi.SamplerBindings;
import dev.parley.server.engine.llama.ffi.Structs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * llama.cpp's grammar sampler following one choice: which tokens its GBNF grammar lets come next, given the tokens
 * it has accepted so far. Only the end of generation is allowed once the grammar is complete.
 *
 * <p>llama.cpp aborts the process when its grammar is told of a token it does not allow, so {@link #accept} checks
 * first and refuses such a token in Java.
 *
 * <p>Used by one thread at a time (the scheduler's); {@link #close} is idempotent and also runs when the model
 * closes.
 */
final class Grammar implements AutoCloseable, TokenSampler.Constraint {
    private static final long DATA = Structs.offset(Structs.TOKEN_DATA_ARRAY, "data");
    private static final long SIZE = Structs.offset(Structs.TOKEN_DATA_ARRAY, "size");
    private static final long SELECTED = Structs.offset(Structs.TOKEN_DATA_ARRAY, "selected");
    private static final long SORTED = Structs.offset(Structs.TOKEN_DATA_ARRAY, "sorted");
    private static final long STRIDE = Structs.TOKEN_DATA.byteSize();
    private static final long ID = Structs.offset(Structs.TOKEN_DATA, "id");
    private static final long LOGIT = Structs.offset(Structs.TOKEN_DATA, "logit");

    private final LlamaModel owner;
    private final MemorySegment sampler;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment candidates; // a llama_token_data_array
    private final MemorySegment data; // room for every token of the vocabulary
    private final int vocabSize;
    private boolean closed;

    private Grammar(LlamaModel owner, MemorySegment sampler) {
        this.owner = owner;
        this.sampler = sampler;
        this.vocabSize = owner.vocabSize();
        this.candidates = arena.allocate(Structs.TOKEN_DATA_ARRAY);
        this.data = arena.allocate(Structs.TOKEN_DATA, vocabSize);
        candidates.set(ADDRESS, DATA, data);
    }

    /** @throws LlamaException when llama.cpp does not accept the grammar */
    static Grammar create(LlamaModel owner, MemorySegment vocab, String gbnf, String root) {
        MemorySegment sampler;
        try (Arena strings = Arena.ofConfined()) {
            sampler = SamplerBindings.initGrammar(vocab, strings.allocateFrom(gbnf), strings.allocateFrom(root));
        }
        if (sampler.equals(MemorySegment.NULL)) throw new LlamaException("llama.cpp does not accept the grammar");
        return new Grammar(owner, sampler);
    }

    @Override
    public boolean allows(int token) {
        Checks.token(token, vocabSize);
        data.set(JAVA_INT, ID, token);
        data.set(JAVA_FLOAT, LOGIT, 0f);
        apply(1);
        return data.get(JAVA_FLOAT, LOGIT) != Float.NEGATIVE_INFINITY;
    }

    /** Sets the logit of every token the grammar does not allow next to negative infinity; false when none is left. */
    @Override
    public boolean mask(float[] logits) {
        Checks.require(logits.length == vocabSize, "logits for %d tokens, grammar for %d", logits.length, vocabSize);
        for (int id = 0; id < vocabSize; id++) {
            long at = id * STRIDE;
            data.set(JAVA_INT, at + ID, id);
            data.set(JAVA_FLOAT, at + LOGIT, logits[id]);
        }
        apply(vocabSize);
        boolean any = false;
        for (int id = 0; id < vocabSize; id++) {
            long at = id * STRIDE;
            float logit = data.get(JAVA_FLOAT, at + LOGIT);
            if (logit == Float.NEGATIVE_INFINITY) logits[data.get(JAVA_INT, at + ID)] = logit;
            else any = true;
        }
        return any;
    }

    /**
     * Moves the grammar past {@code token}.
     *
     * @throws IllegalArgumentException when the grammar does not allow it
     */
    void accept(int token) {
        if (!allows(token)) throw new IllegalArgumentException("the grammar does not allow token " + token + " here");
        SamplerBindings.accept(sampler, token);
    }

    private void apply(int size) {
        if (closed) throw new IllegalStateException("grammar is closed");
        candidates.set(ADDRESS, DATA, data); // samplers may move the pointer; a grammar does not, but be sure
        candidates.set(JAVA_LONG, SIZE, size);
        candidates.set(JAVA_LONG, SELECTED, -1L);
        candidates.set(JAVA_BOOLEAN, SORTED, false);
        SamplerBindings.apply(sampler, candidates);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        SamplerBindings.free(sampler);
        arena.close();
        owner.forget(this);
    }
}
