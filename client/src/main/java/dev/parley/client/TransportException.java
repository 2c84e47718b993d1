package dev.parley.client;

import java.io.IOException;
import java.net.ConnectException;

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

    /**
     * What went wrong on the wire, in words: the JDK's messages are often empty at the top (a refused connection
     * keeps its words in a cause), so the first message down the cause chain, else the kind of failure.
     */
    public static String describe(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) return t.getMessage();
        }
        return e instanceof ConnectException
                ? "could not connect"
                : e.getClass().getSimpleName();
    }
}
