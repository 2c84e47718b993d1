package dev.parley.server.engine.llama.ffi;

import static dev.parley.server.engine.llama.ffi.NativeLibrary.function;
import static dev.parley.server.engine.llama.ffi.NativeLibrary.symbol;
import static java.lang.foreign.FunctionDescriptor.of;
import static java.lang.foreign.FunctionDescriptor.ofVoid;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.parley.server.engine.llama.LlamaException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls into llama.h (release v0.5.0) for models, vocabularies, contexts, batches and chat templates; one typed
 * static method per C function, named after it.
 *
 * <p>These methods check nothing: callers ({@link LlamaModel}, {@link LlamaContext}) validate every
 * argument first and own every pointer. A struct returned by value is written into the given allocator;
 * one passed by value is a segment of its layout, copied by the call.
 */
public final class Bindings {
    private Bindings() {}

    private static final MethodHandle MODEL_DEFAULT_PARAMS =
            function("llama_model_default_params", of(Structs.MODEL_PARAMS));
    private static final MethodHandle CONTEXT_DEFAULT_PARAMS =
            function("llama_context_default_params", of(Structs.CONTEXT_PARAMS));
    private static final MethodHandle MODEL_LOAD_FROM_FILE =
            function("llama_model_load_from_file", of(ADDRESS, ADDRESS, Structs.MODEL_PARAMS));
    private static final MethodHandle MODEL_GET_VOCAB = function("llama_model_get_vocab", of(ADDRESS, ADDRESS));
    private static final MethodHandle MODEL_N_CTX_TRAIN = function("llama_model_n_ctx_train", of(JAVA_INT, ADDRESS));
    private static final MethodHandle MODEL_CHAT_TEMPLATE =
            function("llama_model_chat_template", of(ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle MODEL_META_VAL_STR =
            function("llama_model_meta_val_str", of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
    private static final MethodHandle VOCAB_N_TOKENS = function("llama_vocab_n_tokens", of(JAVA_INT, ADDRESS));
    private static final MethodHandle VOCAB_BOS = function("llama_vocab_bos", of(JAVA_INT, ADDRESS));
    private static final MethodHandle VOCAB_EOS = function("llama_vocab_eos", of(JAVA_INT, ADDRESS));
    private static final MethodHandle VOCAB_IS_EOG =
            function("llama_vocab_is_eog", of(JAVA_BOOLEAN, ADDRESS, JAVA_INT));
    private static final MethodHandle VOCAB_GET_ATTR =
            function("llama_vocab_get_attr", of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle TOKENIZE = function(
            "llama_tokenize", of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN));
    private static final MethodHandle TOKEN_TO_PIECE = function(
            "llama_token_to_piece", of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_BOOLEAN));
    private static final MethodHandle INIT_FROM_MODEL =
            function("llama_init_from_model", of(ADDRESS, ADDRESS, Structs.CONTEXT_PARAMS));
    private static final MethodHandle N_CTX = function("llama_n_ctx", of(JAVA_INT, ADDRESS));
    private static final MethodHandle N_BATCH = function("llama_n_batch", of(JAVA_INT, ADDRESS));
    private static final MethodHandle N_SEQ_MAX = function("llama_n_seq_max", of(JAVA_INT, ADDRESS));
    private static final MethodHandle BATCH_INIT =
            function("llama_batch_init", of(Structs.BATCH, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle GET_MEMORY = function("llama_get_memory", of(ADDRESS, ADDRESS));
    private static final MethodHandle N_CTX_SEQ = function("llama_n_ctx_seq", of(JAVA_INT, ADDRESS));
    private static final MethodHandle N_UBATCH = function("llama_n_ubatch", of(JAVA_INT, ADDRESS));
    private static final MethodHandle POOLING_TYPE = function("llama_pooling_type", of(JAVA_INT, ADDRESS));
    private static final MethodHandle MODEL_N_EMBD_OUT = function("llama_model_n_embd_out", of(JAVA_INT, ADDRESS));

    // The handles above are the ones loading a model and creating a context use. The others are made on their
    // first call, in the holder classes below: each downcall handle is a class generated at run time, about 8 ms
    // apiece in a JVM that has just started (and work for its JIT compilers), and making them all at load kept a
    // starting server from answering for longer. Their functions are looked up now all the same, so that a
    // library of another release is refused at load and never in the middle of a request.
    private static final MemorySegment DECODE_SYMBOL = symbol("llama_decode");
    private static final MemorySegment GET_LOGITS_ITH_SYMBOL = symbol("llama_get_logits_ith");
    private static final MemorySegment GET_EMBEDDINGS_SEQ_SYMBOL = symbol("llama_get_embeddings_seq");
    private static final MemorySegment MEMORY_SEQ_RM_SYMBOL = symbol("llama_memory_seq_rm");
    private static final MemorySegment MEMORY_SEQ_CP_SYMBOL = symbol("llama_memory_seq_cp");
    private static final MemorySegment MEMORY_CLEAR_SYMBOL = symbol("llama_memory_clear");
    private static final MemorySegment MEMORY_SEQ_POS_MIN_SYMBOL = symbol("llama_memory_seq_pos_min");
    private static final MemorySegment MEMORY_SEQ_POS_MAX_SYMBOL = symbol("llama_memory_seq_pos_max");
    private static final MemorySegment MODEL_N_SWA_SYMBOL = symbol("llama_model_n_swa");
    private static final MemorySegment MODEL_IS_RECURRENT_SYMBOL = symbol("llama_model_is_recurrent");
    private static final MemorySegment MODEL_IS_HYBRID_SYMBOL = symbol("llama_model_is_hybrid");
    private static final MemorySegment STATE_SEQ_GET_SIZE_SYMBOL = symbol("llama_state_seq_get_size_ext");
    private static final MemorySegment STATE_SEQ_GET_DATA_SYMBOL = symbol("llama_state_seq_get_data_ext");
    private static final MemorySegment STATE_SEQ_SET_DATA_SYMBOL = symbol("llama_state_seq_set_data_ext");
    private static final MemorySegment DETOKENIZE_SYMBOL = symbol("llama_detokenize");
    private static final MemorySegment CHAT_APPLY_TEMPLATE_SYMBOL = symbol("llama_chat_apply_template");
    private static final MemorySegment MODEL_FREE_SYMBOL = symbol("llama_model_free");
    private static final MemorySegment FREE_SYMBOL = symbol("llama_free");
    private static final MemorySegment BATCH_FREE_SYMBOL = symbol("llama_batch_free");

    /** Decodes and their outputs: first used once the server listens (calibration, then requests). */
    private static final class Decoding {
        static final MethodHandle DECODE = function(DECODE_SYMBOL, of(JAVA_INT, ADDRESS, Structs.BATCH));
        static final MethodHandle GET_LOGITS_ITH = function(GET_LOGITS_ITH_SYMBOL, of(ADDRESS, ADDRESS, JAVA_INT));
        static final MethodHandle GET_EMBEDDINGS_SEQ =
                function(GET_EMBEDDINGS_SEQ_SYMBOL, of(ADDRESS, ADDRESS, JAVA_INT));
    }

    /** The KV cache's sequences: first used by the first decodes. */
    private static final class Memory {
        static final MethodHandle MEMORY_SEQ_RM =
                function(MEMORY_SEQ_RM_SYMBOL, of(JAVA_BOOLEAN, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle MEMORY_SEQ_CP =
                function(MEMORY_SEQ_CP_SYMBOL, ofVoid(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        static final MethodHandle MEMORY_CLEAR = function(MEMORY_CLEAR_SYMBOL, ofVoid(ADDRESS, JAVA_BOOLEAN));
        static final MethodHandle MEMORY_SEQ_POS_MIN =
                function(MEMORY_SEQ_POS_MIN_SYMBOL, of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle MEMORY_SEQ_POS_MAX =
                function(MEMORY_SEQ_POS_MAX_SYMBOL, of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle MODEL_N_SWA = function(MODEL_N_SWA_SYMBOL, of(JAVA_INT, ADDRESS));
        static final MethodHandle MODEL_IS_RECURRENT = function(MODEL_IS_RECURRENT_SYMBOL, of(JAVA_BOOLEAN, ADDRESS));
        static final MethodHandle MODEL_IS_HYBRID = function(MODEL_IS_HYBRID_SYMBOL, of(JAVA_BOOLEAN, ADDRESS));
    }

    /**
     * A sequence's cells copied out to host memory and back: first used when a prompt cache is on, or a model with a
     * sliding window keeps the window's cells at the end of a prompt.
     */
    private static final class State {
        static final MethodHandle SEQ_GET_SIZE =
                function(STATE_SEQ_GET_SIZE_SYMBOL, of(JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT));
        static final MethodHandle SEQ_GET_DATA =
                function(STATE_SEQ_GET_DATA_SYMBOL, of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT));
        static final MethodHandle SEQ_SET_DATA =
                function(STATE_SEQ_SET_DATA_SYMBOL, of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT));
    }

    /** {@code llama_state_seq_flags}: the whole of a sequence's memory. */
    public static final int STATE_SEQ_ALL = 0;

    /** {@code LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY}: only the part that cannot be cut short, a sliding window's cells. */
    public static final int STATE_SEQ_PARTIAL_ONLY = 1;

    /** Detokenizing and llama.cpp's own templates: first used by requests. */
    private static final class Text {
        static final MethodHandle DETOKENIZE = function(
                DETOKENIZE_SYMBOL,
                of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN));
        static final MethodHandle CHAT_APPLY_TEMPLATE = function(
                CHAT_APPLY_TEMPLATE_SYMBOL, of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_BOOLEAN, ADDRESS, JAVA_INT));
    }

    /** Freeing: used when a model or context closes. */
    private static final class Release {
        static final MethodHandle MODEL_FREE = function(MODEL_FREE_SYMBOL, ofVoid(ADDRESS));
        static final MethodHandle FREE = function(FREE_SYMBOL, ofVoid(ADDRESS));
        static final MethodHandle BATCH_FREE = function(BATCH_FREE_SYMBOL, ofVoid(Structs.BATCH));
    }

    public static MemorySegment modelDefaultParams(SegmentAllocator allocator) {
        try {
            return (MemorySegment) MODEL_DEFAULT_PARAMS.invokeExact(allocator);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static MemorySegment contextDefaultParams(SegmentAllocator allocator) {
        try {
            return (MemorySegment) CONTEXT_DEFAULT_PARAMS.invokeExact(allocator);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Returns NULL when the file is not a model this build can load. */
    public static MemorySegment modelLoadFromFile(MemorySegment path, MemorySegment params) {
        try {
            return (MemorySegment) MODEL_LOAD_FROM_FILE.invokeExact(path, params);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static void modelFree(MemorySegment model) {
        try {
            Release.MODEL_FREE.invokeExact(model);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static MemorySegment modelGetVocab(MemorySegment model) {
        try {
            return (MemorySegment) MODEL_GET_VOCAB.invokeExact(model);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static int modelNCtxTrain(MemorySegment model) {
        try {
            return (int) MODEL_N_CTX_TRAIN.invokeExact(model);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Tokens a sliding-window layer attends over; 0 when the model has none. */
    public static int modelNSwa(MemorySegment model) {
        try {
            return (int) Memory.MODEL_N_SWA.invokeExact(model);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Whether the model keeps recurrent state per sequence (Mamba, RWKV; or, beside attention, LFM2, Qwen 3.5,
     * Granite 4 H, Nemotron H): one state per sequence, which cannot be cut back to an earlier token.
     */
    public static boolean modelKeepsRecurrentState(MemorySegment model) {
        try {
            return (boolean) Memory.MODEL_IS_RECURRENT.invokeExact(model)
                    || (boolean) Memory.MODEL_IS_HYBRID.invokeExact(model);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** The model's {@code tokenizer.chat_template} (name NULL), or NULL when it has none. */
    public static MemorySegment modelChatTemplate(MemorySegment model, MemorySegment name) {
        try {
            return (MemorySegment) MODEL_CHAT_TEMPLATE.invokeExact(model, name);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Length of the value (without NUL) or -1 when the key is absent; always NUL-terminates buf. */
    public static int modelMetaValStr(MemorySegment model, MemorySegment key, MemorySegment buf, long bufSize) {
        try {
            return (int) MODEL_META_VAL_STR.invokeExact(model, key, buf, bufSize);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static int vocabNTokens(MemorySegment vocab) {
        try {
            return (int) VOCAB_N_TOKENS.invokeExact(vocab);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static int vocabBos(MemorySegment vocab) {
        try {
            return (int) VOCAB_BOS.invokeExact(vocab);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static int vocabEos(MemorySegment vocab) {
        try {
            return (int) VOCAB_EOS.invokeExact(vocab);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static boolean vocabIsEog(MemorySegment vocab, int token) {
        try {
            return (boolean) VOCAB_IS_EOG.invokeExact(vocab, token);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** {@code llama_token_attr}'s control bit. */
    public static final int TOKEN_ATTR_CONTROL = 1 << 3;
    /** {@code llama_token_attr}'s user-defined bit: added tokens such as chat markup, read as special too. */
    public static final int TOKEN_ATTR_USER_DEFINED = 1 << 4;

    /** The token's {@code llama_token_attr} bits. */
    public static int vocabGetAttr(MemorySegment vocab, int token) {
        try {
            return (int) VOCAB_GET_ATTR.invokeExact(vocab, token);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Token count, or minus the count needed when {@code tokens} is too small. {@code textLength} is in bytes. */
    public static int tokenize(
            MemorySegment vocab,
            MemorySegment text,
            int textLength,
            MemorySegment tokens,
            int maxTokens,
            boolean addSpecial,
            boolean parseSpecial) {
        try {
            return (int) TOKENIZE.invokeExact(vocab, text, textLength, tokens, maxTokens, addSpecial, parseSpecial);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Bytes written (no NUL), or minus the size needed when {@code buf} is too small. */
    public static int tokenToPiece(
            MemorySegment vocab, int token, MemorySegment buf, int length, int lstrip, boolean special) {
        try {
            return (int) TOKEN_TO_PIECE.invokeExact(vocab, token, buf, length, lstrip, special);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Bytes written, or minus the size needed when {@code text} is too small. */
    public static int detokenize(
            MemorySegment vocab,
            MemorySegment tokens,
            int count,
            MemorySegment text,
            int maxLength,
            boolean removeSpecial,
            boolean unparseSpecial) {
        try {
            return (int)
                    Text.DETOKENIZE.invokeExact(vocab, tokens, count, text, maxLength, removeSpecial, unparseSpecial);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Returns NULL when the context cannot be created (e.g. not enough memory for the KV cache). */
    public static MemorySegment initFromModel(MemorySegment model, MemorySegment params) {
        try {
            return (MemorySegment) INIT_FROM_MODEL.invokeExact(model, params);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static void free(MemorySegment context) {
        try {
            Release.FREE.invokeExact(context);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static int nCtx(MemorySegment context) {
        try {
            return (int) N_CTX.invokeExact(context);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static int nBatch(MemorySegment context) {
        try {
            return (int) N_BATCH.invokeExact(context);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static int nSeqMax(MemorySegment context) {
        try {
            return (int) N_SEQ_MAX.invokeExact(context);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** A batch of {@code capacity} tokens, one sequence id each; its arrays are malloc'd and uninitialised. */
    public static MemorySegment batchInit(SegmentAllocator allocator, int capacity, int embd, int seqMax) {
        try {
            return (MemorySegment) BATCH_INIT.invokeExact(allocator, capacity, embd, seqMax);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static void batchFree(MemorySegment batch) {
        try {
            Release.BATCH_FREE.invokeExact(batch);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * 0 ok; 1 no KV slot for the batch (the memory is as before); 2 aborted; -1 an invalid batch; below -1 a
     * fatal error (ubatches already processed stay in the memory).
     */
    public static int decode(MemorySegment context, MemorySegment batch) {
        try {
            return (int) Decoding.DECODE.invokeExact(context, batch);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** n_vocab floats for output {@code i} of the last decode, or NULL when i had no output. */
    public static MemorySegment getLogitsIth(MemorySegment context, int i) {
        try {
            return (MemorySegment) Decoding.GET_LOGITS_ITH.invokeExact(context, i);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** The context's memory (its KV cache), owned by the context. */
    public static MemorySegment getMemory(MemorySegment context) {
        try {
            return (MemorySegment) GET_MEMORY.invokeExact(context);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Removes a sequence's tokens at positions [p0, p1) (p0 &lt; 0: from 0; p1 &lt; 0: to the end); removing a whole sequence never fails. */
    public static boolean memorySeqRm(MemorySegment memory, int seqId, int p0, int p1) {
        try {
            return (boolean) Memory.MEMORY_SEQ_RM.invokeExact(memory, seqId, p0, p1);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Lets {@code dst} hold the tokens of {@code src} at positions [p0, p1) (p0 &lt; 0: from 0; p1 &lt; 0: to the
     * end). In a unified cache this tags cells with one more sequence id; nothing is copied. Between sequences with
     * caches of their own only a whole cache is copied (p0 and p1 negative), at the start of the next decode.
     */
    public static void memorySeqCp(MemorySegment memory, int src, int dst, int p0, int p1) {
        try {
            Memory.MEMORY_SEQ_CP.invokeExact(memory, src, dst, p0, p1);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Forgets every sequence; {@code data} also zeroes the buffers. */
    public static void memoryClear(MemorySegment memory, boolean data) {
        try {
            Memory.MEMORY_CLEAR.invokeExact(memory, data);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** The smallest position a sequence holds, -1 when it is empty. */
    public static int memorySeqPosMin(MemorySegment memory, int seqId) {
        try {
            return (int) Memory.MEMORY_SEQ_POS_MIN.invokeExact(memory, seqId);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** The largest position a sequence holds, -1 when it is empty; every position from the smallest up is present. */
    public static int memorySeqPosMax(MemorySegment memory, int seqId) {
        try {
            return (int) Memory.MEMORY_SEQ_POS_MAX.invokeExact(memory, seqId);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Bytes {@link #stateSeqGetData} writes for sequence {@code seqId}: its cells and their positions ({@code flags}
     * {@link #STATE_SEQ_ALL}), or those of its sliding window only ({@link #STATE_SEQ_PARTIAL_ONLY}).
     */
    public static long stateSeqGetSize(MemorySegment context, int seqId, int flags) {
        try {
            return (long) State.SEQ_GET_SIZE.invokeExact(context, seqId, flags);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Copies sequence {@code seqId}'s cells into {@code dst} ({@code size} bytes); the bytes written, 0 on failure. */
    public static long stateSeqGetData(MemorySegment context, MemorySegment dst, long size, int seqId, int flags) {
        try {
            return (long) State.SEQ_GET_DATA.invokeExact(context, dst, size, seqId, flags);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Loads cells written by {@link #stateSeqGetData} with the same {@code flags} into sequence {@code destSeqId},
     * replacing what that part of its memory held; the bytes read, 0 when they could not be loaded (then that part
     * is left empty).
     */
    public static long stateSeqSetData(MemorySegment context, MemorySegment src, long size, int destSeqId, int flags) {
        try {
            return (long) State.SEQ_SET_DATA.invokeExact(context, src, size, destSeqId, flags);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Positions one sequence may use (the whole context when the cache is unified). */
    public static int nCtxSeq(MemorySegment context) {
        try {
            return (int) N_CTX_SEQ.invokeExact(context);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Most tokens one ubatch holds; a pooled sequence must fit in one. */
    public static int nUbatch(MemorySegment context) {
        try {
            return (int) N_UBATCH.invokeExact(context);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** The context's {@code enum llama_pooling_type}: the one asked for, or the model's own when unspecified. */
    public static int poolingType(MemorySegment context) {
        try {
            return (int) POOLING_TYPE.invokeExact(context);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Length of the model's output embeddings (a pooled vector). */
    public static int modelNEmbdOut(MemorySegment model) {
        try {
            return (int) MODEL_N_EMBD_OUT.invokeExact(model);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * The pooled embedding ({@code n_embd_out} floats) of sequence {@code seqId} after the last decode of a context
     * with embeddings and pooling; NULL when pooling is none or the sequence was not in it.
     */
    public static MemorySegment getEmbeddingsSeq(MemorySegment context, int seqId) {
        try {
            return (MemorySegment) Decoding.GET_EMBEDDINGS_SEQ.invokeExact(context, seqId);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Full length of the prompt, even when larger than {@code length} (then buf is not NUL-terminated); -1 for an unknown template. */
    public static int chatApplyTemplate(
            MemorySegment template,
            MemorySegment messages,
            long count,
            boolean addAssistant,
            MemorySegment buf,
            int length) {
        try {
            return (int) Text.CHAT_APPLY_TEMPLATE.invokeExact(template, messages, count, addAssistant, buf, length);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    private static final MethodHandle ATTACH_THREADPOOL =
            function("llama_attach_threadpool", ofVoid(ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle THREADPOOL_PARAMS_INIT =
            function("ggml_threadpool_params_init", ofVoid(ADDRESS, JAVA_INT));

    /** The CPU backend's own threadpool functions, which it offers by name rather than as exported symbols. */
    private static final class CpuThreadpool {
        static final MethodHandle NEW = cpuFunction("ggml_threadpool_new", of(ADDRESS, ADDRESS));
        static final MethodHandle FREE = cpuFunction("ggml_threadpool_free", ofVoid(ADDRESS));

        private static MethodHandle cpuFunction(String name, java.lang.foreign.FunctionDescriptor descriptor) {
            try {
                var byType = function("ggml_backend_dev_by_type", of(ADDRESS, JAVA_INT));
                var backendReg = function("ggml_backend_dev_backend_reg", of(ADDRESS, ADDRESS));
                var procAddress = function("ggml_backend_reg_get_proc_address", of(ADDRESS, ADDRESS, ADDRESS));
                MemorySegment device = (MemorySegment) byType.invokeExact(0); // GGML_BACKEND_DEVICE_TYPE_CPU
                if (device.equals(MemorySegment.NULL)) return null;
                MemorySegment reg = (MemorySegment) backendReg.invokeExact(device);
                try (var arena = java.lang.foreign.Arena.ofConfined()) {
                    MemorySegment address = (MemorySegment) procAddress.invokeExact(reg, arena.allocateFrom(name));
                    return address.equals(MemorySegment.NULL)
                            ? null
                            : NativeLibrary.linker().downcallHandle(address, descriptor);
                }
            } catch (Throwable e) {
                throw rethrow(e);
            }
        }
    }

    /**
     * A CPU threadpool of {@code threads} threads (the caller's own thread is one of them), whose workers wait for
     * the next graph by spinning at polling level {@code poll} (0–100) before they sleep; NULL when the CPU backend
     * offers none. Free it with {@link #threadpoolFree} after every context using it is freed.
     */
    public static MemorySegment threadpoolNew(int threads, int poll) {
        if (CpuThreadpool.NEW == null || CpuThreadpool.FREE == null) return MemorySegment.NULL;
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment params = arena.allocate(Structs.THREADPOOL_PARAMS);
            THREADPOOL_PARAMS_INIT.invokeExact(params, threads);
            params.set(JAVA_INT, Structs.offset(Structs.THREADPOOL_PARAMS, "poll"), poll);
            return (MemorySegment) CpuThreadpool.NEW.invokeExact(params);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public static void threadpoolFree(MemorySegment threadpool) {
        try {
            CpuThreadpool.FREE.invokeExact(threadpool);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Decodes of {@code context} then run on {@code threadpool} (generation and prompt batches alike). */
    public static void attachThreadpool(MemorySegment context, MemorySegment threadpool) {
        try {
            ATTACH_THREADPOOL.invokeExact(context, threadpool, threadpool);
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /** Downcalls throw nothing checked; anything else is passed on unchanged or wrapped. */
    public static RuntimeException rethrow(Throwable e) {
        if (e instanceof RuntimeException runtime) {
            return runtime;
        }
        if (e instanceof Error error) {
            throw error;
        }
        return new LlamaException("native call failed", e);
    }
}
