package dev.parley.api;

/** 400: The request was invalid: a missing or bad parameter, malformed JSON, or a prompt that does not fit the model's context (`context_length_exceeded`). */
public class InvalidRequestException extends ApiException {
    public InvalidRequestException(ApiError error) {
        super(400, error);
    }

    /** An {@code invalid_request_error} about {@code param} (null when the body as a whole is wrong). */
    public static InvalidRequestException of(String param, String code, String message) {
        return new InvalidRequestException(ApiError.invalidRequest(param, code, message));
    }
}
