package dev.parley.client;

import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Turns error responses and error events into the {@link ApiException} a caller catches. */
final class ErrorBodies {
    private static final int QUOTED_BODY = 300;

    private ErrorBodies() {}

    /**
     * The {@code {"error":{…}}} of the body; a body that is not one (a proxy's HTML page, plain text,
     * nothing) becomes an error that quotes its start, so the caller still sees what came back.
     */
    static ApiException exception(int status, byte[] body, Map<String, List<String>> headers) {
        String text = new String(body, StandardCharsets.UTF_8);
        ApiError error = parse(text);
        if (error == null) {
            String quoted = text.strip().replaceAll("\\s+", " ");
            if (quoted.length() > QUOTED_BODY) quoted = quoted.substring(0, QUOTED_BODY) + "…";
            String message =
                    quoted.isEmpty() ? "HTTP " + status + " with an empty body" : "HTTP " + status + ": " + quoted;
            error = new ApiError(message, status >= 500 ? ApiError.SERVER_ERROR : null, null, null);
        }
        return ApiException.of(status, error, headers);
    }

    /** The error of an {@code {"error":{…}}} text, or null when the text is not one. */
    static ApiError parse(String text) {
        try {
            var node = Json.tree(text).get("error");
            if (node == null || !node.isObject()) return null;
            ApiError error = Json.mapper().treeToValue(node, ApiError.class);
            return error.message() == null
                    ? new ApiError("(no message)", error.type(), error.param(), error.code())
                    : error;
        } catch (RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
            return null;
        }
    }

    /**
     * The status an error sent inside a 200 stream stands for, so that it maps to the same exception
     * class as the response it would have been before the stream began.
     */
    static int statusOf(ApiError error) {
        String type = error.type() == null ? "" : error.type();
        String code = error.code() == null ? "" : error.code();
        if (code.equals("insufficient_quota")
                || code.equals("rate_limit_exceeded")
                || type.equals("requests")
                || type.equals("tokens")) return 429;
        if (type.equals("invalid_request_error")) return 400;
        if (type.equals("authentication_error") || code.equals("invalid_api_key")) return 401;
        return 500;
    }
}
