package dev.parley.api;

/** 422: The request was well-formed but could not be processed. */
public class UnprocessableEntityException extends ApiException {
    public UnprocessableEntityException(ApiError error) {
        super(422, error);
    }
}
