package dev.parley.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one call adds to the client's options: headers, a timeout, and body fields that the request records
 * do not model (e.g. {@code top_k} for a server that samples with it, or a newer parameter such as
 * {@code verbosity}), merged into the JSON body as they are. Build with {@link #builder()}.
 *
 * @param headers sent with the request, replacing the client's header of the same name (e.g.
 *     {@code Authorization} for another key); names the JDK restricts, such as {@code Host}, are refused
 * @param timeout the time to wait for the response headers instead of the client's; null for the client's
 * @param extraBody fields written into the JSON body after the request's own, so a field of the same name
 *     is replaced; never checked against OpenAI's rules
 */
public record RequestOptions(Map<String, String> headers, Duration timeout, Map<String, JsonNode> extraBody) {

    /** Nothing added. */
    public static final RequestOptions NONE = new RequestOptions(Map.of(), null, Map.of());

    public RequestOptions {
        headers = Map.copyOf(headers);
        extraBody = Collections.unmodifiableMap(new LinkedHashMap<>(extraBody));
        if (timeout != null && (timeout.isNegative() || timeout.isZero()))
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Collects options; not thread-safe. */
    public static final class Builder {
        private final Map<String, String> headers = new LinkedHashMap<>();
        private final Map<String, JsonNode> extraBody = new LinkedHashMap<>();
        private Duration timeout;

        private Builder() {}

        public Builder header(String name, String value) {
            headers.put(name, value);
            return this;
        }

        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** A body field, {@code value} written as Jackson writes it (a number, string, list, map, record…). */
        public Builder extraBody(String name, Object value) {
            extraBody.put(name, Json.mapper().valueToTree(value));
            return this;
        }

        /** Every field of a JSON object, e.g. one read from a file. */
        public Builder extraBody(Map<String, ?> fields) {
            fields.forEach(this::extraBody);
            return this;
        }

        public RequestOptions build() {
            return new RequestOptions(headers, timeout, extraBody);
        }
    }
}
