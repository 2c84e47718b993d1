package dev.parley.server.engine.grammar;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The table of schemas in {@code schemas.json}: each with instances labelled valid, invalid, or narrower (valid
 * JSON for the schema that the grammar deliberately never writes, such as keys out of declared order). An instance
 * is a JSON value, tried both compact and pretty-printed, or {@code {"$text": "..."}} for exact text, or
 * {@code {"$repeat": v, "times": n}} for a long one: a string or array {@code v} concatenated n times.
 */
record SchemaCases(List<Case> cases) {
    enum Label {
        VALID,
        INVALID,
        NARROWER
    }

    record Instance(String text, Label label) {}

    record Case(String name, JsonNode schema, List<Instance> instances) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** Reads JSON strictly, as a validator should see model output: no trailing tokens, no duplicate keys. */
    static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    static SchemaCases load() {
        try (InputStream in = SchemaCases.class.getResourceAsStream("schemas.json")) {
            List<Case> cases = new ArrayList<>();
            for (JsonNode entry : STRICT.readTree(in)) {
                List<Instance> instances = new ArrayList<>();
                add(instances, entry.get("valid"), Label.VALID);
                add(instances, entry.get("invalid"), Label.INVALID);
                add(instances, entry.get("narrower"), Label.NARROWER);
                cases.add(new Case(entry.get("name").asText(), entry.get("schema"), instances));
            }
            return new SchemaCases(cases);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void add(List<Instance> instances, JsonNode values, Label label) throws IOException {
        for (JsonNode value : values) {
            if (value.isObject() && value.has("$text")) {
                instances.add(new Instance(value.get("$text").asText(), label));
            } else if (value.isObject() && value.has("$repeat")) {
                instances.add(new Instance(
                        repeat(value.get("$repeat"), value.get("times").asInt()), label));
            } else {
                instances.add(new Instance(STRICT.writeValueAsString(value), label));
                if (value.isContainerNode() && !value.isEmpty()) {
                    instances.add(
                            new Instance(STRICT.writerWithDefaultPrettyPrinter().writeValueAsString(value), label));
                }
            }
        }
    }

    private static String repeat(JsonNode unit, int times) throws IOException {
        if (unit.isTextual()) {
            return STRICT.writeValueAsString(unit.asText().repeat(times));
        }
        com.fasterxml.jackson.databind.node.ArrayNode array = STRICT.createArrayNode();
        for (int i = 0; i < times; i++) {
            array.addAll((com.fasterxml.jackson.databind.node.ArrayNode) unit);
        }
        return STRICT.writeValueAsString(array);
    }

    /** The text as a JSON value, or empty when it is not exactly one JSON value. */
    static Optional<JsonNode> parse(String text) {
        try {
            return Optional.of(STRICT.readTree(text));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
