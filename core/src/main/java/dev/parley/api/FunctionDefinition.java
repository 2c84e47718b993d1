package dev.parley.api;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A function the model may call: in {@code tools[i].function} and in the legacy {@code functions} list.
 * {@code parameters} is a JSON Schema object, kept as JSON; {@code description}, {@code parameters} and
 * {@code strict} may be null.
 */
public record FunctionDefinition(String name, String description, JsonNode parameters, Boolean strict) {
    public static FunctionDefinition of(String name, String description, JsonNode parameters) {
        return new FunctionDefinition(name, description, parameters, null);
    }
}
