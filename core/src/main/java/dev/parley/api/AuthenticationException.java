package dev.parley.api;

/** 401: The API key is missing, unknown or revoked (`invalid_api_key`). */
public class AuthenticationException extends ApiException {
    public AuthenticationException(ApiError error) {
        super(401, error);
    }
}
