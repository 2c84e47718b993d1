package dev.parley.server.engine.llama;

/**
 * The shape of a {@link LlamaContext}; checked by {@link LlamaModel#newContext}.
 *
 * @param contextLength KV cache cells shared by all sequences (llama.cpp may round it up); 0 takes the
 *     model's training context length
 * @param maxSequences distinct sequence ids the context serves, 1 to 64
 * @param batchCapacity most tokens one {@link LlamaContext#decode} accepts (at most the context length)
 * @param threads CPU threads for decoding, at least 1
 * @param kvCache element type of the KV cache
 * @param fullWindow whether layers with a sliding window keep every cell of a sequence (llama.cpp's {@code swa_full})
 *     instead of the window and a batch
 */
public record ContextOptions(
        int contextLength, int maxSequences, int batchCapacity, int threads, KvCacheType kvCache, boolean fullWindow) {
    static final int MAX_SEQUENCES = 64;

    /**
     * The model's context length, one sequence, 512-token batches, a thread per core, F16 KV cache, sliding-window
     * layers keeping their window and a batch.
     */
    public static ContextOptions defaults() {
        return new ContextOptions(0, 1, 512, Runtime.getRuntime().availableProcessors(), KvCacheType.F16, false);
    }

    public ContextOptions withContextLength(int contextLength) {
        return new ContextOptions(contextLength, maxSequences, batchCapacity, threads, kvCache, fullWindow);
    }

    public ContextOptions withMaxSequences(int maxSequences) {
        return new ContextOptions(contextLength, maxSequences, batchCapacity, threads, kvCache, fullWindow);
    }

    public ContextOptions withBatchCapacity(int batchCapacity) {
        return new ContextOptions(contextLength, maxSequences, batchCapacity, threads, kvCache, fullWindow);
    }

    public ContextOptions withThreads(int threads) {
        return new ContextOptions(contextLength, maxSequences, batchCapacity, threads, kvCache, fullWindow);
    }

    public ContextOptions withKvCache(KvCacheType kvCache) {
        return new ContextOptions(contextLength, maxSequences, batchCapacity, threads, kvCache, fullWindow);
    }

    public ContextOptions withFullWindow(boolean fullWindow) {
        return new ContextOptions(contextLength, maxSequences, batchCapacity, threads, kvCache, fullWindow);
    }

    void check() {
        Checks.require(contextLength >= 0, "contextLength must be >= 0, got %d", contextLength);
        Checks.require(
                maxSequences >= 1 && maxSequences <= MAX_SEQUENCES,
                "maxSequences must be 1..%d, got %d",
                MAX_SEQUENCES,
                maxSequences);
        Checks.require(batchCapacity >= 1, "batchCapacity must be >= 1, got %d", batchCapacity);
        Checks.require(threads >= 1 && threads <= 1024, "threads must be 1..1024, got %d", threads);
        Checks.require(kvCache != null, "kvCache must not be null");
    }
}
