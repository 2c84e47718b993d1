package dev.parley.api;

import java.util.List;
import java.util.Map;

/** 401: The API key is missing, unknown or revoked (`invalid_api_key`). */
public class AuthenticationException extends ApiException {
    public AuthenticationException(ApiError error) {
        super(401, error);
    }

    /** With the headers of the response that carried it (see {@link ApiException#headers()}). */
    public AuthenticationException(ApiError error, Map<String, List<String>> headers) {
        super(401, error, headers);
    }
}
