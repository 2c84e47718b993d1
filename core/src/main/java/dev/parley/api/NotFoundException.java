package dev.parley.api;

/** 404: The model (`model_not_found`) or route does not exist, or the key may not see it. */
public class NotFoundException extends ApiException {
    public NotFoundException(ApiError error) {
        super(404, error);
    }
}
