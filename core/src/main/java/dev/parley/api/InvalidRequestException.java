package dev.parley.api;

import java.util.List;
import java.util.Map;

/** 400: The request was invalid: a missing or bad parameter, malformed JSON, or a prompt that does not fit the model's context (`context_length_exceeded`). */
public class InvalidRequestException extends ApiException {
    public InvalidRequestException(ApiError error) {
        super(400, error);
    }

    /** With the headers of the response that carried it (see {@link ApiException#headers()}). */
    public InvalidRequestException(ApiError error, Map<String, List<String>> headers) {
        super(400, error, headers);
    }

    /** An {@code invalid_request_error} about {@code param} (null when the body as a whole is wrong). */
    public static InvalidRequestException of(String param, String code, String message) {
        return new InvalidRequestException(ApiError.invalidRequest(param, code, message));
    }
}
