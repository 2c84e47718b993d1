package dev.parley.server.engine.llama;

/**
 * How {@link LlamaModel#open} loads a GGUF file.
 *
 * <p>By default the file is read into memory, not mapped (llama-server's {@code --no-mmap}). Three reasons:
 *
 * <ul>
 *   <li>Memory. llama.cpp copies most CPU weights into buffers of its own (the AMX and repack layouts it
 *       computes with), yet with a mapping every page it read while loading stays resident, and the small
 *       tensors it still reads in place (norms between the large ones) pull whole large folios of the file
 *       back in on the first decode. On the 135M-shape Q8_0 model on an AMX machine a server held 165 MB of
 *       mapped file beside its 181 MB of weight buffers (80 MB after the load pages were dropped); read, it
 *       holds the 181 MB alone.
 *   <li>A file changed under a mapping (a model replaced in place, a truncated download) makes the next
 *       read of a lost page a SIGBUS, which ends the JVM; read once, the model no longer depends on its file.
 *   <li>Speed. Read weights go onto transparent huge pages where Linux allows ({@code HugePages}); a mapped file
 *       is on them only as far as its page cache happens to be. One sequence on the 135M-shape Q8_0 model, 1
 *       thread: read onto small pages 94–99 tok/s, mapped 111–116, read onto huge pages 118–122.
 * </ul>
 *
 * The price: pages are not shared between processes serving one file, and under memory pressure weights
 * go to swap rather than being dropped and re-read.
 *
 * @param memoryMap map the file instead of reading it into memory (pages shared between processes and loaded
 *     lazily)
 * @param vocabularyOnly load only the tokenizer: enough to count and convert tokens, not to create contexts
 * @param gpuLayers layers to offload to GPU devices: -1 all of them when a GPU backend is present (none
 *     otherwise), 0 none
 */
public record ModelOptions(boolean memoryMap, boolean vocabularyOnly, int gpuLayers) {
    /** Every layer on the GPU when there is one. */
    public static final int ALL_LAYERS = -1;

    /** Read into memory, the whole model, every layer on the GPU when there is one. */
    public static ModelOptions defaults() {
        return new ModelOptions(false, false, ALL_LAYERS);
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
