package dev.parley.batch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ApiError;
import java.util.List;

/**
 * One line of the results file: the request, and either its response or its final error.
 *
 * @param id the input line's identity, by which a rerun knows it is done: its {@code custom_id}, else
 *     {@code line-N-HASH} (line number and a hash of its text)
 * @param customId the input's {@code custom_id}; null (absent) when it had none
 * @param line the input line number, from 1
 * @param request the body as sent
 * @param response the server's answer; null (absent) when the request failed
 * @param error the last failure: the server's error, or for a connection failure one of type
 *     {@code connection_error}; null (absent) when the request succeeded
 * @param status the HTTP status of the last attempt; 0 when the server was not reached
 * @param attempts how many times the request was sent
 * @param metadata the input line's {@code metadata}, echoed; null (absent) when it had none
 * @param requestId the server's {@code x-request-id} for the last attempt; null (absent) when it sent none
 * @param errors every failed attempt's error in the order they came, each as {@link #describe} words it
 *     ({@code HTTP 429: Rate limit reached}), the last one being {@code error}'s; null (absent) when no
 *     attempt failed
 */
public record BatchResult(
        String id,
        String customId,
        long line,
        JsonNode request,
        JsonNode response,
        ApiError error,
        int status,
        int attempts,
        JsonNode metadata,
        String requestId,
        List<String> errors) {

    /** {@code HTTP 500: message}, or {@code connection error: message} when the server was not reached. */
    static String describe(int status, ApiError error) {
        return (status == 0 ? "connection error" : "HTTP " + status) + ": " + error.message();
    }

    public boolean succeeded() {
        return error == null;
    }

    /** An input line that was not a valid request: nothing was sent ({@code attempts} is 0). */
    public boolean invalid() {
        return error != null && attempts == 0;
    }

    /**
     * A request that failed on errors that may pass on another try (a lost connection, 408, 409, 429, 5xx)
     * until its attempts ran out: a rerun sends it again.
     */
    public boolean retryable() {
        return error != null && attempts > 0 && transientStatus(status);
    }

    /** 0 (no answer), 408, 409, 429 and 5xx may pass on another try; other statuses will not. */
    static boolean transientStatus(int status) {
        return status == 0 || status == 408 || status == 409 || status == 429 || status >= 500;
    }
}
