package dev.parley.client;

/**
 * The server could not be reached or stopped answering: connection refused or dropped, a timeout, a
 * stream cut before its end, or a body that is not the JSON it should be. The I/O cause is kept. Requests
 * that fail this way before any answer are retried by the client; this is thrown once retries are spent.
 */
public class TransportException extends RuntimeException {
    public TransportException(String message, Throwable cause) {
        super(message, cause);
    }

    public TransportException(String message) {
        super(message);
    }
}
