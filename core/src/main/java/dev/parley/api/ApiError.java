package dev.parley.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The {@code error} object of an OpenAI error body. {@code param} and {@code code} are written even when
 * null, as OpenAI does. {@code type} is e.g. {@code invalid_request_error}; for rate limits it is
 * {@code requests} or {@code tokens}.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ApiError(String message, String type, String param, String code) {

    public static final String INVALID_REQUEST = "invalid_request_error";
    public static final String SERVER_ERROR = "server_error";

    public static ApiError invalidRequest(String param, String code, String message) {
        return new ApiError(message, INVALID_REQUEST, param, code);
    }

    /** Wraps this error as an {@code {"error":{…}}} body. */
    public ErrorBody body() {
        return new ErrorBody(this);
    }

    /** The body of every error response: {@code {"error":{"message","type","param","code"}}}. */
    public record ErrorBody(ApiError error) {}
}
