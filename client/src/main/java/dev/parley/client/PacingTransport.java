package dev.parley.client;

import dev.parley.api.ApiException;
import dev.parley.api.RateLimitException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandler;
import java.time.Duration;

/** Waits as the shared {@link Pacer} says before each attempt, and tells it what each answer said. */
final class PacingTransport implements Transport {
    private final Transport next;
    private final Pacer pacer;
    private final Sleeper sleeper;
    private final ClientOptions options;

    PacingTransport(Transport next, Pacer pacer, Sleeper sleeper, ClientOptions options) {
        this.next = next;
        this.pacer = pacer;
        this.sleeper = sleeper;
        this.options = options;
    }

    @Override
    public <T> Response<T> send(HttpRequest request, BodyHandler<T> body) {
        Duration wait = pacer.delay();
        if (wait.compareTo(options.maxRetryWait()) > 0) wait = options.maxRetryWait();
        if (!wait.isZero()) {
            try {
                sleeper.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TransportException("interrupted while pacing " + request.uri(), e);
            }
        }
        try {
            Response<T> response = next.send(request, body);
            pacer.observe(response.info().rateLimit());
            return response;
        } catch (ApiException e) {
            pacer.observe(e.rateLimit());
            if (e instanceof RateLimitException limited)
                limited.retryAfter(options.clock().instant()).ifPresent(pacer::holdFor);
            throw e;
        }
    }
}
