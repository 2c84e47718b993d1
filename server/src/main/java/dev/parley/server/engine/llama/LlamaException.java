package dev.parley.server.engine.llama;

/**
 * llama.cpp could not do what was asked although the arguments were valid: the library did not load, a
 * model file did not load, a decode failed. Invalid arguments are {@link IllegalArgumentException}s instead,
 * thrown in Java before any native call.
 */
public class LlamaException extends RuntimeException {
    public LlamaException(String message) {
        super(message);
    }

    public LlamaException(String message, Throwable cause) {
        super(message, cause);
    }
}
