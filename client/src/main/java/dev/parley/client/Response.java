package dev.parley.client;

/**
 * A response body with what its HTTP response said: {@code client.withResponse().chat(request)}. The
 * plain methods of {@link ParleyClient} answer the body alone.
 */
public record Response<T>(T body, ResponseInfo info) {}
