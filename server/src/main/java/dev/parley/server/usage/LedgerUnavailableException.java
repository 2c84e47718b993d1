package dev.parley.server.usage;

/** The ledger's store (Redis, the data folder) cannot be reached or written now. */
public final class LedgerUnavailableException extends RuntimeException {
    public LedgerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
