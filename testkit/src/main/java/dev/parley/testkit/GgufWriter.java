package dev.parley.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a small GGUF v3 model with random weights in the shape of a real architecture ({@link #llama},
 * {@link #qwen3}, {@link #gemma3}, the hybrids {@link #lfm2} and {@link #qwen35}, or the encoder {@link #bert}), for tests that need llama.cpp to load and run a model of a chosen shape
 * without shipping one.
 *
 * <p>The weights are Gaussian with a standard deviation of 1/√(row length), from a seeded generator: the same
 * settings give the same file, byte for byte. Norms are ones. The vocabulary is either made up on the spot,
 * SentencePiece-style with byte fallback ({@code <unk>}=0, {@code <s>}=1, {@code </s>}=2,
 * {@code <0x00>..<0xFF>}, then text pieces), so llama.cpp tokenizes any text, or copied from a real model's
 * GGUF ({@link #vocabulary}). The output layer favours text pieces over byte and control tokens, so the model
 * generates readable nonsense.
 *
 * <pre>{@code
 * Path model = GgufWriter.llama().dim(64).layers(2).vocabSize(300).type(TensorType.Q8_0).write(dir.resolve("tiny.gguf"));
 * Path qwen3 = GgufWriter.qwen3().vocabulary(qwen2Vocabulary).tiedOutput(true).type(TensorType.Q8_0).write(dir.resolve("q.gguf"));
 * }</pre>
 *
 * <p>Not thread-safe; a builder is used by one thread.
 */
public final class GgufWriter {
    private static final float TEXT_LOGIT_SCALE = 4;
    /** With a tied output, the embedding rows of tokens that are not text are this small: they win no argmax. */
    private static final float TIED_NON_TEXT_SCALE = 0.1f;

    private final Architecture architecture;
    private int dim = 64;
    private int layers = 2;
    private int heads = 4;
    private int kvHeads = 2;
    private int headDim; // 0: dim / heads
    private int ffnDim = 128;
    private int vocabSize = 300;
    private GgufVocabulary vocabulary; // null: a made-up one of vocabSize tokens
    private boolean tiedOutput;
    private int contextLength = 256;
    private float ropeFreqBase;
    private int slidingWindow; // gemma3 only
    private int slidingWindowPattern = 2; // gemma3 only; 0: the key left out
    private int attentionEvery = 2; // lfm2 only
    private static final int SHORT_CONV_CACHE = 3; // lfm2's shortconv.l_cache, as in every LFM2 release
    // qwen35's linear attention (a gated delta net), at Qwen 3.5's proportions: value heads twice the key heads.
    private static final int DELTA_HEAD = 16; // ssm.state_size: the size of a key and of a value head
    private static final int DELTA_KEY_HEADS = 2; // ssm.group_count
    private static final int DELTA_VALUE_HEADS = 4; // ssm.time_step_rank
    private static final int DELTA_CONV_KERNEL = 4; // ssm.conv_kernel
    private TensorType type = TensorType.F32;
    private long seed = 1;
    private String chatTemplate;
    private Integer poolingType; // null: no <arch>.pooling_type key
    private String name;
    private final Map<Integer, Integer> successors = new LinkedHashMap<>();

    private GgufWriter(Architecture architecture) {
        this.architecture = architecture;
        this.ropeFreqBase = architecture.ropeFreqBase;
        this.name = "parley-testkit-" + architecture.id;
    }

    /**
     * A {@code llama} model (Llama 2 and 3, SmolLM, TinyLlama, Mistral 7B): 64-dim, 2-layer, 4-head (2 KV heads),
     * 128-FFN, 300-token, 256-context F32, RoPE base 10000, seed 1, no template.
     */
    public static GgufWriter llama() {
        return new GgufWriter(Architecture.LLAMA);
    }

    /**
     * A {@code qwen3} model: the llama shape plus per-head RMS norms of queries and keys
     * ({@code attn_q_norm}, {@code attn_k_norm}), NeoX RoPE with base 1000000. Same defaults as {@link #llama}.
     */
    public static GgufWriter qwen3() {
        return new GgufWriter(Architecture.QWEN3);
    }

    /**
     * A {@code gemma3} model: the qwen3 shape plus norms after attention and after the feed-forward
     * ({@code post_attention_norm}, {@code post_ffw_norm}); llama.cpp adds GELU and scales the embeddings by
     * √dim. Every other layer, starting with the first, attends over a sliding window ({@link #slidingWindow},
     * default 64, RoPE base 10000), the others over the whole context (base 1000000). Same defaults as
     * {@link #llama} otherwise. Gemma 3 ties its output layer to the embeddings ({@link #tiedOutput}), and
     * llama.cpp releases that do not read the layer pattern assume one global layer in six: give a model
     * for them at least six layers.
     */
    public static GgufWriter gemma3() {
        return new GgufWriter(Architecture.GEMMA3).slidingWindow(64);
    }

    /**
     * A {@code lfm2} model (Liquid's LFM2): a hybrid whose layers are either attention (the qwen3 shape) or gated
     * short convolutions, whose state llama.cpp keeps per sequence as recurrent state: it cannot be cut back to an
     * earlier token, as a transformer's cells can. Layer i attends when i % {@link #attentionEvery} is the last
     * of the period (default 2: layers 1, 3, …); the others convolve over the last 3 tokens. NeoX RoPE, base
     * 1000000. Same defaults as {@link #llama} otherwise.
     */
    public static GgufWriter lfm2() {
        return new GgufWriter(Architecture.LFM2);
    }

    /**
     * A {@code qwen35} model (Qwen 3.5, and its shape for Qwen3-Next): a hybrid whose every {@link #attentionEvery}-th
     * layer (default 4, as Qwen 3.5) attends, with gated queries and per-head norms, and whose others are linear
     * attention (a gated delta net) whose state llama.cpp keeps per sequence as recurrent state. Norms after attention
     * instead of before the feed-forward, interleaved multi-section RoPE with base 10000000. Same defaults as {@link
     * #llama} otherwise; give it at least {@code attentionEvery} layers.
     */
    public static GgufWriter qwen35() {
        return new GgufWriter(Architecture.QWEN35).attentionEvery(4);
    }

    /**
     * A {@code bert} encoder (BERT, BGE, MiniLM): learned position embeddings (so no input goes beyond {@link
     * #contextLength}), token-type embeddings, LayerNorms with biases after attention and after the GELU
     * feed-forward, biases on every matrix, bidirectional attention ({@code bert.attention.causal} false), no
     * output layer, pooled by its {@code [CLS]} token ({@link #poolingType} 2, as BGE). llama.cpp keeps no KV
     * cache for it and only embeds with it. 4 KV heads (one per head); other defaults as {@link #llama}.
     */
    public static GgufWriter bert() {
        return new GgufWriter(Architecture.BERT).kvHeads(4).poolingType(2);
    }

    public GgufWriter dim(int dim) {
        this.dim = dim;
        return this;
    }

    public GgufWriter layers(int layers) {
        this.layers = layers;
        return this;
    }

    public GgufWriter heads(int heads) {
        this.heads = heads;
        return this;
    }

    public GgufWriter kvHeads(int kvHeads) {
        this.kvHeads = kvHeads;
        return this;
    }

    /**
     * Size of one attention head (key and value); by default dim / heads. Qwen 3 and Gemma 3 models often
     * have heads × headDim ≠ dim.
     */
    public GgufWriter headDim(int headDim) {
        this.headDim = headDim;
        return this;
    }

    public GgufWriter ffnDim(int ffnDim) {
        this.ffnDim = ffnDim;
        return this;
    }

    /** Size of the made-up vocabulary; at least 259: three special tokens and 256 byte tokens. */
    public GgufWriter vocabSize(int vocabSize) {
        this.vocabSize = vocabSize;
        return this;
    }

    /**
     * Takes the tokenizer of a real model instead of a made-up one: every {@code tokenizer.*} key/value is
     * copied, the vocabulary size follows it, and its chat template is kept unless {@link #chatTemplate}
     * gives another.
     */
    public GgufWriter vocabulary(GgufVocabulary vocabulary) {
        this.vocabulary = vocabulary;
        return this;
    }

    /**
     * Writes no {@code output.weight}: llama.cpp then uses the token embeddings as the output layer, as
     * small Llama 3.2, Qwen 3 and Gemma 3 models do. Halves the size of a model with a large vocabulary.
     * Incompatible with {@link #successor}.
     */
    public GgufWriter tiedOutput(boolean tiedOutput) {
        this.tiedOutput = tiedOutput;
        return this;
    }

    public GgufWriter contextLength(int contextLength) {
        this.contextLength = contextLength;
        return this;
    }

    /** {@code rope.freq_base}: 500000 for Llama 3; the default is the architecture's. */
    public GgufWriter ropeFreqBase(float ropeFreqBase) {
        this.ropeFreqBase = ropeFreqBase;
        return this;
    }

    /** Tokens a sliding-window layer of a {@link #gemma3} model attends over. */
    public GgufWriter slidingWindow(int slidingWindow) {
        this.slidingWindow = slidingWindow;
        return this;
    }

    /**
     * Which layers of a {@link #gemma3} model slide: all but the last of every {@code n} (default 2: every other
     * one, from the first); 0 leaves {@code sliding_window_pattern} out of the file, as Gemma 3's own GGUFs do, and
     * llama.cpp then assumes 6.
     */
    public GgufWriter slidingWindowPattern(int n) {
        this.slidingWindowPattern = n;
        return this;
    }

    /** Which layers of a {@link #lfm2} or {@link #qwen35} model attend: the last of every {@code n} (1: all of them). */
    public GgufWriter attentionEvery(int n) {
        this.attentionEvery = n;
        return this;
    }

    /** Storage type of the matrices; Q8_0 needs dim and ffnDim to be multiples of 32. */
    public GgufWriter type(TensorType type) {
        this.type = type;
        return this;
    }

    public GgufWriter seed(long seed) {
        this.seed = seed;
        return this;
    }

    /** Stored as {@code tokenizer.chat_template}; null (the default) writes none. */
    public GgufWriter chatTemplate(String chatTemplate) {
        this.chatTemplate = chatTemplate;
        return this;
    }

    /**
     * Makes the model a bigram model that, after {@code token}, writes {@code next} (with logits far above
     * every other token's): attention and feed-forward outputs become zero, so the next token depends on
     * the last one only, and {@code next}'s output row becomes {@code token}'s embedding, scaled (summed
     * over its predecessors, so give a token few of them). Tokens
     * without a successor are followed by random text pieces as usual. Chains such as the byte tokens of
     * an emoji ({@link #byteToken}) make a model whose output is known in advance.
     */
    public GgufWriter successor(int token, int next) {
        successors.put(token, next);
        return this;
    }

    /** The id of the byte-fallback token for {@code value} (0–255) in the made-up vocabulary. */
    public static int byteToken(int value) {
        if (value < 0 || value > 255) throw new IllegalArgumentException("a byte is 0..255, got " + value);
        return SpmVocabulary.MIN_SIZE - 256 + value;
    }

    /**
     * Stored as {@code <arch>.pooling_type} (llama.cpp's {@code enum llama_pooling_type}: 0 none, 1 mean, 2 cls,
     * 3 last, 4 rank), which makes the model an embedding model, pooled that way; null (the default) writes none.
     */
    public GgufWriter poolingType(Integer poolingType) {
        this.poolingType = poolingType;
        return this;
    }

    public GgufWriter name(String name) {
        this.name = name;
        return this;
    }

    /**
     * Writes the model to {@code file}, replacing it.
     *
     * @return {@code file}
     * @throws IllegalArgumentException when the shape is inconsistent
     */
    public Path write(Path file) {
        check();
        Vocabulary vocabulary = this.vocabulary != null ? this.vocabulary : SpmVocabulary.of(vocabSize);
        int headDim = this.headDim != 0 ? this.headDim : dim / heads;
        GgufFile gguf = metadata(vocabulary, headDim);
        // One generator for the whole file, drawn in tensor order: the file depends only on the settings.
        SplittableRandom random = new SplittableRandom(seed);
        int tokens = vocabulary.size();
        float[][] embeddings = new float[1][]; // kept only for successors, which copy embedding rows
        gguf.tensor(
                "token_embd.weight",
                type,
                () -> {
                    float[] values = gaussian(random, dim, tokens);
                    if (!successors.isEmpty()) embeddings[0] = values;
                    return tiedOutput ? tiedRows(values, vocabulary) : values;
                },
                dim,
                tokens);
        if (architecture == Architecture.BERT) {
            gguf.tensor("token_types.weight", TensorType.F32, () -> gaussian(random, dim, 2), dim, 2);
            gguf.tensor(
                    "position_embd.weight",
                    TensorType.F32,
                    () -> gaussian(random, dim, contextLength),
                    dim,
                    contextLength);
            gguf.tensor("token_embd_norm.weight", TensorType.F32, () -> ones(dim), dim);
            gguf.tensor("token_embd_norm.bias", TensorType.F32, () -> new float[dim], dim);
        } else {
            // LFM2's converter names its final norm token_embd_norm, and llama.cpp reads it by that name.
            String outputNorm = architecture == Architecture.LFM2 ? "token_embd_norm.weight" : "output_norm.weight";
            gguf.tensor(outputNorm, TensorType.F32, () -> ones(dim), dim);
        }
        if (!tiedOutput && architecture != Architecture.BERT) {
            gguf.tensor(
                    "output.weight",
                    type,
                    () -> withSuccessors(readableOutput(gaussian(random, dim, tokens), vocabulary), embeddings[0]),
                    dim,
                    tokens);
        }
        for (int i = 0; i < layers; i++) {
            if (architecture == Architecture.BERT) encoderBlock(gguf, random, "blk." + i + ".", headDim);
            else if (architecture == Architecture.LFM2 && !attends(i)) convolutionBlock(gguf, random, "blk." + i + ".");
            else if (architecture == Architecture.QWEN35)
                qwen35Block(gguf, random, "blk." + i + ".", headDim, attends(i));
            else block(gguf, random, "blk." + i + ".", headDim);
        }
        try {
            gguf.write(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
        return file;
    }

    /** The header: the keys llama.cpp reads for the architecture, then the tokenizer's. */
    private GgufFile metadata(Vocabulary vocabulary, int headDim) {
        String arch = architecture.id;
        GgufFile gguf = new GgufFile()
                .string("general.architecture", arch)
                .string("general.name", name)
                .uint32("general.file_type", type.fileType())
                .uint32(arch + ".context_length", contextLength)
                .uint32(arch + ".embedding_length", dim)
                .uint32(arch + ".feed_forward_length", ffnDim)
                .uint32(arch + ".block_count", layers)
                .uint32(arch + ".attention.head_count", heads);
        if (architecture == Architecture.LFM2) {
            // One count per layer, as LFM2's GGUFs store it: 0 marks a convolution layer.
            int[] perLayer = new int[layers];
            for (int i = 0; i < layers; i++) perLayer[i] = attends(i) ? kvHeads : 0;
            gguf.int32s(arch + ".attention.head_count_kv", perLayer)
                    .uint32(arch + ".shortconv.l_cache", SHORT_CONV_CACHE);
        } else {
            gguf.uint32(arch + ".attention.head_count_kv", kvHeads);
        }
        gguf.uint32(arch + ".attention.key_length", headDim)
                .uint32(arch + ".attention.value_length", headDim)
                .uint32(arch + ".rope.dimension_count", headDim)
                .float32(arch + ".rope.freq_base", ropeFreqBase);
        if (architecture == Architecture.BERT) {
            gguf.float32(arch + ".attention.layer_norm_epsilon", architecture.normEpsilon)
                    .bool(arch + ".attention.causal", false)
                    .uint32("tokenizer.ggml.token_type_count", 2);
        } else {
            gguf.float32(arch + ".attention.layer_norm_rms_epsilon", architecture.normEpsilon);
        }
        if (architecture == Architecture.GEMMA3) {
            // Pattern 2 (the default): layers 0, 2, 4, … slide, 1, 3, 5, … attend globally.
            gguf.uint32(arch + ".attention.sliding_window", slidingWindow)
                    .float32(arch + ".rope.freq_base_swa", 10_000f);
            if (slidingWindowPattern > 0) gguf.uint32(arch + ".attention.sliding_window_pattern", slidingWindowPattern);
        }
        if (architecture == Architecture.QWEN35) {
            int pairs = headDim / 2; // rotated in three sections (time, height, width) of a text's one position
            gguf.int32s(arch + ".rope.dimension_sections", new int[] {pairs - 2 * (pairs / 3), pairs / 3, pairs / 3, 0})
                    .uint32(arch + ".full_attention_interval", attentionEvery)
                    .uint32(arch + ".ssm.conv_kernel", DELTA_CONV_KERNEL)
                    .uint32(arch + ".ssm.state_size", DELTA_HEAD)
                    .uint32(arch + ".ssm.group_count", DELTA_KEY_HEADS)
                    .uint32(arch + ".ssm.time_step_rank", DELTA_VALUE_HEADS)
                    .uint32(arch + ".ssm.inner_size", DELTA_HEAD * DELTA_VALUE_HEADS);
        }
        if (poolingType != null) gguf.uint32(arch + ".pooling_type", poolingType);
        gguf.uint32(arch + ".vocab_size", vocabulary.size());
        vocabulary.writeTo(gguf, chatTemplate == null);
        if (chatTemplate != null) {
            gguf.string(Vocabulary.CHAT_TEMPLATE, chatTemplate);
        }
        return gguf;
    }

    /** One transformer block's tensors, named as llama.cpp's loader asks for them for the architecture. */
    private void block(GgufFile gguf, SplittableRandom random, String block, int headDim) {
        int qDim = headDim * heads;
        int kvDim = headDim * kvHeads;
        gguf.tensor(block + "attn_norm.weight", TensorType.F32, () -> ones(dim), dim);
        gguf.tensor(block + "attn_q.weight", type, () -> gaussian(random, dim, qDim), dim, qDim);
        gguf.tensor(block + "attn_k.weight", type, () -> gaussian(random, dim, kvDim), dim, kvDim);
        gguf.tensor(block + "attn_v.weight", type, () -> gaussian(random, dim, kvDim), dim, kvDim);
        if (architecture != Architecture.LLAMA) {
            gguf.tensor(block + "attn_q_norm.weight", TensorType.F32, () -> ones(headDim), headDim);
            gguf.tensor(block + "attn_k_norm.weight", TensorType.F32, () -> ones(headDim), headDim);
        }
        gguf.tensor(block + "attn_output.weight", type, () -> silenced(gaussian(random, qDim, dim)), qDim, dim);
        if (architecture == Architecture.GEMMA3) {
            gguf.tensor(block + "post_attention_norm.weight", TensorType.F32, () -> ones(dim), dim);
        }
        gguf.tensor(block + "ffn_norm.weight", TensorType.F32, () -> ones(dim), dim);
        gguf.tensor(block + "ffn_gate.weight", type, () -> gaussian(random, dim, ffnDim), dim, ffnDim);
        gguf.tensor(block + "ffn_up.weight", type, () -> gaussian(random, dim, ffnDim), dim, ffnDim);
        gguf.tensor(block + "ffn_down.weight", type, () -> silenced(gaussian(random, ffnDim, dim)), ffnDim, dim);
        if (architecture == Architecture.GEMMA3) {
            gguf.tensor(block + "post_ffw_norm.weight", TensorType.F32, () -> ones(dim), dim);
        }
    }

    /** Whether layer {@code i} of a {@link #lfm2} model attends rather than convolves. */
    private boolean attends(int i) {
        return i % attentionEvery == attentionEvery - 1;
    }

    /** One of LFM2's short-convolution blocks: a gated convolution over the last tokens, then the feed-forward. */
    private void convolutionBlock(GgufFile gguf, SplittableRandom random, String block) {
        gguf.tensor(block + "attn_norm.weight", TensorType.F32, () -> ones(dim), dim);
        gguf.tensor(
                block + "shortconv.conv.weight",
                TensorType.F32,
                () -> gaussian(random, SHORT_CONV_CACHE, dim),
                SHORT_CONV_CACHE,
                dim);
        gguf.tensor(block + "shortconv.in_proj.weight", type, () -> gaussian(random, dim, 3 * dim), dim, 3 * dim);
        gguf.tensor(block + "shortconv.out_proj.weight", type, () -> silenced(gaussian(random, dim, dim)), dim, dim);
        gguf.tensor(block + "ffn_norm.weight", TensorType.F32, () -> ones(dim), dim);
        gguf.tensor(block + "ffn_gate.weight", type, () -> gaussian(random, dim, ffnDim), dim, ffnDim);
        gguf.tensor(block + "ffn_up.weight", type, () -> gaussian(random, dim, ffnDim), dim, ffnDim);
        gguf.tensor(block + "ffn_down.weight", type, () -> silenced(gaussian(random, ffnDim, dim)), ffnDim, dim);
    }

    /**
     * One of Qwen 3.5's blocks: gated attention (queries twice as wide, their second half a gate) or the gated delta
     * net, each followed by the feed-forward after a norm of its own ({@code post_attention_norm}).
     */
    private void qwen35Block(GgufFile gguf, SplittableRandom random, String block, int headDim, boolean attends) {
        gguf.tensor(block + "attn_norm.weight", TensorType.F32, () -> ones(dim), dim);
        if (attends) {
            int qDim = headDim * heads;
            int kvDim = headDim * kvHeads;
            gguf.tensor(block + "attn_q.weight", type, () -> gaussian(random, dim, 2 * qDim), dim, 2 * qDim);
            gguf.tensor(block + "attn_k.weight", type, () -> gaussian(random, dim, kvDim), dim, kvDim);
            gguf.tensor(block + "attn_v.weight", type, () -> gaussian(random, dim, kvDim), dim, kvDim);
            gguf.tensor(block + "attn_q_norm.weight", TensorType.F32, () -> ones(headDim), headDim);
            gguf.tensor(block + "attn_k_norm.weight", TensorType.F32, () -> ones(headDim), headDim);
            gguf.tensor(block + "attn_output.weight", type, () -> silenced(gaussian(random, qDim, dim)), qDim, dim);
        } else {
            int keyDim = DELTA_HEAD * DELTA_KEY_HEADS;
            int valueDim = DELTA_HEAD * DELTA_VALUE_HEADS;
            int convDim = 2 * keyDim + valueDim;
            gguf.tensor(block + "attn_qkv.weight", type, () -> gaussian(random, dim, convDim), dim, convDim);
            gguf.tensor(block + "attn_gate.weight", type, () -> gaussian(random, dim, valueDim), dim, valueDim);
            gguf.tensor(
                    block + "ssm_conv1d.weight",
                    TensorType.F32,
                    () -> gaussian(random, DELTA_CONV_KERNEL, convDim),
                    DELTA_CONV_KERNEL,
                    convDim);
            gguf.tensor(block + "ssm_dt.bias", TensorType.F32, () -> new float[DELTA_VALUE_HEADS], DELTA_VALUE_HEADS);
            // -exp(A_log), as converters store it: each head's state decays by a factor in (0, 1) per token.
            gguf.tensor(block + "ssm_a", TensorType.F32, () -> filled(DELTA_VALUE_HEADS, -1f), DELTA_VALUE_HEADS);
            gguf.tensor(
                    block + "ssm_beta.weight",
                    TensorType.F32,
                    () -> gaussian(random, dim, DELTA_VALUE_HEADS),
                    dim,
                    DELTA_VALUE_HEADS);
            gguf.tensor(
                    block + "ssm_alpha.weight",
                    TensorType.F32,
                    () -> gaussian(random, dim, DELTA_VALUE_HEADS),
                    dim,
                    DELTA_VALUE_HEADS);
            gguf.tensor(block + "ssm_norm.weight", TensorType.F32, () -> ones(DELTA_HEAD), DELTA_HEAD);
            gguf.tensor(block + "ssm_out.weight", type, () -> silenced(gaussian(random, valueDim, dim)), valueDim, dim);
        }
        gguf.tensor(block + "post_attention_norm.weight", TensorType.F32, () -> ones(dim), dim);
        gguf.tensor(block + "ffn_gate.weight", type, () -> gaussian(random, dim, ffnDim), dim, ffnDim);
        gguf.tensor(block + "ffn_up.weight", type, () -> gaussian(random, dim, ffnDim), dim, ffnDim);
        gguf.tensor(block + "ffn_down.weight", type, () -> silenced(gaussian(random, ffnDim, dim)), ffnDim, dim);
    }

    /** One encoder block's tensors, as llama.cpp's {@code bert} loader asks for them: every matrix with its bias. */
    private void encoderBlock(GgufFile gguf, SplittableRandom random, String block, int headDim) {
        int qDim = headDim * heads;
        int kvDim = headDim * kvHeads;
        gguf.tensor(block + "attn_q.weight", type, () -> gaussian(random, dim, qDim), dim, qDim);
        gguf.tensor(block + "attn_q.bias", TensorType.F32, () -> new float[qDim], qDim);
        gguf.tensor(block + "attn_k.weight", type, () -> gaussian(random, dim, kvDim), dim, kvDim);
        gguf.tensor(block + "attn_k.bias", TensorType.F32, () -> new float[kvDim], kvDim);
        gguf.tensor(block + "attn_v.weight", type, () -> gaussian(random, dim, kvDim), dim, kvDim);
        gguf.tensor(block + "attn_v.bias", TensorType.F32, () -> new float[kvDim], kvDim);
        gguf.tensor(block + "attn_output.weight", type, () -> gaussian(random, qDim, dim), qDim, dim);
        gguf.tensor(block + "attn_output.bias", TensorType.F32, () -> new float[dim], dim);
        gguf.tensor(block + "attn_output_norm.weight", TensorType.F32, () -> ones(dim), dim);
        gguf.tensor(block + "attn_output_norm.bias", TensorType.F32, () -> new float[dim], dim);
        gguf.tensor(block + "ffn_up.weight", type, () -> gaussian(random, dim, ffnDim), dim, ffnDim);
        gguf.tensor(block + "ffn_up.bias", TensorType.F32, () -> new float[ffnDim], ffnDim);
        gguf.tensor(block + "ffn_down.weight", type, () -> gaussian(random, ffnDim, dim), ffnDim, dim);
        gguf.tensor(block + "ffn_down.bias", TensorType.F32, () -> new float[dim], dim);
        gguf.tensor(block + "layer_output_norm.weight", TensorType.F32, () -> ones(dim), dim);
        gguf.tensor(block + "layer_output_norm.bias", TensorType.F32, () -> new float[dim], dim);
    }

    private void check() {
        int vocabSize = vocabulary != null ? vocabulary.size() : this.vocabSize;
        require(
                dim > 0 && layers > 0 && heads > 0 && kvHeads > 0 && headDim >= 0 && ffnDim > 0 && contextLength > 0,
                "every dimension must be positive");
        require(headDim != 0 || dim % heads == 0, "dim %d is not a multiple of heads %d", dim, heads);
        require(heads % kvHeads == 0, "heads %d is not a multiple of kvHeads %d", heads, kvHeads);
        int head = headDim != 0 ? headDim : dim / heads;
        require(head % 2 == 0, "head size %d must be even for RoPE", head);
        require(
                vocabulary != null || vocabSize >= SpmVocabulary.MIN_SIZE,
                "vocabSize must be >= %d, got %d",
                SpmVocabulary.MIN_SIZE,
                vocabSize);
        require(type != null, "type must not be null");
        require(poolingType == null || poolingType >= 0 && poolingType <= 4, "poolingType must be 0..4");
        require(successors.isEmpty() || !tiedOutput, "successors need an output layer of their own, not a tied one");
        successors.forEach((token, next) -> require(
                token >= 0 && token < vocabSize && next >= 0 && next < vocabSize,
                "successor %d -> %d is outside the vocabulary of %d",
                token,
                next,
                vocabSize));
        require(
                type != TensorType.Q8_0 || (dim % 32 == 0 && ffnDim % 32 == 0 && head * heads % 32 == 0),
                "Q8_0 needs dim, ffnDim and heads × head size to be multiples of 32, got %d, %d and %d",
                dim,
                ffnDim,
                head * heads);
        require(architecture == Architecture.GEMMA3 || slidingWindow == 0, "only gemma3 models have a sliding window");
        require(
                architecture != Architecture.LFM2 && architecture != Architecture.QWEN35
                        || attentionEvery > 0 && attentionEvery <= layers,
                "attentionEvery must be 1..layers, got %d",
                attentionEvery);
        require(
                architecture != Architecture.BERT || successors.isEmpty() && !tiedOutput,
                "a bert model has no output layer: no successors, nothing to tie");
        require(
                architecture != Architecture.GEMMA3 || slidingWindow > 0 && slidingWindow < contextLength,
                "the sliding window must be shorter than the context, got %d and %d",
                slidingWindow,
                contextLength);
    }

    private static void require(boolean condition, String format, Object... args) {
        if (!condition) {
            throw new IllegalArgumentException(format.formatted(args));
        }
    }

    /** A rows × rowLength matrix, row-major, N(0, 1/rowLength). */
    private static float[] gaussian(SplittableRandom random, int rowLength, int rows) {
        float[] values = new float[Math.multiplyExact(rowLength, rows)];
        double std = 1 / Math.sqrt(rowLength);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * std);
        }
        return values;
    }

    /**
     * Scales the output rows so that generation reads as text: text pieces get large logits, byte and
     * control tokens none (a lone byte token would be half a character), the end-of-text token its random
     * ones. The model then writes nonsense of text pieces and rarely ends by itself.
     */
    private float[] readableOutput(float[] weights, Vocabulary vocabulary) {
        for (int token = 0; token < vocabulary.size(); token++) {
            boolean text = vocabulary.tokenType(token) == Vocabulary.NORMAL;
            float scale = text ? TEXT_LOGIT_SCALE : token == vocabulary.eos() ? 1 : 0;
            for (int i = token * dim; i < (token + 1) * dim; i++) {
                weights[i] *= scale;
            }
        }
        return weights;
    }

    /**
     * As {@link #readableOutput} for a tied output, where the same rows are also the input embeddings: those
     * of tokens that are not text are scaled down, not zeroed, so that a prompt of them still means something.
     */
    private float[] tiedRows(float[] embeddings, Vocabulary vocabulary) {
        for (int token = 0; token < vocabulary.size(); token++) {
            if (vocabulary.tokenType(token) == Vocabulary.NORMAL) continue;
            for (int i = token * dim; i < (token + 1) * dim; i++) {
                embeddings[i] *= TIED_NON_TEXT_SCALE;
            }
        }
        return embeddings;
    }

    /** Zeroes a block's output for a bigram model (still drawn, so the other tensors stay the same). */
    private float[] silenced(float[] weights) {
        if (!successors.isEmpty()) java.util.Arrays.fill(weights, 0f);
        return weights;
    }

    /**
     * With the blocks silenced, the final hidden state is the last token's embedding e, RMS-normalised; the
     * row scaled × e then scores scale × √dim, far above any random row (about 4 at most ±4σ).
     */
    private float[] withSuccessors(float[] weights, float[] embeddings) {
        float scale = 16;
        successors.values().stream()
                .distinct()
                .forEach(next -> java.util.Arrays.fill(weights, next * dim, (next + 1) * dim, 0f));
        // A token that follows several others gets the sum of their embeddings: each still scores about
        // scale × √dim against its own, plus noise of about scale per other predecessor. Keep them few.
        successors.forEach((token, next) -> {
            for (int i = 0; i < dim; i++) weights[next * dim + i] += scale * embeddings[token * dim + i];
        });
        return weights;
    }

    /** What llama.cpp calls the architecture, and its customary defaults. */
    private enum Architecture {
        LLAMA("llama", 10_000f, 1e-5f),
        QWEN3("qwen3", 1_000_000f, 1e-6f),
        GEMMA3("gemma3", 1_000_000f, 1e-6f),
        LFM2("lfm2", 1_000_000f, 1e-5f),
        QWEN35("qwen35", 10_000_000f, 1e-6f),
        BERT("bert", 10_000f, 1e-12f);

        final String id;
        final float ropeFreqBase;
        final float normEpsilon;

        Architecture(String id, float ropeFreqBase, float normEpsilon) {
            this.id = id;
            this.ropeFreqBase = ropeFreqBase;
            this.normEpsilon = normEpsilon;
        }
    }

    private static float[] ones(int n) {
        return filled(n, 1f);
    }

    private static float[] filled(int n, float value) {
        float[] values = new float[n];
        java.util.Arrays.fill(values, value);
        return values;
    }
}
