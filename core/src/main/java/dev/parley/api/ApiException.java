package dev.parley.api;

import java.util.Objects;

/**
 * An error answered in OpenAI's shape: an HTTP status and its {@link ApiError}. The server throws these
 * and renders them in one place; the client turns error responses back into them with {@link #of}.
 * Subclasses exist where a caller acts differently.
 */
public class ApiException extends RuntimeException {
    private final int status;
    private final ApiError error;

    public ApiException(int status, ApiError error) {
        super(Objects.requireNonNull(error, "error").message());
        this.status = status;
        this.error = error;
    }

    /** The exception class that fits a status and error, so callers can catch what they act on. */
    public static ApiException of(int status, ApiError error) {
        return switch (status) {
            case 400 -> new InvalidRequestException(error);
            case 401 -> new AuthenticationException(error);
            case 403 -> new PermissionDeniedException(error);
            case 404 -> new NotFoundException(error);
            case 422 -> new UnprocessableEntityException(error);
            case 429 -> QuotaExceededException.CODE.equals(error.code())
                    ? new QuotaExceededException(error)
                    : new RateLimitException(error);
            default -> status >= 500 ? new ServerException(status, error) : new ApiException(status, error);
        };
    }

    public int status() {
        return status;
    }

    public ApiError error() {
        return error;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + ": " + status + " " + error;
    }
}
