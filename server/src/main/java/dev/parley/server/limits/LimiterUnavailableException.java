package dev.parley.server.limits;

/** The shared budgets cannot be read or written now (Redis is down or too slow). */
public final class LimiterUnavailableException extends RuntimeException {
    public LimiterUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
