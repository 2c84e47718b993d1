package dev.parley.server.engine.llama;

/**
 * How {@link LlamaModel#open} loads a GGUF file.
 *
 * @param memoryMap map the file instead of reading it into memory (pages are shared between processes and
 *     loaded lazily)
 * @param vocabularyOnly load only the tokenizer: enough to count and convert tokens, not to create contexts
 * @param gpuLayers layers to offload to GPU devices: -1 all of them when a GPU backend is present (none
 *     otherwise), 0 none
 */
public record ModelOptions(boolean memoryMap, boolean vocabularyOnly, int gpuLayers) {
    /** Every layer on the GPU when there is one. */
    public static final int ALL_LAYERS = -1;

    public static ModelOptions defaults() {
        return new ModelOptions(true, false, ALL_LAYERS);
    }

    public ModelOptions withMemoryMap(boolean memoryMap) {
        return new ModelOptions(memoryMap, vocabularyOnly, gpuLayers);
    }

    public ModelOptions withVocabularyOnly(boolean vocabularyOnly) {
        return new ModelOptions(memoryMap, vocabularyOnly, gpuLayers);
    }

    public ModelOptions withGpuLayers(int gpuLayers) {
        return new ModelOptions(memoryMap, vocabularyOnly, gpuLayers);
    }
}
