package dev.parley.api;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * {@code response_format}: {@code text}, {@code json_object}, or {@code json_schema} with its
 * {@code json_schema} object kept as JSON (null for the other types).
 */
public record ResponseFormat(String type, JsonNode jsonSchema) {
    public static final ResponseFormat TEXT = new ResponseFormat("text", null);
    public static final ResponseFormat JSON_OBJECT = new ResponseFormat("json_object", null);
}
