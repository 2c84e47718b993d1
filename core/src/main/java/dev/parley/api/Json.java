package dev.parley.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
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

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
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
        String message = e.getOriginalMessage();
        if (message == null) return "unreadable";
        String said = message.lines()
                .filter(line -> !line.isBlank() && !line.startsWith(" ") && !line.contains("line "))
                .map(String::strip)
                .collect(Collectors.joining("; "));
        return said.isEmpty() ? "unreadable" : said;
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }
}
