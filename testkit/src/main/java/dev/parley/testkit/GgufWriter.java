package dev.parley.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a small llama-architecture GGUF v3 model with random weights, for tests that need llama.cpp to
 * load and run a model of a chosen shape without shipping one.
 *
 * <p>The weights are Gaussian with a standard deviation of 1/√(row length), from a seeded generator: the same
 * settings give the same file, byte for byte. Norms are ones. The vocabulary is SentencePiece-style with
 * byte fallback ({@code <unk>}=0, {@code <s>}=1, {@code </s>}=2, {@code <0x00>..<0xFF>}, then text pieces),
 * so llama.cpp tokenizes any text. The output layer favours text pieces over byte tokens, so the model
 * generates readable ASCII nonsense.
 *
 * <pre>{@code
 * Path model = GgufWriter.llama().dim(64).layers(2).vocabSize(300).type(TensorType.Q8_0).write(dir.resolve("tiny.gguf"));
 * }</pre>
 *
 * <p>Not thread-safe; a builder is used by one thread.
 */
public final class GgufWriter {
    private static final float TEXT_LOGIT_SCALE = 4;

    private int dim = 64;
    private int layers = 2;
    private int heads = 4;
    private int kvHeads = 2;
    private int ffnDim = 128;
    private int vocabSize = 300;
    private int contextLength = 256;
    private TensorType type = TensorType.F32;
    private long seed = 1;
    private String chatTemplate;
    private String name = "parley-testkit-llama";
    private final Map<Integer, Integer> successors = new LinkedHashMap<>();

    private GgufWriter() {}

    /** A 64-dim, 2-layer, 4-head (2 KV heads), 128-FFN, 300-token, 256-context F32 model, seed 1, no template. */
    public static GgufWriter llama() {
        return new GgufWriter();
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

    public GgufWriter ffnDim(int ffnDim) {
        this.ffnDim = ffnDim;
        return this;
    }

    /** At least 259: three special tokens and 256 byte tokens. */
    public GgufWriter vocabSize(int vocabSize) {
        this.vocabSize = vocabSize;
        return this;
    }

    public GgufWriter contextLength(int contextLength) {
        this.contextLength = contextLength;
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

    /** The id of the byte-fallback token for {@code value} (0–255) in the written vocabulary. */
    public static int byteToken(int value) {
        if (value < 0 || value > 255) throw new IllegalArgumentException("a byte is 0..255, got " + value);
        return SpmVocabulary.MIN_SIZE - 256 + value;
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
        int headDim = dim / heads;
        int kvDim = headDim * kvHeads;
        SpmVocabulary vocabulary = SpmVocabulary.of(vocabSize);
        GgufFile gguf = new GgufFile()
                .string("general.architecture", "llama")
                .string("general.name", name)
                .uint32("general.file_type", type.fileType())
                .uint32("llama.context_length", contextLength)
                .uint32("llama.embedding_length", dim)
                .uint32("llama.feed_forward_length", ffnDim)
                .uint32("llama.block_count", layers)
                .uint32("llama.attention.head_count", heads)
                .uint32("llama.attention.head_count_kv", kvHeads)
                .uint32("llama.rope.dimension_count", headDim)
                .float32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .uint32("llama.vocab_size", vocabSize)
                .string("tokenizer.ggml.model", "llama")
                .strings("tokenizer.ggml.tokens", vocabulary.tokens())
                .float32s("tokenizer.ggml.scores", vocabulary.scores())
                .int32s("tokenizer.ggml.token_type", vocabulary.types())
                .uint32("tokenizer.ggml.unknown_token_id", SpmVocabulary.UNKNOWN)
                .uint32("tokenizer.ggml.bos_token_id", SpmVocabulary.BOS)
                .uint32("tokenizer.ggml.eos_token_id", SpmVocabulary.EOS)
                .bool("tokenizer.ggml.add_bos_token", true)
                .bool("tokenizer.ggml.add_eos_token", false);
        if (chatTemplate != null) {
            gguf.string("tokenizer.chat_template", chatTemplate);
        }
        // One generator for the whole file, drawn in tensor order: the file depends only on the settings.
        SplittableRandom random = new SplittableRandom(seed);
        float[][] embeddings = new float[1][]; // kept only for successors, which copy embedding rows
        gguf.tensor("token_embd.weight", type, () -> {
            float[] values = gaussian(random, dim, vocabSize);
            if (!successors.isEmpty()) embeddings[0] = values;
            return values;
        }, dim, vocabSize);
        gguf.tensor("output_norm.weight", TensorType.F32, () -> ones(dim), dim);
        gguf.tensor("output.weight", type, () -> withSuccessors(readableOutput(gaussian(random, dim, vocabSize)), embeddings[0]),
                dim, vocabSize);
        for (int i = 0; i < layers; i++) {
            String block = "blk." + i + ".";
            gguf.tensor(block + "attn_norm.weight", TensorType.F32, () -> ones(dim), dim);
            gguf.tensor(block + "attn_q.weight", type, () -> gaussian(random, dim, dim), dim, dim);
            gguf.tensor(block + "attn_k.weight", type, () -> gaussian(random, dim, kvDim), dim, kvDim);
            gguf.tensor(block + "attn_v.weight", type, () -> gaussian(random, dim, kvDim), dim, kvDim);
            gguf.tensor(block + "attn_output.weight", type, () -> silenced(gaussian(random, dim, dim)), dim, dim);
            gguf.tensor(block + "ffn_norm.weight", TensorType.F32, () -> ones(dim), dim);
            gguf.tensor(block + "ffn_gate.weight", type, () -> gaussian(random, dim, ffnDim), dim, ffnDim);
            gguf.tensor(block + "ffn_up.weight", type, () -> gaussian(random, dim, ffnDim), dim, ffnDim);
            gguf.tensor(block + "ffn_down.weight", type, () -> silenced(gaussian(random, ffnDim, dim)), ffnDim, dim);
        }
        try {
            gguf.write(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
        return file;
    }

    private void check() {
        require(dim > 0 && layers > 0 && heads > 0 && kvHeads > 0 && ffnDim > 0 && contextLength > 0,
                "every dimension must be positive");
        require(dim % heads == 0, "dim %d is not a multiple of heads %d", dim, heads);
        require(heads % kvHeads == 0, "heads %d is not a multiple of kvHeads %d", heads, kvHeads);
        require((dim / heads) % 2 == 0, "head size %d must be even for RoPE", dim / heads);
        require(vocabSize >= SpmVocabulary.MIN_SIZE, "vocabSize must be >= %d, got %d", SpmVocabulary.MIN_SIZE, vocabSize);
        require(type != null, "type must not be null");
        successors.forEach((token, next) -> require(token >= 0 && token < vocabSize && next >= 0 && next < vocabSize,
                "successor %d -> %d is outside the vocabulary of %d", token, next, vocabSize));
        require(type != TensorType.Q8_0 || (dim % 32 == 0 && ffnDim % 32 == 0),
                "Q8_0 needs dim and ffnDim to be multiples of 32, got %d and %d", dim, ffnDim);
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
     * control tokens none (a lone byte token would be half a character), {@code </s>} its random ones. The
     * model then writes ASCII nonsense and rarely ends by itself.
     */
    private float[] readableOutput(float[] weights) {
        for (int token = 0; token < vocabSize; token++) {
            float scale = token >= SpmVocabulary.MIN_SIZE ? TEXT_LOGIT_SCALE : token == SpmVocabulary.EOS ? 1 : 0;
            for (int i = token * dim; i < (token + 1) * dim; i++) {
                weights[i] *= scale;
            }
        }
        return weights;
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
        successors.values().stream().distinct().forEach(next -> java.util.Arrays.fill(weights, next * dim, (next + 1) * dim, 0f));
        // A token that follows several others gets the sum of their embeddings: each still scores about
        // scale × √dim against its own, plus noise of about scale per other predecessor. Keep them few.
        successors.forEach((token, next) -> {
            for (int i = 0; i < dim; i++) weights[next * dim + i] += scale * embeddings[token * dim + i];
        });
        return weights;
    }

    private static float[] ones(int n) {
        float[] values = new float[n];
        java.util.Arrays.fill(values, 1f);
        return values;
    }
}
