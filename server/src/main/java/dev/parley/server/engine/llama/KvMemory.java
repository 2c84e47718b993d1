package dev.parley.server.engine.llama;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;

/**
 * What a context's KV cache will take, worked out from the model's metadata before anything is allocated,
 * so that a context far larger than the machine's memory is refused with the numbers instead of failing in
 * native code or being killed by the system. The estimate is the standard attention cache: for every cell
 * and layer, a key and a value per KV head, except that layers with a sliding window keep only the window and a
 * batch of cells per sequence (as a generating context has them), and layers that keep recurrent state instead of
 * attending (LFM2's convolutions, Qwen 3.5's linear attention, Mamba layers) keep no cells; architectures that keep
 * less still (compressed attention), or sliding layers the metadata does not count, need less, so the check never
 * refuses what would fit. (The recurrent states themselves, a fixed size per sequence, are not counted.)
 */
final class KvMemory {
    private KvMemory() {}

    /**
     * Per architecture with a sliding window, the one layer in n that keeps every cell when the file has no {@code
     * sliding_window_pattern}, as llama.cpp v0.5.0 assumes (Gemma 3's own GGUFs leave it out).
     */
    private static final Map<String, Integer> PATTERNS = Map.of(
            "gemma2", 2,
            "gemma3", 6,
            "gemma3n", 5,
            "gemma-embedding", 6,
            "gpt-oss", 2,
            "cohere2", 4,
            "llama4", 4,
            "exaone4", 4,
            "olmo2", 4,
            "plamo3", 8);

    /**
     * Architectures whose layers attend every {@code full_attention_interval}-th layer (4 when the file does not say),
     * the others keeping recurrent state, unless the file lists those ({@code attention.recurrent_layers}).
     */
    private static final Map<String, Integer> ATTENTION_INTERVALS =
            Map.of("qwen35", 4, "qwen35moe", 4, "qwen3next", 4, "qwen4exp", 4);

    /** Bytes of KV cache for {@code cells} positions in {@code type}, every layer keeping them all; empty when unknown. */
    static OptionalLong estimate(LlamaModel model, long cells, KvCacheType type) {
        return estimate(model, cells, 1, 0, type);
    }

    /**
     * Bytes of KV cache for {@code sequences} sequences of {@code perSequence} cells in {@code type}, or empty when the
     * metadata does not say. With a {@code slidingBatch} above 0, each layer with a sliding window keeps the window
     * and that batch of cells per sequence (rounded up to 256, at most {@code perSequence}), as llama.cpp gives them
     * when its full-size window cache is off. The metadata's {@code sliding_window_pattern} n says which layers slide
     * (all but one in each n), else the architecture's own pattern; where neither says, every layer is counted as
     * sliding, which errs low.
     */
    static OptionalLong estimate(
            LlamaModel model, long perSequence, long sequences, int slidingBatch, KvCacheType type) {
        String arch = model.metadata("general.architecture").orElse(null);
        if (arch == null) return OptionalLong.empty();
        long layers = number(model, arch + ".block_count");
        long embedding = number(model, arch + ".embedding_length");
        long heads = number(model, arch + ".attention.head_count");
        if (layers <= 0 || layers > 100_000 || embedding <= 0 || heads <= 0) return OptionalLong.empty();
        long[] kvHeads = kvHeadsPerLayer(model, arch, (int) layers, heads);
        long keyLength = number(model, arch + ".attention.key_length");
        long valueLength = number(model, arch + ".attention.value_length");
        if (keyLength <= 0) keyLength = embedding / heads;
        if (valueLength <= 0) valueLength = embedding / heads;
        long bytes = type == KvCacheType.F32 ? 4 : 2;
        long window = number(model, arch + ".attention.sliding_window");
        // Llama 4 attends over chunks of 8,192 tokens in three layers of four unless its file says 0.
        if (arch.equals("llama4")
                && model.metadata(arch + ".attention.sliding_window").isEmpty()) window = 8192;
        long pattern = 1; // 1 or less: every layer slides
        long slidingCells = perSequence;
        boolean slides = slidingBatch > 0 && window > 0;
        if (slides) {
            pattern = number(model, arch + ".attention.sliding_window_pattern");
            if (pattern <= 0
                    && model.metadata(arch + ".attention.sliding_window_pattern")
                            .isEmpty()) pattern = PATTERNS.getOrDefault(arch, 0);
            slidingCells = Math.min(perSequence, (window + slidingBatch + 255) / 256 * 256);
        }
        try {
            long perSequenceBytes = 0;
            for (int i = 0; i < layers; i++) {
                boolean sliding = slides && (pattern <= 1 || (i + 1) % pattern != 0);
                long perCell = Math.multiplyExact(kvHeads[i], (keyLength + valueLength) * bytes);
                perSequenceBytes = Math.addExact(
                        perSequenceBytes, Math.multiplyExact(sliding ? slidingCells : perSequence, perCell));
            }
            return OptionalLong.of(Math.multiplyExact(perSequenceBytes, sequences));
        } catch (ArithmeticException e) {
            return OptionalLong.of(Long.MAX_VALUE);
        }
    }

    /**
     * The KV heads of each layer: {@code head_count_kv}, one number for all or one per layer (0 for a layer that keeps
     * recurrent state instead, as LFM2, Granite 4 H and Nemotron H store it), else {@code heads}; 0 also for the
     * layers {@code attention.recurrent_layers} marks, or that fall between full-attention layers ({@link
     * #ATTENTION_INTERVALS}).
     */
    private static long[] kvHeadsPerLayer(LlamaModel model, String arch, int layers, long heads) {
        long[] kvHeads = new long[layers];
        long[] listed = numbers(model, arch + ".attention.head_count_kv", layers);
        long one = number(model, arch + ".attention.head_count_kv");
        for (int i = 0; i < layers; i++) kvHeads[i] = listed != null ? listed[i] : one > 0 ? one : heads;
        long[] recurrent = numbers(model, arch + ".attention.recurrent_layers", layers);
        long interval = number(model, arch + ".full_attention_interval");
        if (interval <= 0) interval = ATTENTION_INTERVALS.getOrDefault(arch, 0);
        for (int i = 0; i < layers; i++) {
            if (recurrent != null ? recurrent[i] != 0 : interval > 0 && (i + 1) % interval != 0) kvHeads[i] = 0;
        }
        return kvHeads;
    }

    /** A per-layer array of integers or booleans, or null when the value is not such an array of {@code layers}. */
    private static long[] numbers(LlamaModel model, String key, int layers) {
        // Only models with recurrent layers mark them so; reading the file's header again is for those.
        if (!model.keepsRecurrentState()) return null;
        return model.metadataIntegers(key)
                .filter(values -> values.length == layers)
                .orElse(null);
    }

    /**
     * Refuses a KV cache larger than this machine's memory (or its container's limit); {@code slidingBatch} as for
     * {@link #estimate(LlamaModel, long, long, int, KvCacheType)}.
     *
     * @throws IllegalArgumentException naming the context, its cache size and the memory there is
     */
    static void check(LlamaModel model, int perSequence, int parallel, int slidingBatch, KvCacheType type) {
        long cells = (perSequence + 255L) / 256 * 256; // llama.cpp rounds each sequence's cells up to 256
        if (cells * parallel > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a context of %d tokens for each of %d sequences is more than %d in all"
                    .formatted(perSequence, parallel, Integer.MAX_VALUE));
        }
        OptionalLong needed = estimate(model, cells, parallel, slidingBatch, type);
        long memory = memory();
        if (needed.isEmpty() || memory <= 0 || needed.getAsLong() <= memory) return;
        throw new IllegalArgumentException(String.format(
                Locale.ROOT,
                "a context of %d tokens for each of %d sequences needs about %s of %s KV cache, more than this"
                        + " machine's %s of memory; ask for a smaller --context or --parallel",
                perSequence,
                parallel,
                gib(needed.getAsLong()),
                type.name(),
                gib(memory)));
    }

    /**
     * Refuses a prompt cache ({@code --cache-ram}) larger than this machine's memory (or its container's limit): it
     * would be filled as conversations come and go, until the system killed the server.
     *
     * @throws IllegalArgumentException naming the cache's size and the memory there is
     */
    static void checkPromptCache(int megabytes) {
        long memory = memory();
        if (memory <= 0 || ((long) megabytes << 20) <= memory) return;
        throw new IllegalArgumentException(String.format(
                Locale.ROOT,
                "a prompt cache of %d MB is more than this machine's %s of memory; ask for a smaller --cache-ram",
                megabytes,
                gib(memory)));
    }

    private static long number(LlamaModel model, String key) {
        try {
            return model.metadata(key).map(Long::parseLong).orElse(0L);
        } catch (NumberFormatException e) {
            return 0; // an array (per-layer values): not a single number
        }
    }

    /** Physical memory, or the container's limit when there is one. */
    private static long memory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os)
            return os.getTotalMemorySize();
        return 0;
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
