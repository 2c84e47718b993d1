package dev.parley.client;

import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodySubscribers;

/** A response body as it arrived: the wanted kind for a 2xx, else the error body's bytes. */
sealed interface Body<T> {
    record Ok<T>(T value) implements Body<T> {}

    record Failed<T>(byte[] bytes) implements Body<T> {}

    /** Reads a 2xx body with {@code wanted}, anything else as bytes for the error. */
    static <T> BodyHandler<Body<T>> handler(BodyHandler<T> wanted) {
        return info -> info.statusCode() / 100 == 2
                ? BodySubscribers.mapping(wanted.apply(info), Ok::new)
                : BodySubscribers.mapping(BodySubscribers.ofByteArray(), Failed::new);
    }
}
