package dev.parley.server.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * llama.cpp's own grammar matcher, as the sampler runs it ({@link LlamaMatcher}), agrees with the recogniser on every
 * instance of the table.
 */
class LlamaGrammarSamplingTest {
    private static LlamaMatcher llama;

    @BeforeAll
    static void load() {
        llama = new LlamaMatcher();
    }

    @AfterAll
    static void free() {
        llama.close();
    }

    @TestFactory
    Stream<DynamicTest> llamaCppsMatcherAgreesWithTheRecogniser() {
        return SchemaCases.load().cases().stream()
                .map(c -> DynamicTest.dynamicTest(c.name(), () -> {
                    String gbnf = JsonGrammar.fromSchema(c.schema()).gbnf();
                    GbnfRecognizer recogniser = GbnfRecognizer.parse(gbnf);
                    for (SchemaCases.Instance instance : c.instances()) {
                        assertThat(llama.accepts(gbnf, instance.text()))
                                .as("llama.cpp on %s (labelled %s)", instance.text(), instance.label())
                                .isEqualTo(recogniser.accepts(instance.text()))
                                .isEqualTo(instance.label() == SchemaCases.Label.VALID);
                    }
                }));
    }
}
