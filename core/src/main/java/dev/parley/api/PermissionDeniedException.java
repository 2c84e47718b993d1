package dev.parley.api;

import java.util.List;
import java.util.Map;

/** 403: The key may not do what was asked. */
public class PermissionDeniedException extends ApiException {
    public PermissionDeniedException(ApiError error) {
        super(403, error);
    }

    /** With the headers of the response that carried it (see {@link ApiException#headers()}). */
    public PermissionDeniedException(ApiError error, Map<String, List<String>> headers) {
        super(403, error, headers);
    }
}
