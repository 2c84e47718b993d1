package dev.parley.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The one configured JSON mapper for OpenAI wire data: snake_case names, {@code null} components
 * omitted, unknown fields ignored, and no silent coercion ({@code "0.5"} is not a number, {@code 1.5}
 * is not an integer), because OpenAI rejects those and so must Parley.
 *
 * <p>Thread-safe. Reading a request body with its errors turned into OpenAI's shape is
 * {@link dev.parley.api.check.RequestReader}'s job; these methods are for trusted data.
 */
public final class Json {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .defaultPropertyInclusion(
                    JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();

    private Json() {}

    /** The shared mapper. Configure nothing on it: it is shared by every caller. */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /**
     * Reads {@code example} as a {@code type} and writes it back, returning what was written: done once, early, it
     * takes off the first real request's time what Jackson and the JDK do at a type's first use. Jackson makes the
     * (de)serializers of the type and of every type it holds by reflection; the JDK spins method handles for each
     * constructor and accessor at its first reflective call. For a chat request and its answers that is about
     * 50 ms in a JVM that has just started.
     */
    public static String prepare(Class<?> type, String example) {
        return write(read(example, type));
    }

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * JSON text (as written by this class or any Jackson writer, where a lone surrogate can only be inside a
     * string) as UTF-8, with each lone surrogate written as its <code>&#92;u</code> escape, as Jackson writes one
     * to bytes: read back, the text is the one written. {@code String.getBytes(UTF_8)} would write {@code ?}.
     */
    public static byte[] utf8(String json) {
        return LoneSurrogates.replace(json, lone -> "\\u%04x".formatted(lone)).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code value} as UTF-8 JSON, a lone surrogate as its escape (as {@link #utf8} writes one), in one pass. */
    public static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Indented JSON, for people to read. */
    public static String pretty(Object value) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static <T> T read(String json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static JsonNode tree(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * What a parser found wrong, for people: its message without the excerpt of the input and the location it may
     * quote (YAML's parser quotes both over several lines); the location is {@code e.getLocation()}.
     */
    public static String problem(JsonProcessingException e) {
        // A value of the wrong kind: said in the file's terms, not the Java types it was to become.
        if (e instanceof MismatchedInputException mismatch && mismatch.getTargetType() != null) {
            String expected = expected(mismatch.getTargetType());
            if (e instanceof InvalidFormatException format && format.getValue() != null) {
                return "'%s' is not %s".formatted(format.getValue(), expected);
            }
            return "expected " + expected;
        }
        String message = e.getOriginalMessage();
        if (message == null) return "unreadable";
        String said = message.lines()
                .filter(line -> !line.isBlank() && !line.startsWith(" ") && !line.contains("line "))
                .map(String::strip)
                .collect(Collectors.joining("; "));
        return said.isEmpty() ? "unreadable" : withoutParserAdvice(said);
    }

    private static final Pattern PARSER_ADVICE = Pattern.compile(
            ": enable `[A-Za-z_.]+` to allow| \\(not recognized as one since Feature '[A-Z_]+' not enabled for parser\\)");
    private static final Pattern START_MARKER =
            Pattern.compile(" \\(start marker at \\[Source: [^\\]]*?line: (\\d+), column: (\\d+)\\]\\)");

    /**
     * A parser's message without its advice on its own settings ("enable `JsonReadFeature.ALLOW_…` to allow")
     * and its source placeholder, which mean nothing to whoever wrote the JSON: "Non-standard token 'NaN'",
     * "expected close marker for Object (opened at line 1, column 1)".
     */
    public static String withoutParserAdvice(String message) {
        String said = PARSER_ADVICE.matcher(message).replaceAll("");
        return START_MARKER.matcher(said).replaceAll(" (opened at line $1, column $2)");
    }

    /** What {@code node} is, in JSON's words: "an object", "an integer", "a decimal", "null". */
    public static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case OBJECT, POJO -> "an object";
            case ARRAY -> "an array";
            case STRING, BINARY -> "a string";
            case NUMBER -> node.isIntegralNumber() ? "an integer" : "a decimal";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case MISSING -> "nothing";
        };
    }

    /**
     * What a value of {@code type} is, in JSON's words: "an integer", "an array", "a string or an array of content
     * parts", "one of f16, f32".
     */
    public static String expected(Class<?> type) {
        if (type == null) return "another type";
        if (type == int.class || type == long.class || type == short.class) return "an integer";
        if (type == Integer.class || type == Long.class || type == Short.class || type == BigInteger.class)
            return "an integer";
        if (type == double.class || type == float.class || Number.class.isAssignableFrom(type)) return "a number";
        if (type == String.class) return "a string";
        if (type == Boolean.class || type == boolean.class) return "a boolean";
        if (Collection.class.isAssignableFrom(type) || type.isArray()) return "an array";
        if (type == Content.class) return "a string or an array of content parts";
        if (type == Prompt.class) return "a string, an array of strings, or an array of token ids";
        if (type == ToolChoice.class) return "a string or an object";
        if (type.isEnum()) {
            return "one of "
                    + Arrays.stream(type.getEnumConstants())
                            .map(value -> String.valueOf(value).toLowerCase(Locale.ROOT))
                            .collect(Collectors.joining(", "));
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord()) return "an object";
        return "another type";
    }

    /**
     * {@code messages[0].content[1].text}: where a mapping error happened, as OpenAI names a nested parameter; null
     * at the top.
     */
    public static String path(List<JsonMappingException.Reference> references) {
        StringBuilder path = new StringBuilder();
        for (var reference : references) {
            if (reference.getIndex() >= 0) {
                path.append('[').append(reference.getIndex()).append(']');
            } else if (reference.getFieldName() != null) {
                if (!path.isEmpty()) path.append('.');
                path.append(reference.getFieldName());
            }
        }
        return path.isEmpty() ? null : path.toString();
    }

    /** {@code " (at models[1].parallel)"}: where in a file a mapping error is, to follow its message; empty at the top. */
    public static String where(JsonMappingException e) {
        String path = path(e.getPath());
        return path == null ? "" : " (at " + path + ")";
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }
}
