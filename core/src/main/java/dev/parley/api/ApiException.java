package dev.parley.api;

import dev.parley.limits.RateLimitSnapshot;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * An error answered in OpenAI's shape: an HTTP status and its {@link ApiError}. The server throws these
 * and renders them in one place; the client turns error responses back into them with {@link #of}, with
 * the response's headers, so that callers can read its {@code x-request-id} and {@code x-ratelimit-*}.
 * Subclasses exist where a caller acts differently.
 */
public class ApiException extends RuntimeException {
    public static final String REQUEST_ID = "x-request-id";

    private final int status;
    private final ApiError error;
    private final Map<String, List<String>> headers;

    public ApiException(int status, ApiError error) {
        this(status, error, Map.of());
    }

    /** With the headers of the response that carried the error; names are then matched ignoring case. */
    public ApiException(int status, ApiError error, Map<String, List<String>> headers) {
        super(Objects.requireNonNull(error, "error").message());
        this.status = status;
        this.error = error;
        TreeMap<String, List<String>> copy = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        headers.forEach((name, values) -> {
            if (name != null) copy.put(name, List.copyOf(values));
        });
        this.headers = Collections.unmodifiableMap(copy);
    }

    /** The exception class that fits a status and error, so callers can catch what they act on. */
    public static ApiException of(int status, ApiError error) {
        return of(status, error, Map.of());
    }

    /** As {@link #of(int, ApiError)}, keeping the headers of the response that carried the error. */
    public static ApiException of(int status, ApiError error, Map<String, List<String>> headers) {
        return switch (status) {
            case 400 -> new InvalidRequestException(error, headers);
            case 401 -> new AuthenticationException(error, headers);
            case 403 -> new PermissionDeniedException(error, headers);
            case 404 -> new NotFoundException(error, headers);
            case 422 -> new UnprocessableEntityException(error, headers);
            case 429 ->
                QuotaExceededException.CODE.equals(error.code())
                        ? new QuotaExceededException(error, headers)
                        : new RateLimitException(error, headers);
            default ->
                status >= 500 ? new ServerException(status, error, headers) : new ApiException(status, error, headers);
        };
    }

    public int status() {
        return status;
    }

    public ApiError error() {
        return error;
    }

    /** The headers of the response, empty when the error was made locally; names ignore case. */
    public Map<String, List<String>> headers() {
        return headers;
    }

    /** The response's {@code x-request-id}, the id to quote when reporting a problem. */
    public Optional<String> requestId() {
        List<String> values = headers.get(REQUEST_ID);
        return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
    }

    /** The response's {@code x-ratelimit-*} headers; {@link RateLimitSnapshot#EMPTY} when none. */
    public RateLimitSnapshot rateLimit() {
        return RateLimitSnapshot.parse(headers);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + ": " + status + " " + error
                + requestId().map(id -> " (request " + id + ")").orElse("");
    }
}
