package dev.parley.server.engine.template;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every published template in {@code templates/} rendered with every conversation in {@code conversations/}, compared
 * byte for byte with what Python's jinja2 rendered ({@code expected/}, written by {@code render_reference.py}).
 * {@code not-exact.txt} lists the pairs that do not match yet, each with its reason; a listed pair that starts to
 * match fails too, so the list only shrinks.
 */
class ReferenceRendersTest {
    /** The date {@code render_reference.py} gives {@code strftime_now}. */
    static final Clock CLOCK = Clock.fixed(Instant.parse("2024-07-26T10:30:00Z"), ZoneOffset.UTC);

    private static final ObjectMapper JSON = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> rendersEveryTemplateAsJinja2Does() throws IOException {
        Path root = resources();
        Map<String, String> notExact = notExact(root);
        List<DynamicTest> tests = new ArrayList<>();
        for (Path template : list(root.resolve("templates"), ".jinja")) {
            String name = strip(template, ".jinja");
            for (Path conversation : list(root.resolve("conversations"), ".json")) {
                String pair = name + "." + strip(conversation, ".json");
                Path expected = root.resolve("expected").resolve(pair + ".txt");
                tests.add(DynamicTest.dynamicTest(
                        pair, () -> check(template, conversation, expected, notExact.get(pair))));
            }
        }
        return tests.stream();
    }

    @Test
    void listsOnlyPairsThatExist() throws IOException {
        Path root = resources();
        for (String pair : notExact(root).keySet()) {
            assertThat(root.resolve("expected").resolve(pair + ".txt")).as(pair).exists();
        }
    }

    private static void check(Path templateFile, Path conversationFile, Path expectedFile, String knownDifference)
            throws IOException {
        String expected = Files.readString(expectedFile, StandardCharsets.UTF_8);
        Map<String, Object> context = context(conversationFile);
        String source = Files.readString(templateFile, StandardCharsets.UTF_8);
        if (knownDifference != null) {
            assertThat(outcome(source, context))
                    .as(
                            "listed in not-exact.txt (%s) but now renders as jinja2 does: remove it from the list",
                            knownDifference)
                    .isNotEqualTo(expected.startsWith("!ERROR") ? "!ERROR" : expected);
            return;
        }
        if (expected.startsWith("!ERROR")) {
            assertThatThrownBy(() -> ChatTemplate.compile(source).render(context, CLOCK))
                    .as("jinja2 refuses this conversation with %s", expected)
                    .isInstanceOfSatisfying(
                            TemplateException.class, e -> assertThat(e.kind()).isEqualTo(kindOf(expected)));
        } else {
            assertThat(ChatTemplate.compile(source).render(context, CLOCK)).isEqualTo(expected);
        }
    }

    /** The kind of failure that corresponds to the Python exception named in an expected render. */
    private static TemplateException.Kind kindOf(String expected) {
        return switch (expected.substring("!ERROR ".length()).strip()) {
            case "TemplateError" -> TemplateException.Kind.RAISED;
            case "TypeError" -> TemplateException.Kind.TYPE;
            case "UndefinedError" -> TemplateException.Kind.UNDEFINED;
            case "SecurityError" -> TemplateException.Kind.SECURITY;
            // an unknown filter: at compile time, or when used inside an if
            case "TemplateSyntaxError", "TemplateAssertionError", "TemplateRuntimeError" ->
                TemplateException.Kind.SYNTAX;
            default -> throw new IllegalArgumentException("no kind for " + expected);
        };
    }

    private static String outcome(String source, Map<String, Object> context) {
        try {
            return ChatTemplate.compile(source).render(context, CLOCK);
        } catch (TemplateException e) {
            return "!ERROR";
        }
    }

    static Map<String, Object> context(Path conversation) throws IOException {
        Map<String, Object> context = new LinkedHashMap<>();
        JsonNode tree = JSON.readTree(conversation.toFile());
        tree.properties().forEach(e -> context.put(e.getKey(), e.getValue()));
        return context;
    }

    private static Map<String, String> notExact(Path root) throws IOException {
        Map<String, String> pairs = new LinkedHashMap<>();
        for (String line : Files.readAllLines(root.resolve("not-exact.txt"), StandardCharsets.UTF_8)) {
            if (line.isBlank() || line.startsWith("#")) continue;
            int colon = line.indexOf(':');
            pairs.put(
                    line.substring(0, colon).strip(), line.substring(colon + 1).strip());
        }
        return pairs;
    }

    static Path resources() {
        try {
            return Path.of(ReferenceRendersTest.class.getResource("templates").toURI())
                    .getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<Path> list(Path dir, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(suffix)).sorted().toList();
        }
    }

    private static String strip(Path file, String suffix) {
        String name = file.getFileName().toString();
        return name.substring(0, name.length() - suffix.length());
    }
}
