package dev.parley.server.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Each schema's grammar accepts exactly the instances an independent JSON Schema validator (networknt, draft
 * 2020-12, formats asserted) calls valid, except the ones labelled narrower, which it must reject by design.
 */
class JsonGrammarTest {
    private static final SchemaRegistry VALIDATORS =
            SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

    @TestFactory
    Stream<DynamicTest> grammarsAcceptValidInstancesAndRejectInvalidOnes() {
        return SchemaCases.load().cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c)));
    }

    private static void check(SchemaCases.Case c) {
        Schema validator = VALIDATORS.getSchema(c.schema());
        String gbnf = JsonGrammar.fromSchema(c.schema()).gbnf();
        GbnfRecognizer grammar = GbnfRecognizer.parse(gbnf);
        for (SchemaCases.Instance instance : c.instances()) {
            Optional<com.fasterxml.jackson.databind.JsonNode> value = SchemaCases.parse(instance.text());
            boolean valid = value.isPresent()
                    && validator
                            .validate(
                                    value.get(),
                                    context -> context.executionConfig(config -> config.formatAssertionsEnabled(true)))
                            .isEmpty();
            assertThat(valid)
                    .as("validator on %s (labelled %s)", instance.text(), instance.label())
                    .isEqualTo(instance.label() != SchemaCases.Label.INVALID);
            assertThat(grammar.accepts(instance.text()))
                    .as("grammar on %s (labelled %s)\n%s", instance.text(), instance.label(), gbnf)
                    .isEqualTo(instance.label() == SchemaCases.Label.VALID);
        }
    }

    @Test
    void theTableCoversEveryFeatureWithValidAndInvalidInstances() {
        List<SchemaCases.Case> cases = SchemaCases.load().cases();
        assertThat(cases).hasSizeGreaterThanOrEqualTo(40);
        assertThat(cases)
                .allSatisfy(c -> assertThat(c.instances()).anyMatch(i -> i.label() == SchemaCases.Label.VALID));
        String all = cases.stream().map(c -> c.schema().toString()).reduce("", String::concat);
        for (String keyword : List.of(
                "\"properties\"",
                "\"required\"",
                "\"additionalProperties\"",
                "\"enum\"",
                "\"const\"",
                "\"items\"",
                "\"prefixItems\"",
                "\"minItems\"",
                "\"maxItems\"",
                "\"anyOf\"",
                "\"oneOf\"",
                "\"allOf\"",
                "\"$ref\"",
                "\"$defs\"",
                "\"definitions\"",
                "\"minLength\"",
                "\"maxLength\"",
                "\"format\"",
                "\"pattern\"",
                "\"minimum\"",
                "\"maximum\"",
                "\"exclusiveMinimum\"",
                "\"exclusiveMaximum\"")) {
            assertThat(all).as("a schema uses %s", keyword).contains(keyword);
        }
    }

    @Test
    void anyObjectAcceptsEveryJsonObjectAndNothingElse() {
        GbnfRecognizer grammar = GbnfRecognizer.parse(JsonGrammar.anyObject().gbnf());
        assertThat(grammar.accepts("{}")).isTrue();
        assertThat(grammar.accepts("{\"a\": [1, -2.5e3, \"x\\u00e9\", {\"b\": null}, true], \"c\" : {}}"))
                .isTrue();
        assertThat(grammar.accepts("{\n  \"a\": 1\n}")).isTrue();
        assertThat(grammar.accepts("[]")).isFalse();
        assertThat(grammar.accepts("\"x\"")).isFalse();
        assertThat(grammar.accepts("{\"a\" 1}")).isFalse();
        assertThat(grammar.accepts("{'a': 1}")).isFalse();
    }

    @Test
    void grammarsArePlainAsciiWithARootRule() {
        for (SchemaCases.Case c : SchemaCases.load().cases()) {
            String gbnf = JsonGrammar.fromSchema(c.schema()).gbnf();
            assertThat(gbnf).startsWith(JsonGrammar.ROOT + " ::= ");
            assertThat(gbnf.chars()).allMatch(ch -> ch == '\n' || (ch >= 0x20 && ch < 0x7F));
        }
    }
}
