package dev.parley.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.BodySubscribers;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/** A response body as it arrived: the wanted kind for a 2xx, else the error body's bytes. */
sealed interface Body<T> {
    record Ok<T>(T value) implements Body<T> {}

    record Failed<T>(byte[] bytes) implements Body<T> {}

    /** Reads a 2xx body with {@code wanted}, anything else as the first {@link ClientOptions#MAX_ERROR_BYTES}. */
    static <T> BodyHandler<Body<T>> handler(BodyHandler<T> wanted) {
        return info -> info.statusCode() / 100 == 2
                ? BodySubscribers.mapping(wanted.apply(info), Ok::new)
                : BodySubscribers.mapping(new Collecting(ClientOptions.MAX_ERROR_BYTES, true), Failed::new);
    }

    /** A whole body as bytes; past {@link ClientOptions#MAX_ANSWER_BYTES} the exchange is dropped and fails. */
    static BodyHandler<byte[]> whole() {
        return info -> new Collecting(ClientOptions.MAX_ANSWER_BYTES, false);
    }

    /** Collects a body's bytes up to {@code max}: then cut there ({@code truncate}) or failed, and cancelled. */
    final class Collecting implements BodySubscriber<byte[]> {
        private final int max;
        private final boolean truncate;
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private Flow.Subscription subscription;

        Collecting(int max, boolean truncate) {
            this.max = max;
            this.truncate = truncate;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            this.subscription = subscription;
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) return;
            for (ByteBuffer item : items) {
                int room = max - bytes.size();
                if (item.remaining() > room) {
                    if (truncate) {
                        byte[] part = new byte[room];
                        item.get(part);
                        bytes.writeBytes(part);
                        result.complete(bytes.toByteArray());
                    } else {
                        result.completeExceptionally(
                                new IOException("the answer is larger than %d MiB".formatted(max >> 20)));
                    }
                    subscription.cancel();
                    return;
                }
                byte[] chunk = new byte[item.remaining()];
                item.get(chunk);
                bytes.writeBytes(chunk);
            }
        }

        @Override
        public void onError(Throwable failure) {
            result.completeExceptionally(failure);
        }

        @Override
        public void onComplete() {
            result.complete(bytes.toByteArray());
        }
    }
}
