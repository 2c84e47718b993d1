package dev.parley.server.engine.llama;

/**
 * A decode found no room for the batch in the KV cache (llama_decode returned 1). Nothing was decoded:
 * the caller may free a sequence, or decode fewer tokens, and try again.
 */
public final class ContextFullException extends LlamaException {
    public ContextFullException(String message) {
        super(message);
    }
}
