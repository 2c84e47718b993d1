package dev.parley.server.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.parley.api.Json;
import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Everything a structured output's grammar lets a model write is valid for its schema: seeded random schemas (every
 * keyword the converter takes, nested, with awkward bounds, patterns, formats, unions, references), random texts of
 * each grammar ({@link GbnfSampler}), each one parsed strictly as JSON and checked by an independent validator
 * (networknt, draft 2020-12, formats asserted). llama.cpp's own grammar matcher takes every text as the recognizer
 * does.
 *
 * <p>{@code -Dparley.samples.seed=N} replays a run; {@code -Dparley.samples.schemas=N} sets how many schemas each
 * seed gets.
 */
class JsonGrammarSamplesTest {
    static final long SEED = Long.getLong("parley.samples.seed", 20261204L);
    static final int SCHEMAS = Integer.getInteger("parley.samples.schemas", 150);
    static final int TEXTS = 5;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final SchemaRegistry VALIDATORS =
            SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static LlamaMatcher llama; // llama.cpp's own matcher takes every text too

    /**
     * JSON as a client reads it: strictly, but for a key written twice, which no grammar can rule out (a grammar cannot
     * remember which keys an object has); the last one counts, as in the clients. Keys a schema declares are never
     * written among its additional ones, so that a later duplicate cannot pass one off as another.
     */
    private static final ObjectMapper LENIENT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    @BeforeAll
    static void open() {
        llama = new LlamaMatcher();
    }

    @AfterAll
    static void close() {
        llama.close();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void everyTextTheGrammarAllowsIsValidForTheSchema(int run) {
        var random = new Random(SEED + run);
        int checked = 0;
        for (int s = 0; s < SCHEMAS; s++) {
            ObjectNode schema = withDefinitions(random, value(random, 3));
            String gbnf;
            try {
                gbnf = JsonGrammar.fromSchema(schema).gbnf();
            } catch (SchemaException refused) {
                continue; // the caller's 400
            }
            var grammar = GbnfRecognizer.parse(gbnf);
            var sampler = new GbnfSampler(grammar, random, 14, 600);
            Schema validator = VALIDATORS.getSchema(schema);
            for (int t = 0; t < TEXTS; t++) {
                String text = sampler.sample();
                String context = "schema %d: %s%ntext: %s".formatted(s, Json.write(schema), text);
                assertThat(grammar.accepts(text)).as(context).isTrue();
                assertThat(llama.accepts(gbnf, text))
                        .as("llama.cpp on " + context)
                        .isTrue();
                JsonNode value;
                try {
                    value = LENIENT.readTree(text);
                } catch (IOException e) {
                    throw new AssertionError(context + "\nnot JSON: " + e.getMessage(), e);
                }
                var errors = validator.validate(
                        value, context1 -> context1.executionConfig(config -> config.formatAssertionsEnabled(true)));
                assertThat(errors).as(context).isEmpty();
                checked++;
            }
        }
        assertThat(checked).as("texts checked").isGreaterThan(SCHEMAS);
    }

    // Random schemas: what users give response_format, and the awkward corners of each keyword.

    private static final String[] KEYS = {"a", "name", "with space", "é", "q\"uote", "back\\slash", "$id", ""};
    private static final String[] STRINGS = {"x", "", "a\"b", "back\\slash", "line\nbreak", "tab\t", "中文", "😀"};
    private static final String[] PATTERNS = {
        "^[a-z]+$", "^\\d{3}-\\d{4}$", "^(foo|bar)+$", "^[^\"]*$", "a.c", "^\\w{2,5}$", "^[A-F0-9]{1,8}$", "^(ab|c)?d*$"
    };
    private static final String[] FORMATS = {"date", "time", "date-time", "uuid", "ipv4"};

    /** The schema with, sometimes, definitions it refers to (one of them recursive). */
    private static ObjectNode withDefinitions(Random random, JsonNode root) {
        ObjectNode schema = root.isObject() ? (ObjectNode) root : NODES.objectNode();
        if (random.nextInt(4) != 0) return schema;
        ObjectNode wrapper = NODES.objectNode();
        ObjectNode defs = wrapper.putObject("$defs");
        defs.set("leaf", value(random, 1));
        ObjectNode tree = defs.putObject("tree").put("type", "object");
        tree.putObject("properties")
                .putObject("children")
                .put("type", "array")
                .putObject("items")
                .put("$ref", "#/$defs/tree");
        ((ObjectNode) tree.get("properties")).putObject("label").put("$ref", "#/$defs/leaf");
        tree.putArray("required").add("label");
        tree.put("additionalProperties", false);
        wrapper.put("type", "object");
        ObjectNode properties = wrapper.putObject("properties");
        properties.set("main", schema);
        properties.putObject("tree").put("$ref", "#/$defs/tree");
        properties.putObject("leaf").put("$ref", "#/$defs/leaf");
        wrapper.putArray("required").add("main");
        return wrapper;
    }

    private static JsonNode value(Random random, int depth) {
        ObjectNode schema = NODES.objectNode();
        switch (random.nextInt(depth > 0 ? 16 : 11)) {
            case 0 -> {
                schema.put("type", "string");
                if (random.nextBoolean()) schema.put("minLength", random.nextInt(4));
                if (random.nextBoolean()) schema.put("maxLength", 2 + random.nextInt(8));
            }
            case 1 -> schema.put("type", "string").put("pattern", PATTERNS[random.nextInt(PATTERNS.length)]);
            case 2 -> schema.put("type", "string").put("format", FORMATS[random.nextInt(FORMATS.length)]);
            case 3 -> {
                schema.put("type", "integer");
                bound(random, schema, "minimum", "exclusiveMinimum", random.nextInt(2000) - 1000);
                bound(random, schema, "maximum", "exclusiveMaximum", 1000 + random.nextInt(100000));
            }
            case 4 -> {
                schema.put("type", "number");
                bound(random, schema, "minimum", "exclusiveMinimum", (random.nextInt(4000) - 2000) / 8.0);
                bound(random, schema, "maximum", "exclusiveMaximum", 300 + random.nextInt(4000) / 16.0);
            }
            case 5 -> schema.put("type", random.nextBoolean() ? "boolean" : "null");
            case 6 -> {
                ArrayNode choices = schema.putArray("enum");
                for (int i = 0; i < 1 + random.nextInt(4); i++) choices.add(literal(random));
            }
            case 7 -> schema.set("const", literal(random));
            case 8 -> schema.putArray("type").add("string").add(random.nextBoolean() ? "null" : "integer");
            case 9 -> {
                schema.put("type", "integer");
                bound(random, schema, "minimum", "exclusiveMinimum", -random.nextInt(50));
                bound(random, schema, "maximum", "exclusiveMaximum", random.nextInt(50));
            }
            case 10 -> {} // anything
            case 11 -> {
                schema.put("type", "array").set("items", value(random, depth - 1));
                if (random.nextBoolean()) schema.put("minItems", random.nextInt(3));
                if (random.nextBoolean()) schema.put("maxItems", 1 + random.nextInt(4));
            }
            case 12 -> {
                schema.put("type", "array");
                ArrayNode prefix = schema.putArray("prefixItems");
                for (int i = 0; i < 1 + random.nextInt(3); i++) prefix.add(value(random, depth - 1));
                if (random.nextBoolean()) schema.put("items", false);
            }
            case 13 -> {
                return object(random, depth);
            }
            case 14 -> {
                ArrayNode options = schema.putArray(random.nextBoolean() ? "anyOf" : "oneOf");
                options.add(value(random, depth - 1)).add(value(random, depth - 1));
            }
            default -> {
                ArrayNode parts = schema.putArray("allOf");
                parts.add(object(random, depth - 1));
                parts.add(NODES.objectNode().put("type", "object"));
            }
        }
        return schema;
    }

    private static ObjectNode object(Random random, int depth) {
        ObjectNode schema = NODES.objectNode().put("type", "object");
        ObjectNode properties = schema.putObject("properties");
        ArrayNode required = NODES.arrayNode();
        for (int i = 0; i < random.nextInt(4); i++) {
            String key = KEYS[random.nextInt(KEYS.length)];
            if (properties.has(key)) continue;
            properties.set(key, value(random, Math.max(0, depth - 1)));
            if (random.nextBoolean()) required.add(key);
        }
        if (!required.isEmpty()) schema.set("required", required);
        switch (random.nextInt(3)) {
            case 0 -> schema.put("additionalProperties", false);
            case 1 -> schema.set("additionalProperties", value(random, 0));
            default -> {}
        }
        return schema;
    }

    private static void bound(Random random, ObjectNode schema, String inclusive, String exclusive, double at) {
        if (random.nextInt(3) == 0) return;
        String keyword = random.nextBoolean() ? inclusive : exclusive;
        if (at == Math.rint(at)) schema.put(keyword, (long) at);
        else schema.put(keyword, at);
    }

    private static JsonNode literal(Random random) {
        return switch (random.nextInt(6)) {
            case 0 -> NODES.textNode(STRINGS[random.nextInt(STRINGS.length)]);
            case 1 -> NODES.numberNode(random.nextInt(200) - 100);
            case 2 -> NODES.numberNode(random.nextInt(2000) / 8.0);
            case 3 -> NODES.booleanNode(random.nextBoolean());
            case 4 -> NODES.nullNode();
            default ->
                NODES.objectNode()
                        .put("k", STRINGS[random.nextInt(STRINGS.length)])
                        .set("l", NODES.arrayNode().add(1));
        };
    }
}
