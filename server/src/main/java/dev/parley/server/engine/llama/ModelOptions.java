package dev.parley.server.engine.llama;

/**
 * How {@link LlamaModel#open} loads a GGUF file.
 *
 * @param memoryMap map the file instead of reading it into memory (llama.cpp's default; pages are shared
 *     between processes and loaded lazily)
 * @param vocabularyOnly load only the tokenizer: enough to count and convert tokens, not to create contexts
 */
public record ModelOptions(boolean memoryMap, boolean vocabularyOnly) {
    public static ModelOptions defaults() {
        return new ModelOptions(true, false);
    }

    public ModelOptions withMemoryMap(boolean memoryMap) {
        return new ModelOptions(memoryMap, vocabularyOnly);
    }

    public ModelOptions withVocabularyOnly(boolean vocabularyOnly) {
        return new ModelOptions(memoryMap, vocabularyOnly);
    }
}
