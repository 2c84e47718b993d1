package dev.parley.server.engine.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
    private static final String QWEN_LIKE = """
        {%- for message in messages %}
            {{- '<|im_start|>' + message.role + '\\n' + message.content | trim + '<|im_end|>\\n' }}
        {%- endfor %}
        {%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}\
        """;

    @Test
    void rendersPlainJavaMapsAndJacksonTreesAlike() throws Exception {
        String json = """
            {"messages": [{"role": "user", "content": " Hi "}], "add_generation_prompt": true}\
            """;
        Map<String, Object> plain =
                Map.of("messages", List.of(Map.of("role", "user", "content", " Hi ")), "add_generation_prompt", true);
        Map<String, Object> tree = new HashMap<>();
        new ObjectMapper().readTree(json).properties().forEach(e -> tree.put(e.getKey(), e.getValue()));

        ChatTemplate template = ChatTemplate.compile(QWEN_LIKE);

        String expected = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
        assertThat(template.render(plain)).isEqualTo(expected);
        assertThat(template.render(tree)).isEqualTo(expected);
    }

    @Test
    void javaNumbersBecomePythonIntsAndFloats() {
        var template = ChatTemplate.compile("{{ [i, l, f, d, big] | tojson }} {{ i is integer }} {{ f is float }}");
        var context =
                Map.<String, Object>of("i", 2, "l", 3L, "f", 1.5f, "d", 0.1, "big", new java.math.BigDecimal("2.50"));
        assertThat(template.render(context)).isEqualTo("[2, 3, 1.5, 0.1, 2.5] True True");
    }

    @Test
    void strftimeNowFormatsTheInjectedClock() {
        Clock clock = Clock.fixed(Instant.parse("2025-01-05T08:09:10Z"), ZoneOffset.UTC);
        assertThat(ChatTemplate.compile("{{ strftime_now('%d %b %Y, %A %H:%M') }}")
                        .render(Map.of(), clock))
                .isEqualTo("05 Jan 2025, Sunday 08:09");
    }

    @Test
    void leavesTheCallersContextUnchanged() {
        List<Object> messages = new ArrayList<>(List.of(new HashMap<>(Map.of("role", "user"))));
        ChatTemplate.compile("{% set ns = namespace(m=messages) %}{% set messages = [] %}{{ ns.m | length }}")
                .render(Map.of("messages", messages));
        assertThat(messages).hasSize(1);
    }

    @Test
    void isSafeToRenderFromManyThreadsAtOnce() throws Exception {
        ChatTemplate template = ChatTemplate.compile(QWEN_LIKE);
        List<Callable<String>> renders = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            String content = "message " + i;
            renders.add(() -> template.render(Map.of("messages", List.of(Map.of("role", "user", "content", content)))));
        }
        try (var pool = Executors.newFixedThreadPool(8)) {
            List<Future<String>> results = pool.invokeAll(renders);
            for (int i = 0; i < results.size(); i++) {
                assertThat(results.get(i).get()).isEqualTo("<|im_start|>user\nmessage " + i + "<|im_end|>\n");
            }
        }
    }

    @Test
    void reportsSyntaxErrorsWithTheirLine() {
        assertThatThrownBy(() -> ChatTemplate.compile("line one\n{% if x %}\n{{ x + }}\n{% endif %}"))
                .isInstanceOfSatisfying(TemplateException.class, e -> {
                    assertThat(e.kind()).isEqualTo(TemplateException.Kind.SYNTAX);
                    assertThat(e.getMessage()).startsWith("line 3:");
                });
        assertThatThrownBy(() -> ChatTemplate.compile("{% for x in y %}unclosed"))
                .isInstanceOfSatisfying(
                        TemplateException.class, e -> assertThat(e.kind()).isEqualTo(TemplateException.Kind.SYNTAX));
        assertThatThrownBy(() -> ChatTemplate.compile("{% exec 'x' %}"))
                .isInstanceOfSatisfying(
                        TemplateException.class, e -> assertThat(e.kind()).isEqualTo(TemplateException.Kind.SYNTAX));
    }

    @Test
    void raiseExceptionCarriesTheTemplatesMessage() {
        assertThatThrownBy(() -> ChatTemplate.compile("{{ raise_exception('System role not supported') }}")
                        .render(Map.of()))
                .isInstanceOfSatisfying(TemplateException.class, e -> {
                    assertThat(e.kind()).isEqualTo(TemplateException.Kind.RAISED);
                    assertThat(e.getMessage()).isEqualTo("System role not supported");
                });
    }

    // ---- sandbox bounds

    @Test
    void stopsALoopThatWouldRunForever() {
        var template = ChatTemplate.compile(
                "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}{% endfor %}{%"
                        + " endfor %}{% endfor %}");
        assertLimit(() -> template.withBounds(100_000, 1 << 20).render(Map.of()));
    }

    @Test
    void refusesRangesLargerThanJinja2sSandboxAllows() {
        assertLimit(() -> ChatTemplate.compile("{{ range(1000000) | length }}").render(Map.of()));
    }

    @Test
    void stopsOutputThatWouldExhaustMemory() {
        var template = ChatTemplate.compile("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}");
        assertLimit(() -> template.withBounds(Long.MAX_VALUE, 1 << 20).render(Map.of()));
        assertLimit(() -> ChatTemplate.compile("{{ 'x' * 100000000000 }}")
                .withBounds(1000, 1 << 20)
                .render(Map.of()));
        assertLimit(() -> ChatTemplate.compile(
                        "{% set ns = namespace(s='xx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor"
                                + " %}")
                .withBounds(1000, 1 << 20)
                .render(Map.of()));
    }

    @Test
    void stopsUnboundedRecursionBeforeTheStackOverflows() {
        var template = ChatTemplate.compile("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        assertLimit(() -> template.render(Map.of()));
    }

    @Test
    void refusesTemplatesNestedTooDeeplyToParse() {
        assertLimit(() -> ChatTemplate.compile("{{ " + "(".repeat(10_000) + "1" + ")".repeat(10_000) + " }}"));
        assertLimit(() -> ChatTemplate.compile("{% if x %}".repeat(5_000) + "{% endif %}".repeat(5_000)));
        assertLimit(() -> ChatTemplate.compile("{{ " + "not ".repeat(10_000) + "x }}"));
        assertLimit(() -> ChatTemplate.compile("{{ " + "-".repeat(10_000) + "1 }}"));
    }

    @Test
    void refusesContextDataNestedTooDeeply() {
        Object nested = List.of();
        for (int i = 0; i < 200_000; i++) nested = List.of(nested);
        Object deep = nested;
        assertLimit(() -> ChatTemplate.compile("{{ x }}").render(Map.of("x", deep)));
    }

    @Test
    void refusesBigIntegersInsteadOfWrapping() {
        assertLimit(() -> ChatTemplate.compile("{{ 2 ** 64 }}").render(Map.of()));
        assertLimit(() -> ChatTemplate.compile("{{ 9223372036854775807 + 1 }}").render(Map.of()));
    }

    @Test
    void forbidsChangingListsAndDictsAndReachingPythonInternals() {
        for (String source : List.of(
                "{{ messages.append(1) }}",
                "{{ messages[0].update({}) }}",
                "{{ messages.pop() }}",
                "{{ messages.__class__.__mro__() }}")) {
            assertThatThrownBy(() -> ChatTemplate.compile(source).render(Map.of("messages", List.of(Map.of("a", 1)))))
                    .as(source)
                    .isInstanceOfSatisfying(
                            TemplateException.class,
                            e -> assertThat(e.kind()).isEqualTo(TemplateException.Kind.SECURITY));
        }
    }

    @Test
    void aListTheTemplateMadeMayChangeEachRenderAndLoopGettingItsOwn() {
        var template = ChatTemplate.compile(
                "{%- set ns = namespace(ids=[]) -%}{%- for m in messages -%}{%- set _ = ns.ids.append(m.a) -%}"
                        + "{%- endfor -%}{%- set first = ns.ids.pop(0) -%}{%- set _ = ns.ids.insert(-9, 0) -%}"
                        + "{%- set _ = ns.ids.extend([7, 8]) -%}{%- set _ = ns.ids.remove(8) -%}"
                        + "{{ first }} {{ ns.ids }}{% for i in [1, 2] %} {% set fresh = [] %}"
                        + "{%- set _ = fresh.append(i) %}{{ fresh }}{% endfor %}");
        var messages = List.of(Map.of("a", 1), Map.of("a", 2), Map.of("a", 3));

        assertThat(template.render(Map.of("messages", messages))).isEqualTo("1 [0, 2, 3, 7] [1] [2]");
        assertThat(template.render(Map.of("messages", messages)))
                .as("a second render starts from its own empty list")
                .isEqualTo("1 [0, 2, 3, 7] [1] [2]");
        assertThatThrownBy(() ->
                        ChatTemplate.compile("{% set l = [] %}{{ l.pop() }}").render(Map.of()))
                .isInstanceOf(TemplateException.class)
                .hasMessageContaining("pop from empty list");
        assertLimit(() -> ChatTemplate.compile(
                        "{% set l = ['x'] %}{% for i in range(40) %}{% set _ = l.extend(l) %}{% endfor %}")
                .render(Map.of()));
    }

    @Test
    void aMethodCalledWithoutItsArgumentIsATemplateErrorAsInPython() {
        for (String source : List.of(
                "{{ [1].index() }}", "{{ [1].count() }}", "{{ 'a'.join() }}", "{{ {}.get() }}", "{{ range() }}")) {
            assertThatThrownBy(() -> ChatTemplate.compile(source).render(Map.of("x", "a")))
                    .as(source)
                    .isInstanceOfSatisfying(
                            TemplateException.class, e -> assertThat(e.kind()).isEqualTo(TemplateException.Kind.TYPE));
        }
    }

    private static void assertLimit(org.assertj.core.api.ThrowableAssert.ThrowingCallable render) {
        assertThatThrownBy(render)
                .isInstanceOfSatisfying(
                        TemplateException.class, e -> assertThat(e.kind()).isEqualTo(TemplateException.Kind.LIMIT));
    }
}
