package dev.parley.client;

import dev.parley.api.ApiException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandler;
import java.time.Duration;

/**
 * Sends again what failed transiently, waiting between attempts with the injected {@link Sleeper}. Only
 * the sending is retried: a stream's body is read after {@link #send} returns, so a stream is retried
 * before its first byte and never after. Thread-safe.
 */
final class RetryingTransport implements Transport {
    private final Transport next;
    private final RetryRules rules;
    private final Sleeper sleeper;

    RetryingTransport(Transport next, RetryRules rules, Sleeper sleeper) {
        this.next = next;
        this.rules = rules;
        this.sleeper = sleeper;
    }

    @Override
    public <T> Response<T> send(HttpRequest request, BodyHandler<T> body) {
        for (int retry = 1; ; retry++) {
            try {
                return next.send(request, body);
            } catch (ApiException e) {
                if (retry > rules.maxRetries() || !rules.retryable(e)) throw e;
                pause(rules.wait(retry, e), e);
            } catch (TransportException e) {
                if (retry > rules.maxRetries()) throw e;
                pause(rules.wait(retry, null), e);
            }
        }
    }

    private void pause(Duration wait, RuntimeException failure) {
        try {
            sleeper.sleep(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure.addSuppressed(e);
            throw failure;
        }
    }
}
