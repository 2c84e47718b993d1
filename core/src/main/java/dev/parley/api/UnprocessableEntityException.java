package dev.parley.api;

import java.util.List;
import java.util.Map;

/** 422: The request was well-formed but could not be processed. */
public class UnprocessableEntityException extends ApiException {
    public UnprocessableEntityException(ApiError error) {
        super(422, error);
    }

    /** With the headers of the response that carried it (see {@link ApiException#headers()}). */
    public UnprocessableEntityException(ApiError error, Map<String, List<String>> headers) {
        super(422, error, headers);
    }
}
