package dev.parley.api;

/** 5xx: the server failed or is overloaded (503 when its queue is full). Worth retrying. */
public class ServerException extends ApiException {
    public ServerException(int status, ApiError error) {
        super(status, error);
    }
}
