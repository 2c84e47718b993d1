package dev.parley.server.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaModel;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** llama.cpp's own grammar parser (release v0.5.0, through {@code llama_sampler_init_grammar}) takes every grammar we write. */
class LlamaGrammarParserTest {
    private static LlamaModel model;

    @BeforeAll
    static void open() {
        model = LlamaModel.open(DemoModel.path());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @TestFactory
    Stream<DynamicTest> parsesTheGrammarOfEverySchemaInTheTable() {
        return SchemaCases.load().cases().stream()
                .map(c -> DynamicTest.dynamicTest(
                        c.name(),
                        () -> assertThat(model.checkGrammar(
                                        JsonGrammar.fromSchema(c.schema()).gbnf(), JsonGrammar.ROOT))
                                .isTrue()));
    }

    @TestFactory
    Stream<DynamicTest> parsesGrammarsAtTheLimits() {
        return Stream.of(
                        "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1000,\"maxItems\":1000}",
                        "{\"type\":\"array\",\"maxItems\":1000}",
                        "{\"type\":\"string\",\"minLength\":999,\"maxLength\":1000}",
                        "{\"type\":\"string\",\"pattern\":\"^(a{0,1000}b){0,1000}$\"}",
                        "{\"type\":\"string\",\"pattern\":\"^((x[0-9]{1,1000}){2,1000}y){0,1000}$\"}",
                        "{\"type\":\"string\",\"pattern\":\"^$|^(|a)(){3}[\\\\s\\\\S]{0}$\"}",
                        "{\"type\":\"string\",\"maxLength\":0}",
                        "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\",\"maxLength\":0}}",
                        "{\"type\":\"string\",\"maxLength\":100000}",
                        "{\"type\":\"array\",\"minItems\":99999,\"maxItems\":100000}",
                        "{\"type\":\"string\",\"pattern\":\"^(a{0,1000}b){0,100000}$\"}",
                        "{\"type\":\"integer\",\"minimum\":-9999999999999999,\"maximum\":9999999999999999}",
                        "{\"type\":\"number\",\"exclusiveMinimum\":-123456789,\"maximum\":987654321}")
                .map(text -> DynamicTest.dynamicTest(text, () -> {
                    JsonNode schema = SchemaCases.STRICT.readTree(text);
                    assertThat(model.checkGrammar(JsonGrammar.fromSchema(schema).gbnf(), JsonGrammar.ROOT))
                            .isTrue();
                }));
    }

    @Test
    void parsesTheAnyObjectGrammar() {
        assertThat(model.checkGrammar(JsonGrammar.anyObject().gbnf(), JsonGrammar.ROOT))
                .isTrue();
    }

    @Test
    void refusesWhatLlamaCppCannotParse() {
        // The check is only worth something if it can fail.
        assertThat(model.checkGrammar("root ::= \"a\" (", "root")).isFalse();
        assertThat(model.checkGrammar("root ::= missing\n", "root")).isFalse();
        assertThat(model.checkGrammar("root ::= root \"a\" | \"b\"\n", "root")).isFalse();
        assertThat(model.checkGrammar("start ::= \"a\"\n", "root")).isFalse();
        assertThat(model.checkGrammar("root ::= (\"a\"{0,100}){0,100}\n", "root"))
                .isFalse();
    }
}
