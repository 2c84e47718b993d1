package dev.parley.api;

import java.util.List;
import java.util.Map;

/** 404: The model (`model_not_found`) or route does not exist, or the key may not see it. */
public class NotFoundException extends ApiException {
    public NotFoundException(ApiError error) {
        super(404, error);
    }

    /** With the headers of the response that carried it (see {@link ApiException#headers()}). */
    public NotFoundException(ApiError error, Map<String, List<String>> headers) {
        super(404, error, headers);
    }
}
