package dev.parley.server.engine.llama.ffi;

import static dev.parley.server.engine.llama.ffi.Bindings.rethrow;
import static dev.parley.server.engine.llama.ffi.NativeLibrary.function;
import static java.lang.foreign.FunctionDescriptor.of;
import static java.lang.foreign.FunctionDescriptor.ofVoid;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls into llama.h's sampling API (release v0.5.0). A chain takes ownership of every sampler added to it and
 * frees them with itself; a sampler added to a chain must never be freed on its own. Callers validate.
 */
public final class SamplerBindings {
    private SamplerBindings() {}

    private static final MethodHandle CHAIN_INIT =
            function("llama_sampler_chain_init", of(ADDRESS, Structs.SAMPLER_CHAIN_PARAMS));
    private static final MethodHandle CHAIN_ADD = function("llama_sampler_chain_add", ofVoid(ADDRESS, ADDRESS));
    private static final MethodHandle INIT_GREEDY = function("llama_sampler_init_greedy", of(ADDRESS));
    private static final MethodHandle INIT_DIST = function("llama_sampler_init_dist", of(ADDRESS, JAVA_INT));
    private static final MethodHandle INIT_TEMP = function("llama_sampler_init_temp", of(ADDRESS, JAVA_FLOAT));
    private static final MethodHandle INIT_TOP_K = function("llama_sampler_init_top_k", of(ADDRESS, JAVA_INT));
    private static final MethodHandle INIT_TOP_P =
            function("llama_sampler_init_top_p", of(ADDRESS, JAVA_FLOAT, JAVA_LONG));
    private static final MethodHandle INIT_MIN_P =
            function("llama_sampler_init_min_p", of(ADDRESS, JAVA_FLOAT, JAVA_LONG));
    private static final MethodHandle INIT_PENALTIES = function(
            "llama_sampler_init_penalties", of(ADDRESS, JAVA_INT, JAVA_INT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT));
    private static final MethodHandle INIT_LOGIT_BIAS =
            function("llama_sampler_init_logit_bias", of(ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle SAMPLE =
            function("llama_sampler_sample", of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle FREE = function("llama_sampler_free", ofVoid(ADDRESS));
    private static final MethodHandle INIT_GRAMMAR =
            function("llama_sampler_init_grammar", of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle APPLY = function("llama_sampler_apply", ofVoid(ADDRESS, ADDRESS));
    private static final MethodHandle ACCEPT = function("llama_sampler_accept", ofVoid(ADDRESS, JAVA_INT));

    public static MemorySegment chainInit(MemorySegment params) {
        try {
            return (MemorySegment) CHAIN_INIT.invokeExact(params);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static void chainAdd(MemorySegment chain, MemorySegment sampler) {
        try {
            CHAIN_ADD.invokeExact(chain, sampler);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static MemorySegment initGreedy() {
        try {
            return (MemorySegment) INIT_GREEDY.invokeExact();
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Samples from the distribution; seed 0xFFFFFFFF (LLAMA_DEFAULT_SEED) means a random seed. */
    public static MemorySegment initDist(int seed) {
        try {
            return (MemorySegment) INIT_DIST.invokeExact(seed);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static MemorySegment initTemp(float temperature) {
        try {
            return (MemorySegment) INIT_TEMP.invokeExact(temperature);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static MemorySegment initTopK(int k) {
        try {
            return (MemorySegment) INIT_TOP_K.invokeExact(k);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static MemorySegment initTopP(float p, long minKeep) {
        try {
            return (MemorySegment) INIT_TOP_P.invokeExact(p, minKeep);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static MemorySegment initMinP(float p, long minKeep) {
        try {
            return (MemorySegment) INIT_MIN_P.invokeExact(p, minKeep);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** lastN 0 disables; repeat 1 and freq/present 0 are neutral. */
    public static MemorySegment initPenalties(int vocabSize, int lastN, float repeat, float frequency, float presence) {
        try {
            return (MemorySegment) INIT_PENALTIES.invokeExact(vocabSize, lastN, repeat, frequency, presence);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** {@code biases} is an array of {@code count} llama_logit_bias structs, copied by the call. */
    public static MemorySegment initLogitBias(int vocabSize, int count, MemorySegment biases) {
        try {
            return (MemorySegment) INIT_LOGIT_BIAS.invokeExact(vocabSize, count, biases);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Samples from output {@code index} of the context's last decode and accepts the token into the chain. */
    public static int sample(MemorySegment sampler, MemorySegment context, int index) {
        try {
            return (int) SAMPLE.invokeExact(sampler, context, index);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static void free(MemorySegment sampler) {
        try {
            FREE.invokeExact(sampler);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * A grammar sampler for {@code vocab}, from GBNF text and the name of its start rule (both NUL-terminated
     * UTF-8); NULL when the grammar does not parse, names an undefined rule or is left-recursive (llama.cpp
     * catches its own parse errors and logs them).
     */
    public static MemorySegment initGrammar(MemorySegment vocab, MemorySegment grammar, MemorySegment root) {
        try {
            return (MemorySegment) INIT_GRAMMAR.invokeExact(vocab, grammar, root);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Lets {@code sampler} adjust the candidates of a {@code llama_token_data_array}; a grammar sampler sets the
     * logit of every token its grammar cannot take next to negative infinity.
     */
    public static void apply(MemorySegment sampler, MemorySegment candidates) {
        try {
            APPLY.invokeExact(sampler, candidates);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Tells {@code sampler} which token was chosen. A grammar sampler aborts the process on a token its grammar
     * does not allow (llama.cpp throws across the C boundary): call it only with a token {@link #apply} left
     * allowed.
     */
    public static void accept(MemorySegment sampler, int token) {
        try {
            ACCEPT.invokeExact(sampler, token);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }
}
