package dev.parley.server.engine.llama.ffi;

import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.StructLayout;

/**
 * The C structs of llama.h (release v0.5.0) that Parley passes or reads, byte for byte on x86-64/aarch64 Linux.
 *
 * <p>Every gap the C compiler leaves is an explicit padding layout, the trailing ones too, so that
 * {@code byteSize()} equals {@code sizeof}. C enums and {@code uint32_t} are {@code JAVA_INT}, {@code size_t}
 * is {@code JAVA_LONG}, {@code bool} is {@code JAVA_BOOLEAN}. {@code StructLayoutTest} checks all of this
 * against gcc when the headers are at hand.
 */
public final class Structs {
    private Structs() {}

    public static final StructLayout MODEL_PARAMS = structLayout(
                    ADDRESS.withName("devices"),
                    ADDRESS.withName("tensor_buft_overrides"),
                    JAVA_INT.withName("n_gpu_layers"),
                    JAVA_INT.withName("split_mode"),
                    JAVA_INT.withName("load_mode"),
                    JAVA_INT.withName("lazy_mode"),
                    JAVA_INT.withName("main_gpu"),
                    paddingLayout(4),
                    ADDRESS.withName("tensor_split"),
                    ADDRESS.withName("progress_callback"),
                    ADDRESS.withName("progress_callback_user_data"),
                    ADDRESS.withName("kv_overrides"),
                    JAVA_BOOLEAN.withName("vocab_only"),
                    JAVA_BOOLEAN.withName("check_tensors"),
                    JAVA_BOOLEAN.withName("use_extra_bufts"),
                    JAVA_BOOLEAN.withName("no_host"),
                    JAVA_BOOLEAN.withName("no_alloc"),
                    JAVA_BOOLEAN.withName("load_mtp"),
                    paddingLayout(2))
            .withName("llama_model_params");

    public static final StructLayout CONTEXT_PARAMS = structLayout(
                    JAVA_INT.withName("n_ctx"),
                    JAVA_INT.withName("n_batch"),
                    JAVA_INT.withName("n_ubatch"),
                    JAVA_INT.withName("n_seq_max"),
                    JAVA_INT.withName("n_rs_seq"),
                    JAVA_INT.withName("n_outputs_max"),
                    JAVA_INT.withName("n_outputs_max_per_seq"),
                    JAVA_INT.withName("n_threads"),
                    JAVA_INT.withName("n_threads_batch"),
                    JAVA_INT.withName("ctx_type"),
                    JAVA_INT.withName("rope_scaling_type"),
                    JAVA_INT.withName("pooling_type"),
                    JAVA_INT.withName("attention_type"),
                    JAVA_INT.withName("flash_attn_type"),
                    JAVA_FLOAT.withName("rope_freq_base"),
                    JAVA_FLOAT.withName("rope_freq_scale"),
                    JAVA_FLOAT.withName("yarn_ext_factor"),
                    JAVA_FLOAT.withName("yarn_attn_factor"),
                    JAVA_FLOAT.withName("yarn_beta_fast"),
                    JAVA_FLOAT.withName("yarn_beta_slow"),
                    JAVA_INT.withName("yarn_orig_ctx"),
                    JAVA_FLOAT.withName("defrag_thold"),
                    ADDRESS.withName("cb_eval"),
                    ADDRESS.withName("cb_eval_user_data"),
                    JAVA_INT.withName("type_k"),
                    JAVA_INT.withName("type_v"),
                    ADDRESS.withName("abort_callback"),
                    ADDRESS.withName("abort_callback_data"),
                    JAVA_BOOLEAN.withName("embeddings"),
                    JAVA_BOOLEAN.withName("offload_kqv"),
                    JAVA_BOOLEAN.withName("no_perf"),
                    JAVA_BOOLEAN.withName("op_offload"),
                    JAVA_BOOLEAN.withName("swa_full"),
                    JAVA_BOOLEAN.withName("kv_unified"),
                    paddingLayout(2),
                    ADDRESS.withName("samplers"),
                    JAVA_LONG.withName("n_samplers"),
                    ADDRESS.withName("ctx_other"))
            .withName("llama_context_params");

    public static final StructLayout BATCH = structLayout(
                    JAVA_INT.withName("n_tokens"),
                    paddingLayout(4),
                    ADDRESS.withName("token"),
                    ADDRESS.withName("embd"),
                    ADDRESS.withName("pos"),
                    ADDRESS.withName("n_seq_id"),
                    ADDRESS.withName("seq_id"),
                    ADDRESS.withName("logits"))
            .withName("llama_batch");

    /** ggml.h's {@code ggml_threadpool_params}: a CPU mask of {@code GGML_MAX_N_THREADS} (512) flags first. */
    public static final StructLayout THREADPOOL_PARAMS = structLayout(
                    MemoryLayout.sequenceLayout(512, JAVA_BOOLEAN).withName("cpumask"),
                    JAVA_INT.withName("n_threads"),
                    JAVA_INT.withName("prio"),
                    JAVA_INT.withName("poll"),
                    JAVA_BOOLEAN.withName("strict_cpu"),
                    JAVA_BOOLEAN.withName("paused"),
                    paddingLayout(2))
            .withName("ggml_threadpool_params");

    public static final StructLayout SAMPLER_CHAIN_PARAMS =
            structLayout(JAVA_BOOLEAN.withName("no_perf")).withName("llama_sampler_chain_params");

    public static final StructLayout CHAT_MESSAGE =
            structLayout(ADDRESS.withName("role"), ADDRESS.withName("content")).withName("llama_chat_message");

    public static final StructLayout TOKEN_DATA = structLayout(
                    JAVA_INT.withName("id"), JAVA_FLOAT.withName("logit"), JAVA_FLOAT.withName("p"))
            .withName("llama_token_data");

    public static final StructLayout TOKEN_DATA_ARRAY = structLayout(
                    ADDRESS.withName("data"),
                    JAVA_LONG.withName("size"),
                    JAVA_LONG.withName("selected"),
                    JAVA_BOOLEAN.withName("sorted"),
                    paddingLayout(7))
            .withName("llama_token_data_array");

    public static final StructLayout LOGIT_BIAS = structLayout(JAVA_INT.withName("token"), JAVA_FLOAT.withName("bias"))
            .withName("llama_logit_bias");

    /** Byte offset of a named field, for the plain {@code get}/{@code set} accessors of MemorySegment. */
    public static long offset(StructLayout struct, String field) {
        return struct.byteOffset(PathElement.groupElement(field));
    }

    // Offsets used on hot or frequent paths, computed once.
    public static final long BATCH_N_TOKENS = offset(BATCH, "n_tokens");
    public static final long BATCH_TOKEN = offset(BATCH, "token");
    public static final long BATCH_POS = offset(BATCH, "pos");
    public static final long BATCH_N_SEQ_ID = offset(BATCH, "n_seq_id");
    public static final long BATCH_SEQ_ID = offset(BATCH, "seq_id");
    public static final long BATCH_LOGITS = offset(BATCH, "logits");
}
