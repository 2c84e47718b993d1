package dev.parley.client;

import dev.parley.api.ApiException;
import dev.parley.limits.RateLimitSnapshot;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;

/** One attempt over the JDK's {@link HttpClient}. Thread-safe. */
final class JdkTransport implements Transport {
    private final HttpClient http;

    JdkTransport(HttpClient http) {
        this.http = http;
    }

    @Override
    public <T> Response<T> send(HttpRequest request, BodyHandler<T> wanted) {
        HttpResponse<Body<T>> response;
        try {
            response = http.send(request, Body.handler(wanted));
        } catch (IOException e) {
            throw new TransportException(
                    "%s %s failed: %s".formatted(request.method(), request.uri(), TransportException.describe(e)), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException("interrupted while waiting for " + request.uri(), e);
        }
        var headers = response.headers().map();
        return switch (response.body()) {
            case Body.Ok<T>(var value) ->
                new Response<>(
                        value,
                        new ResponseInfo(
                                response.statusCode(),
                                response.headers()
                                        .firstValue(ApiException.REQUEST_ID)
                                        .orElse(null),
                                RateLimitSnapshot.parse(headers),
                                headers));
            case Body.Failed<T>(var bytes) -> throw ErrorBodies.exception(response.statusCode(), bytes, headers);
        };
    }
}
