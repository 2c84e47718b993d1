package dev.parley.server.engine.llama;

import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.parley.server.engine.llama.ffi.SamplerBindings;
import dev.parley.server.engine.llama.ffi.Structs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * A llama.cpp sampler chain built from {@link SamplingOptions}: picks the next token from one output of a
 * context's last decode. It remembers the tokens it picked, for the penalties, so one sampler serves one
 * generation.
 *
 * <p>Thread-safe by confinement: calls hold this sampler's lock, then the context's. {@link #close} is
 * idempotent; later calls throw {@link IllegalStateException}.
 */
public final class Sampler implements AutoCloseable {
    /** Tokens the penalties look back over: a whole completion in practice, and a bounded ring buffer. */
    static final int PENALTY_WINDOW = 4096;

    private final LlamaModel owner;
    private final MemorySegment chain;
    private final int vocabSize;
    private boolean closed;

    private Sampler(LlamaModel owner, MemorySegment chain) {
        this.owner = owner;
        this.chain = chain;
        this.vocabSize = owner.vocabSize();
    }

    static Sampler create(LlamaModel owner, SamplingOptions options) {
        MemorySegment chain;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(Structs.SAMPLER_CHAIN_PARAMS);
            params.set(JAVA_BOOLEAN, Structs.offset(Structs.SAMPLER_CHAIN_PARAMS, "no_perf"), true);
            chain = SamplerBindings.chainInit(params);
            if (chain.equals(MemorySegment.NULL)) {
                throw new LlamaException("llama_sampler_chain_init failed");
            }
            // The chain owns what is added to it and frees it with itself.
            Map<Integer, Double> bias = options.logitBias();
            if (!bias.isEmpty()) {
                MemorySegment entries = arena.allocate(Structs.LOGIT_BIAS, bias.size());
                int i = 0;
                for (Map.Entry<Integer, Double> entry : bias.entrySet()) {
                    MemorySegment slot = entries.asSlice(i++ * Structs.LOGIT_BIAS.byteSize(), Structs.LOGIT_BIAS);
                    slot.set(JAVA_INT, Structs.offset(Structs.LOGIT_BIAS, "token"), entry.getKey());
                    slot.set(
                            JAVA_FLOAT,
                            Structs.offset(Structs.LOGIT_BIAS, "bias"),
                            entry.getValue().floatValue());
                }
                SamplerBindings.chainAdd(chain, SamplerBindings.initLogitBias(owner.vocabSize(), bias.size(), entries));
            }
        }
        if (options.presencePenalty() != 0 || options.frequencyPenalty() != 0) {
            int window = Math.min(PENALTY_WINDOW, Math.max(64, owner.contextTrainLength()));
            SamplerBindings.chainAdd(
                    chain,
                    SamplerBindings.initPenalties(
                            owner.vocabSize(), window, 1.0f, (float) options.frequencyPenalty(), (float)
                                    options.presencePenalty()));
        }
        if (options.temperature() < SamplingOptions.GREEDY_BELOW) {
            SamplerBindings.chainAdd(chain, SamplerBindings.initGreedy());
        } else {
            if (options.topK() > 0) {
                SamplerBindings.chainAdd(chain, SamplerBindings.initTopK(options.topK()));
            }
            if (options.topP() < 1) {
                SamplerBindings.chainAdd(chain, SamplerBindings.initTopP((float) options.topP(), 1));
            }
            if (options.minP() > 0) {
                SamplerBindings.chainAdd(chain, SamplerBindings.initMinP((float) options.minP(), 1));
            }
            SamplerBindings.chainAdd(chain, SamplerBindings.initTemp((float) options.temperature()));
            SamplerBindings.chainAdd(chain, SamplerBindings.initDist(seed32(options.seed())));
        }
        return new Sampler(owner, chain);
    }

    /**
     * Picks a token from the output at {@code batchIndex} of the context's last decode.
     *
     * @throws IllegalArgumentException when the context belongs to a model of another vocabulary size, or
     *     that batch index has no logits
     */
    public synchronized int sample(LlamaContext context, int batchIndex) {
        Checks.notNull(context, "context");
        Checks.require(
                context.vocabSize() == vocabSize,
                "context has a vocabulary of %d tokens, this sampler %d",
                context.vocabSize(),
                vocabSize);
        requireOpen();
        return context.sample(chain, batchIndex);
    }

    /** Frees the chain and every sampler in it. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        SamplerBindings.free(chain);
        owner.forget(this);
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("sampler is closed");
        }
    }

    /**
     * llama.cpp takes a 32-bit seed and treats 0xFFFFFFFF as "pick one at random": fold the long, and move
     * that one value elsewhere so that every seed stays reproducible.
     */
    static int seed32(long seed) {
        int folded = (int) (seed ^ (seed >>> 32));
        return folded == -1 ? 0x5EED : folded;
    }
}
