package dev.parley.client;

/**
 * A stream ended, or broke, before its {@code data: [DONE]}: what was received is not the whole answer.
 * Thrown by the stream's iterator instead of ending quietly with a short answer. Never retried, since
 * part of the answer was already delivered.
 */
public final class IncompleteStreamException extends TransportException {
    public IncompleteStreamException(String message, Throwable cause) {
        super(message, cause);
    }
}
