package dev.parley.api;

/** 403: The key may not do what was asked. */
public class PermissionDeniedException extends ApiException {
    public PermissionDeniedException(ApiError error) {
        super(403, error);
    }
}
