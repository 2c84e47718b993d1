package dev.parley.server.engine.grammar;

import java.util.Set;

/** The JSON Schema keywords the converter knows, by what they do to a grammar. */
final class Keywords {
    private Keywords() {}

    /**
     * Say nothing about which values are valid; ignored. {@code $defs} and {@code definitions} only hold schemas for
     * {@code $ref}; OpenAPI's {@code discriminator} (which Pydantic writes beside {@code oneOf}) only names the
     * property that {@link OneOf} checks anyway.
     */
    static final Set<String> ANNOTATIONS = Set.of(
            "title",
            "description",
            "$comment",
            "examples",
            "default",
            "deprecated",
            "readOnly",
            "writeOnly",
            "$schema",
            "$id",
            "$defs",
            "definitions",
            "discriminator");

    static final Set<String> OBJECT = Set.of("properties", "required", "additionalProperties");
    static final Set<String> ARRAY =
            Set.of("items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems");
    static final Set<String> STRING = Set.of("minLength", "maxLength", "pattern", "format");
    static final Set<String> NUMBER = Set.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum");

    /** Every keyword honoured somewhere; anything else is refused where it appears. */
    static final Set<String> KNOWN = union(
            ANNOTATIONS,
            OBJECT,
            ARRAY,
            STRING,
            NUMBER,
            Set.of("type", "nullable", "enum", "const", "anyOf", "oneOf", "allOf", "$ref"));

    @SafeVarargs
    static Set<String> union(Set<String>... sets) {
        return java.util.Arrays.stream(sets)
                .flatMap(Set::stream)
                .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }
}
