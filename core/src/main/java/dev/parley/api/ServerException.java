package dev.parley.api;

import java.util.List;
import java.util.Map;

/** 5xx: the server failed or is overloaded (503 when its queue is full). Worth retrying. */
public class ServerException extends ApiException {
    public ServerException(int status, ApiError error) {
        super(status, error);
    }

    /** With the headers of the response that carried it (see {@link ApiException#headers()}). */
    public ServerException(int status, ApiError error, Map<String, List<String>> headers) {
        super(status, error, headers);
    }
}
