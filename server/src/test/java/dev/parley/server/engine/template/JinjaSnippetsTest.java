package dev.parley.server.engine.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * One behaviour per snippet (whitespace control, slices, tojson, namespace, loop variables, macros, undefined values,
 * string methods, filters, tests, Python printing), each compared with what jinja2 rendered: {@code snippets/cases.py}
 * holds the snippets, {@code snippets/render_snippets.py} wrote {@code snippets/expected.json}.
 */
class JinjaSnippetsTest {
    @TestFactory
    Stream<DynamicTest> rendersEachSnippetAsJinja2Does() throws IOException {
        JsonNode cases =
                new ObjectMapper().readTree(JinjaSnippetsTest.class.getResourceAsStream("snippets/expected.json"));
        Stream.Builder<DynamicTest> tests = Stream.builder();
        cases.properties().forEach(e -> tests.add(DynamicTest.dynamicTest(e.getKey(), () -> check(e.getValue()))));
        return tests.build();
    }

    /**
     * Templates drawn at random from the expressions, filters, tests, methods and whitespace control chat templates
     * use ({@code snippets/random_cases.py}, fixed seeds), compared with jinja2's renders.
     */
    @TestFactory
    Stream<DynamicTest> rendersRandomTemplatesAsJinja2Does() throws IOException {
        Stream.Builder<DynamicTest> tests = Stream.builder();
        for (String file : new String[] {"random-expressions.json", "random-whitespace.json"}) {
            JsonNode suite =
                    new ObjectMapper().readTree(JinjaSnippetsTest.class.getResourceAsStream("snippets/" + file));
            Map<String, Object> context = new LinkedHashMap<>();
            suite.get("context").properties().forEach(f -> context.put(f.getKey(), f.getValue()));
            int i = 0;
            for (JsonNode pair : suite.get("cases")) {
                String template = pair.get(0).textValue();
                String expected = pair.get(1).textValue();
                tests.add(DynamicTest.dynamicTest(file + " #" + i++, () -> {
                    if (expected.startsWith("!ERROR ")) {
                        assertThatThrownBy(() ->
                                        ChatTemplate.compile(template).render(context, ReferenceRendersTest.CLOCK))
                                .as(template)
                                .isInstanceOfSatisfying(
                                        TemplateException.class,
                                        e -> assertThat(e.kind())
                                                .isEqualTo(
                                                        expected.equals("!ERROR UndefinedError")
                                                                ? TemplateException.Kind.UNDEFINED
                                                                : TemplateException.Kind.TYPE));
                    } else {
                        assertThat(ChatTemplate.compile(template).render(context, ReferenceRendersTest.CLOCK))
                                .as(template)
                                .isEqualTo(expected);
                    }
                }));
            }
        }
        return tests.build();
    }

    private static void check(JsonNode snippet) {
        String template = snippet.get("template").textValue();
        String expected = snippet.get("expected").textValue();
        Map<String, Object> context = new LinkedHashMap<>();
        snippet.get("context").properties().forEach(f -> context.put(f.getKey(), f.getValue()));
        if (expected.startsWith("!ERROR ")) {
            TemplateException.Kind kind = switch (expected.substring("!ERROR ".length())) {
                case "TemplateError" -> TemplateException.Kind.RAISED;
                case "TypeError" -> TemplateException.Kind.TYPE;
                case "UndefinedError" -> TemplateException.Kind.UNDEFINED;
                case "SecurityError" -> TemplateException.Kind.SECURITY;
                default -> TemplateException.Kind.SYNTAX; // TemplateSyntaxError, TemplateAssertionError
            };
            assertThatThrownBy(() -> ChatTemplate.compile(template).render(context, ReferenceRendersTest.CLOCK))
                    .isInstanceOfSatisfying(
                            TemplateException.class, e -> assertThat(e.kind()).isEqualTo(kind));
        } else {
            assertThat(ChatTemplate.compile(template).render(context, ReferenceRendersTest.CLOCK))
                    .isEqualTo(expected);
        }
    }
}
