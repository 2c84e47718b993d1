package dev.parley.client;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandler;

/**
 * Sends one request and answers its 2xx body. A non-2xx answer throws the {@link dev.parley.api.ApiException}
 * of its status; a failure to get an answer throws {@link TransportException}.
 */
interface Transport {
    <T> Response<T> send(HttpRequest request, BodyHandler<T> body);
}
