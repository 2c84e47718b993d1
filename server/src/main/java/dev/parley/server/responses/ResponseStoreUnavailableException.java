package dev.parley.server.responses;

/** The store of responses could not be reached or written (Redis down, a disk full): the call may be retried. */
public final class ResponseStoreUnavailableException extends RuntimeException {
    public ResponseStoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
