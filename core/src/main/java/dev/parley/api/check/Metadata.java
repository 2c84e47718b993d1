package dev.parley.api.check;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;

/** The {@code metadata} a request may attach to what it creates (a batch, a kept response): OpenAI's rules. */
public final class Metadata {
    private Metadata() {}

    /**
     * Checks {@code metadata} by OpenAI's rules: an object of at most 16 pairs, each key at most 64 characters, each
     * value a string of at most 512.
     *
     * @throws InvalidRequestException naming {@code metadata}, or the pair at fault
     */
    public static void check(JsonNode metadata) {
        if (metadata == null || metadata.isNull()) return;
        if (!metadata.isObject()) {
            throw InvalidRequestException.of(
                    "metadata",
                    "invalid_type",
                    "Invalid type for 'metadata': expected an object, but got %s instead."
                            .formatted(Json.kind(metadata)));
        }
        if (metadata.size() > 16) {
            throw InvalidRequestException.of(
                    "metadata",
                    "object_above_max_properties",
                    ("Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got"
                                    + " an object with %d properties instead.")
                            .formatted(metadata.size()));
        }
        for (var entry : metadata.properties()) {
            String param = "metadata." + entry.getKey();
            if (entry.getKey().length() > 64) {
                throw InvalidRequestException.of(
                        "metadata",
                        "invalid_value",
                        "Invalid 'metadata': keys are at most 64 characters; one has %d."
                                .formatted(entry.getKey().length()));
            }
            JsonNode value = entry.getValue();
            if (!value.isTextual()) {
                throw InvalidRequestException.of(
                        param,
                        "invalid_type",
                        "Invalid type for '%s': expected a string, but got %s instead."
                                .formatted(param, Json.kind(value)));
            }
            if (value.asText().length() > 512) {
                throw InvalidRequestException.of(
                        param,
                        "string_above_max_length",
                        ("Invalid '%s': string too long. Expected a string with maximum length 512, but got a string"
                                        + " with length %d instead.")
                                .formatted(param, value.asText().length()));
            }
        }
    }
}
