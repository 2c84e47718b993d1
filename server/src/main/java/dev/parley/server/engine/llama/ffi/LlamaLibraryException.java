package dev.parley.server.engine.llama.ffi;

import dev.parley.server.engine.llama.LlamaException;

/** llama.cpp's libraries could not be found, fetched, verified or loaded; the message says what to do. */
public final class LlamaLibraryException extends LlamaException {
    public LlamaLibraryException(String message) {
        super(message);
    }

    public LlamaLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
