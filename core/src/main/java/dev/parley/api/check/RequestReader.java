package dev.parley.api.check;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DatabindException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.CompletionRequest;
import dev.parley.api.EmbeddingRequest;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import java.io.IOException;
import java.util.List;

/**
 * Reads a request body and checks it: malformed JSON, a value of the wrong type and every rule of
 * {@link RequestCheck} become one {@link InvalidRequestException}, never a parser's own exception.
 *
 * <p>Stateless and thread-safe.
 */
public final class RequestReader {
    /**
     * The shared mapper's parsers, but with no cap on a string's length (the default cap is 20 million
     * characters): a string cannot be longer than the body that holds it, and the server bounds the body.
     * A text too long for a model is then refused by the model's own check, naming its param, rather than
     * reported as JSON that could not be parsed. Nesting depth and number length stay capped.
     */
    private static final JsonFactory BODIES = Json.mapper()
            .getFactory()
            .rebuild()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(Integer.MAX_VALUE)
                    .build())
            .build();

    private RequestReader() {}

    /** A checked chat request read from a JSON body. */
    public static ChatCompletionRequest chat(byte[] body) {
        ChatCompletionRequest request = read(body, ChatCompletionRequest.class);
        RequestCheck.chat(request);
        return request;
    }

    /** A checked legacy completion request read from a JSON body. */
    public static CompletionRequest completion(byte[] body) {
        CompletionRequest request = read(body, CompletionRequest.class);
        RequestCheck.completion(request);
        return request;
    }

    /** A checked embeddings request read from a JSON body. */
    public static EmbeddingRequest embeddings(byte[] body) {
        EmbeddingRequest request = read(body, EmbeddingRequest.class);
        RequestCheck.embeddings(request);
        return request;
    }

    /** Reads any wire type from a JSON object body; errors come out in OpenAI's shape. */
    public static <T> T read(byte[] body, Class<T> type) {
        if (body == null || isBlank(body)) {
            throw unparsable("the body is empty");
        }
        try (JsonParser parser = BODIES.createParser(body)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw InvalidRequestException.of(
                        null,
                        "invalid_type",
                        "Invalid type for the request body: expected a JSON object, but got %s instead."
                                .formatted(kind(parser.currentToken())));
            }
            T value = Json.mapper().readValue(parser, type);
            if (parser.nextToken() != null) throw unparsable("there is more after the JSON object");
            return value;
        } catch (MismatchedInputException e) {
            if (e.getPath().isEmpty()) throw unparsable(e);
            throw wrongType(e, body);
        } catch (DatabindException e) {
            if (e.getCause() instanceof InputCoercionException) throw outOfRange(e);
            throw unparsable(e);
        } catch (StreamReadException e) {
            throw unparsable(e);
        } catch (IOException e) {
            throw unparsable(e.getMessage());
        }
    }

    /**
     * The parser's problem in JSON's terms, where it stopped: without its advice on its own settings ("enable
     * `JsonReadFeature.ALLOW_…` to allow") and the Java type it was reading into, which mean nothing to a caller.
     */
    private static InvalidRequestException unparsable(JsonProcessingException e) {
        String said = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
        if (said.startsWith("Trailing token")) return unparsable("there is more after the JSON object");
        said = Json.withoutParserAdvice(said);
        JsonLocation at = e.getLocation();
        if (at != null && at.getLineNr() > 0 && at.getColumnNr() > 0)
            said += " at line %d, column %d".formatted(at.getLineNr(), at.getColumnNr());
        return unparsable(said);
    }

    private static boolean isBlank(byte[] body) {
        for (byte b : body) if (b != ' ' && b != '\t' && b != '\r' && b != '\n') return false;
        return true;
    }

    private static InvalidRequestException unparsable(String detail) {
        String firstLine = detail == null ? "" : detail.lines().findFirst().orElse("");
        return InvalidRequestException.of(
                null,
                null,
                "We could not parse the JSON body of your request (%s). The API expects a JSON object as the body."
                        .formatted(firstLine));
    }

    private static InvalidRequestException wrongType(MismatchedInputException e, byte[] body) {
        String param = Json.path(e.getPath());
        return InvalidRequestException.of(
                param,
                "invalid_type",
                "Invalid type for '%s': expected %s, but got %s instead."
                        .formatted(param, Json.expected(e.getTargetType()), Json.kind(valueAt(body, e.getPath()))));
    }

    /**
     * The value the reader choked on, found again in the body by its path: the parser's own position
     * is unreliable by then, since records are read through a buffer.
     */
    private static JsonNode valueAt(byte[] body, List<JsonMappingException.Reference> path) {
        try {
            JsonNode node = Json.mapper().readTree(body);
            for (var reference : path) {
                node = reference.getIndex() >= 0
                        ? node.path(reference.getIndex())
                        : node.path(reference.getFieldName());
            }
            return node;
        } catch (IOException e) {
            return MissingNode.getInstance();
        }
    }

    private static InvalidRequestException outOfRange(DatabindException e) {
        String param = Json.path(((JsonMappingException) e).getPath());
        return InvalidRequestException.of(
                param,
                "integer_above_max_value",
                "Invalid '%s': number out of range. Expected a value that fits in %s."
                        .formatted(param, "a 32-bit integer"));
    }

    private static String kind(JsonToken token) {
        if (token == null) return "nothing";
        return switch (token) {
            case START_OBJECT, END_OBJECT, FIELD_NAME -> "an object";
            case START_ARRAY, END_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a decimal";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> "an unexpected value";
        };
    }
}
