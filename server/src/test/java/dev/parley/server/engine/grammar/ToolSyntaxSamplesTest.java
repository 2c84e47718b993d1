package dev.parley.server.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.parley.api.FunctionCall;
import dev.parley.api.FunctionDefinition;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.ToolCall;
import dev.parley.server.engine.tools.ChatTools;
import dev.parley.server.engine.tools.ToolCallParser;
import dev.parley.server.engine.tools.ToolSyntax;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Whatever a tool syntax's grammar lets a model write is read back as calls of the given functions, with arguments
 * that are valid for each function's schema; and those calls, written again as the model writes them (for a history
 * the template does not show), are in the grammar and read back the same. Checked over seeded random schemas (nested
 * objects and arrays, enums and constants of awkward strings, formats, bounds, unions, property names with markup
 * characters in them) and random texts of each grammar ({@link GbnfSampler}), read a few characters at a time, both
 * when a call is required (the grammar from the first token) and when the model wrote words, then the trigger. llama.cpp's
 * own grammar matcher takes the first text of each grammar as the recognizer does.
 *
 * <p>{@code -Dparley.samples.seed=N} replays a run; {@code -Dparley.samples.schemas=N} sets how many schemas each
 * syntax gets.
 */
class ToolSyntaxSamplesTest {
    static final long SEED = Long.getLong("parley.samples.seed", 20261204L);
    static final int SCHEMAS = Integer.getInteger("parley.samples.schemas", 30);
    static final int TEXTS = 4;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** Arguments are checked as in the structured-output tests: networknt, draft 2020-12, formats asserted. */
    private static final SchemaRegistry VALIDATORS =
            SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    private static LlamaMatcher llama; // llama.cpp's own matcher takes every text too

    @BeforeAll
    static void open() {
        llama = new LlamaMatcher();
    }

    @AfterAll
    static void close() {
        llama.close();
    }

    @ParameterizedTest
    @EnumSource(ToolSyntax.class)
    void everyTextTheGrammarAllowsIsReadAsValidCallsThatWriteBackTheSame(ToolSyntax syntax) {
        var random = new Random(SEED ^ syntax.ordinal());
        int checked = 0;
        for (int s = 0; s < SCHEMAS; s++) {
            List<FunctionDefinition> functions = functions(random);
            List<String> params = new ArrayList<>();
            for (int i = 0; i < functions.size(); i++) params.add("tools[%d].function.parameters".formatted(i));
            boolean parallel = syntax != ToolSyntax.LLAMA3 && random.nextBoolean();
            for (boolean required : new boolean[] {true, false}) {
                boolean lazy = !required && syntax.trigger() != null;
                String gbnf;
                try {
                    gbnf = syntax.grammar(functions, params, parallel, !required && !lazy, lazy)
                            .gbnf();
                } catch (InvalidRequestException refused) {
                    continue; // a schema the grammar cannot honour is the caller's 400, not a text to read
                }
                var grammar = GbnfRecognizer.parse(gbnf);
                var sampler = new GbnfSampler(grammar, random, 12, 400);
                for (int t = 0; t < TEXTS; t++) {
                    String sampled = sampler.sample();
                    assertThat(grammar.accepts(sampled)).as(sampled).isTrue();
                    if (t == 0) { // one text a grammar: feeding it a token at a time to llama.cpp takes a while
                        assertThat(llama.accepts(gbnf, sampled))
                                .as("llama.cpp on " + sampled)
                                .isTrue();
                    }
                    String words = lazy && !syntax.triggerAtStart() ? "Sure. " : "";
                    String text = words + (lazy ? syntax.trigger() : "") + sampled;
                    String context = "%s schema %d%s:%n%s%n%s"
                            .formatted(syntax, s, required ? " (required)" : "", Json.write(functions), text);
                    var read = read(syntax, required, functions, text, 1 + random.nextInt(5));
                    if (read.calls.isEmpty()) {
                        // Only the generic syntax's words-or-calls grammar lets a model answer in words.
                        assertThat(syntax).as(context).isEqualTo(ToolSyntax.GENERIC);
                        assertThat(required).as(context).isFalse();
                        continue;
                    }
                    assertThat(read.text.toString().strip()).as(context).isEqualTo(words.strip());
                    if (!parallel) assertThat(read.calls).as(context).hasSize(1);
                    for (FunctionCall call : read.calls) {
                        FunctionDefinition function = functions.stream()
                                .filter(f -> f.name().equals(call.name()))
                                .findFirst()
                                .orElse(null);
                        assertThat(function)
                                .as(context + "\ncalled " + call.name())
                                .isNotNull();
                        JsonNode schema = function.parameters() == null ? NODES.objectNode() : function.parameters();
                        assertThat(VALIDATORS
                                        .getSchema(schema)
                                        .validate(
                                                Json.tree(call.arguments()),
                                                c -> c.executionConfig(config -> config.formatAssertionsEnabled(true))))
                                .as(context + "\nread " + call.arguments())
                                .isEmpty();
                    }
                    String written = syntax.written(read.calls, ChatTools.parameters(functions));
                    GbnfRecognizer whole = lazy
                            ? GbnfRecognizer.parse(syntax.grammar(functions, params, parallel, false, false)
                                    .gbnf())
                            : grammar;
                    if (keptAsWritten(syntax, read.calls)) {
                        assertThat(whole.accepts(written))
                                .as(context + "\nwritten back as\n" + written)
                                .isTrue();
                    }
                    var again = read(syntax, true, functions, written, 3);
                    assertThat(again.calls.size()).as(written).isEqualTo(read.calls.size());
                    for (int i = 0; i < read.calls.size(); i++) {
                        assertThat(again.calls.get(i).name())
                                .isEqualTo(read.calls.get(i).name());
                        assertThat(Json.tree(again.calls.get(i).arguments()))
                                .as(written)
                                .isEqualTo(Json.tree(read.calls.get(i).arguments()));
                    }
                    checked++;
                }
            }
        }
        assertThat(checked).as("texts read and written back").isGreaterThan(SCHEMAS);
    }

    /**
     * Whether calls read from a model's text are written back in a spelling the grammar has, which holds but for two
     * things the reading does not keep: a number's spelling (read as a JSON number, {@code 9590E98} is written back
     * {@code 9.59E101}, whose three-digit exponent the grammar does not take), and, in Qwen3-Coder's XML form, a line
     * break after a string ending in {@code <}, which the reader takes for markup.
     */
    private static boolean keptAsWritten(ToolSyntax syntax, List<FunctionCall> calls) {
        for (FunctionCall call : calls) {
            var pending = new ArrayList<JsonNode>(List.of(Json.tree(call.arguments())));
            while (!pending.isEmpty()) {
                JsonNode node = pending.removeLast();
                if (node.isNumber() && node.toString().contains("E")) return false;
                if (syntax == ToolSyntax.XML
                        && node.isTextual()
                        && node.asText().endsWith("<")) return false;
                node.forEach(pending::add);
            }
        }
        return true;
    }

    /** What a parser let through: words, and whole calls joined from their pieces. */
    private static final class Read implements ToolCallParser.Sink {
        final StringBuilder text = new StringBuilder();
        final List<FunctionCall> calls = new ArrayList<>();
        private final List<StringBuilder> arguments = new ArrayList<>();
        private final List<String> names = new ArrayList<>();

        @Override
        public void text(String words) {
            text.append(words);
        }

        @Override
        public void call(ToolCall piece) {
            if (piece.index() == names.size()) {
                names.add(piece.function().name());
                arguments.add(new StringBuilder());
            }
            assertThat(piece.index()).as("pieces come call by call").isEqualTo(names.size() - 1);
            arguments.getLast().append(piece.function().arguments());
        }

        Read done() {
            for (int i = 0; i < names.size(); i++)
                calls.add(new FunctionCall(names.get(i), arguments.get(i).toString()));
            return this;
        }
    }

    private static Read read(
            ToolSyntax syntax, boolean required, List<FunctionDefinition> functions, String text, int step) {
        var parser = new ToolCallParser(syntax, required, ChatTools.parameters(functions));
        var out = new Read();
        for (int i = 0; i < text.length(); i += step) {
            int end = Math.min(text.length(), i + step);
            if (end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) end++; // tokens are whole
            parser.append(text.substring(i, end), out);
            i = end - step;
        }
        parser.finish(out);
        return out.done();
    }

    /**
     * What a syntax's markup cannot hold is refused before a grammar is built, as a 400 naming the parameters: a
     * property name holding what ends a name there, a listed value holding what ends a value.
     */
    @ParameterizedTest
    @EnumSource(
            value = ToolSyntax.class,
            names = {"XML", "SEED", "MINIMAX", "ARG_KEY", "DSML_TOOL_CALLS", "MINICPM", "MINIMAX_M3", "GEMMA4", "LFM2"})
    void namesAndValuesTheMarkupCannotHoldAreRefused(ToolSyntax syntax) {
        String name = switch (syntax) {
            case XML, SEED, MINIMAX_M3 -> "a>b";
            case ARG_KEY -> "</arg_key>";
            case GEMMA4 -> "a:b";
            case LFM2 -> "with space";
            default -> "a\"b";
        };
        var named = FunctionDefinition.of(
                "f", null, Json.tree("{\"type\":\"object\",\"properties\":{" + Json.write(name) + ":{}}}"));
        assertThatThrownBy(() ->
                        syntax.grammar(List.of(named), List.of("tools[0].function.parameters"), false, false, false))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("'" + name + "' cannot be written")
                .extracting(e -> ((InvalidRequestException) e).error().param())
                .isEqualTo("tools[0].function.parameters");
        if (syntax == ToolSyntax.MINIMAX_M3 || syntax == ToolSyntax.GEMMA4 || syntax == ToolSyntax.LFM2) return;
        String closing = switch (syntax) {
            case ARG_KEY -> "</arg_value>";
            case DSML_TOOL_CALLS -> "</｜DSML｜parameter>";
            case MINICPM -> "</param>";
            default -> "</parameter>";
        };
        var listed = FunctionDefinition.of(
                "f",
                null,
                Json.tree("{\"type\":\"object\",\"properties\":{\"a\":{\"enum\":[\"x\"," + Json.write("1" + closing)
                        + "]}}}"));
        assertThatThrownBy(() ->
                        syntax.grammar(List.of(listed), List.of("tools[0].function.parameters"), false, false, false))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("the value '1" + closing + "' of 'a' cannot be written");
    }

    // Random functions and their parameters: the kinds of schema users give tools.

    private static final String[] NAMES = {"get_weather", "lookUp", "f", "send-mail", "a1_b2"};
    private static final String[] KEYS = {
        "city", "a", "days", "with space", "é", "x-y", "$ref", "a>b", "a\"b", "q=1", "</b>", "</parameter>", "CamelCase"
    };
    private static final String[] STRINGS = {
        "Paris",
        "",
        " lead",
        "a\"b",
        "back\\slash",
        "<b>",
        "</b>",
        "</parameter>",
        "line\nbreak",
        "1",
        "true",
        "null",
        "中文"
    };

    private static List<FunctionDefinition> functions(Random random) {
        List<FunctionDefinition> functions = new ArrayList<>();
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            String name = NAMES[(i + random.nextInt(NAMES.length)) % NAMES.length];
            if (functions.stream().anyMatch(f -> f.name().equals(name))) continue;
            functions.add(FunctionDefinition.of(name, null, random.nextInt(8) == 0 ? null : object(random, 2)));
        }
        return functions;
    }

    private static ObjectNode object(Random random, int depth) {
        ObjectNode schema = NODES.objectNode().put("type", "object");
        ObjectNode properties = schema.putObject("properties");
        ArrayNode required = NODES.arrayNode();
        int count = random.nextInt(4);
        for (int i = 0; i < count; i++) {
            String key = KEYS[random.nextInt(KEYS.length)];
            if (properties.has(key)) continue;
            properties.set(key, value(random, depth));
            if (random.nextBoolean()) required.add(key);
        }
        if (!required.isEmpty()) schema.set("required", required);
        if (random.nextBoolean()) schema.put("additionalProperties", false);
        return schema;
    }

    private static JsonNode value(Random random, int depth) {
        ObjectNode schema = NODES.objectNode();
        switch (random.nextInt(depth > 0 ? 15 : 12)) {
            case 0 -> schema.put("type", "string");
            case 1 -> {
                ArrayNode choices = schema.putArray("enum");
                for (int i = 0; i < 1 + random.nextInt(3); i++) choices.add(STRINGS[random.nextInt(STRINGS.length)]);
            }
            case 2 -> schema.put("type", "string").put("maxLength", random.nextInt(6));
            case 3 -> schema.put("type", "string").put("format", random.nextBoolean() ? "date" : "uuid");
            case 4 -> {
                schema.put("type", "integer");
                if (random.nextBoolean()) schema.put("minimum", random.nextInt(20) - 10);
                if (random.nextBoolean()) schema.put("maximum", 10 + random.nextInt(100));
            }
            case 5 -> schema.put("type", "number");
            case 6 -> schema.put("type", "boolean");
            case 7 -> schema.put("type", "null");
            case 8 -> schema.put("const", STRINGS[random.nextInt(STRINGS.length)]);
            case 9 -> schema.putArray("type").add("string").add("null");
            case 10 -> schema.put("type", "string").put("pattern", "^[a-z]{1,4}$");
            case 11 -> {
                ArrayNode choices = schema.putArray("enum");
                choices.add(1).add("1").add(NODES.nullNode()).add(false);
            }
            case 12 -> {
                schema.put("type", "array").set("items", value(random, depth - 1));
                if (random.nextBoolean()) schema.put("minItems", 1);
                if (random.nextBoolean()) schema.put("maxItems", 3);
            }
            case 13 -> {
                return object(random, depth - 1);
            }
            default -> {
                ArrayNode options = schema.putArray("anyOf");
                options.add(value(random, depth - 1)).add(value(random, depth - 1));
            }
        }
        return schema;
    }
}
