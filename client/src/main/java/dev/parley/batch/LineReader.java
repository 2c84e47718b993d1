package dev.parley.batch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.check.RequestReader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * Turns input lines into {@link InputLine}s. A line is a JSON object in one of two shapes:
 * <ul>
 *   <li>a request body, optionally with {@code custom_id} and {@code metadata}, which are taken out
 *       before sending (so chat's own {@code metadata} parameter cannot be sent from a batch);
 *   <li>the OpenAI Batch API's {@code {"custom_id","method","url","body"}}, where {@code url} names the
 *       endpoint ({@code /v1/chat/completions} or {@code /v1/completions}).
 * </ul>
 * The endpoint is the Batch API line's {@code url}, else the configured one, else the body's shape
 * ({@code prompt} without {@code messages} is legacy; anything else is chat).
 *
 * <p>Not thread-safe: one reader reads one input in order, remembering the {@code custom_id}s seen.
 */
final class LineReader {
    private final Endpoint endpoint;
    private final Estimator estimator;
    private final Set<String> customIds = new HashSet<>();

    LineReader(Endpoint endpoint, Estimator estimator) {
        this.endpoint = endpoint;
        this.estimator = estimator;
    }

    /**
     * The identity of a line in the results: its {@code custom_id} when it has one, else
     * {@code line-N-HASH} with its line number and the first 16 hex digits of the SHA-256 of its text, so
     * that a rerun over an edited input redoes exactly the lines that moved or changed.
     */
    static String identity(long number, String customId, String text) {
        if (customId != null) return customId;
        try {
            byte[] hash =
                    MessageDigest.getInstance("SHA-256").digest(text.strip().getBytes(StandardCharsets.UTF_8));
            return "line-" + number + "-" + HexFormat.of().formatHex(hash, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * Reads line {@code number} from its bytes, without the newline: text that is not UTF-8 is an invalid
     * line, as is anything {@link #read(long, String)} refuses. A byte order mark on line 1 is skipped.
     */
    InputLine read(long number, byte[] bytes, int length) {
        int start = number == 1
                        && length >= 3
                        && (bytes[0] & 0xff) == 0xef
                        && (bytes[1] & 0xff) == 0xbb
                        && (bytes[2] & 0xff) == 0xbf
                ? 3
                : 0;
        int end = length > start && bytes[length - 1] == '\r' ? length - 1 : length;
        ByteBuffer in = ByteBuffer.wrap(bytes, start, end - start);
        CharBuffer out = CharBuffer.allocate(end - start);
        CoderResult result = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(in, out, true);
        if (result.isError()) {
            String text = new String(bytes, start, end - start, StandardCharsets.UTF_8);
            return new InputLine.Invalid(
                    number,
                    "not UTF-8: invalid byte 0x%02x at byte %d of the line"
                            .formatted(bytes[in.position()] & 0xff, in.position() - start + 1),
                    text,
                    null);
        }
        return read(number, out.flip().toString());
    }

    InputLine read(long number, String text) {
        if (text.isBlank()) return new InputLine.Blank(number);
        JsonNode node;
        try {
            node = Json.mapper().readTree(text);
        } catch (JsonProcessingException e) {
            return new InputLine.Invalid(number, "not JSON: " + e.getOriginalMessage(), text, null);
        }
        if (!(node instanceof ObjectNode line)) return new InputLine.Invalid(number, "not a JSON object", text, null);
        ObjectNode echo = line.deepCopy();
        echo.remove("metadata");

        JsonNode customIdNode = line.get("custom_id");
        if (customIdNode != null && !customIdNode.isTextual())
            return new InputLine.Invalid(number, "custom_id must be a string", text, echo);
        String customId = customIdNode == null ? null : customIdNode.asText();
        if (customId != null && customIds.contains(customId)) {
            return new InputLine.Invalid(
                    number, "custom_id '%s' was already used by an earlier line".formatted(customId), text, echo);
        }
        JsonNode metadata = line.get("metadata");

        ObjectNode body;
        Endpoint target;
        if (line.has("body") && line.has("url")) {
            if (!(line.get("body") instanceof ObjectNode batchBody))
                return new InputLine.Invalid(number, "body must be a JSON object", text, echo);
            JsonNode method = line.get("method");
            if (method != null && !"POST".equals(method.asText()))
                return new InputLine.Invalid(
                        number,
                        "method %s is not POST: a Batch API line's body is sent with POST".formatted(method),
                        text,
                        echo);
            body = batchBody.deepCopy();
            String url = line.get("url").asText();
            if (url.endsWith("/chat/completions")) target = Endpoint.CHAT;
            else if (url.endsWith("/completions")) target = Endpoint.COMPLETIONS;
            else if (url.endsWith("/responses")) target = Endpoint.RESPONSES;
            else
                return new InputLine.Invalid(
                        number,
                        "url '%s' is none of /v1/chat/completions, /v1/completions and /v1/responses".formatted(url),
                        text,
                        echo);
        } else {
            body = line.deepCopy();
            body.remove("custom_id");
            body.remove("metadata");
            target = endpoint != Endpoint.AUTO ? endpoint : byShape(body);
        }

        try {
            byte[] bytes = Json.mapper().writeValueAsBytes(body);
            BatchRequest request = switch (target) {
                case COMPLETIONS -> new BatchRequest.Completion(RequestReader.completion(bytes));
                case RESPONSES -> new BatchRequest.Responses(responses(body));
                default -> new BatchRequest.Chat(RequestReader.chat(bytes));
            };
            if (customId != null) customIds.add(customId);
            return new InputLine.Job(
                    number,
                    identity(number, customId, text),
                    customId,
                    request,
                    // A Responses body is sent as it stands there (without stream), and shown so.
                    request instanceof BatchRequest.Responses(var sent) ? sent : body,
                    metadata,
                    estimator.estimate(request),
                    echo);
        } catch (InvalidRequestException e) {
            String param = e.error().param();
            return new InputLine.Invalid(number, (param == null ? "" : param + ": ") + e.getMessage(), text, echo);
        } catch (JsonProcessingException e) {
            return new InputLine.Invalid(number, e.getOriginalMessage(), text, echo);
        }
    }

    /** A line's endpoint by its body: {@code messages} for chat, else {@code prompt} for legacy, {@code input} for responses. */
    private static Endpoint byShape(ObjectNode body) {
        if (body.has("messages")) return Endpoint.CHAT;
        if (body.has("prompt")) return Endpoint.COMPLETIONS;
        return body.has("input") ? Endpoint.RESPONSES : Endpoint.CHAT;
    }

    /**
     * A Responses API body, checked as far as sending and counting need: a {@code model} and an {@code input}; the
     * server checks the rest. Sent whole, never streamed.
     */
    private static ObjectNode responses(ObjectNode body) {
        if (!body.path("model").isTextual() || body.path("model").asText().isBlank())
            throw InvalidRequestException.of(
                    "model", "missing_required_parameter", "Missing required parameter: 'model'.");
        if (body.path("input").isMissingNode() || body.path("input").isNull())
            throw InvalidRequestException.of(
                    "input", "missing_required_parameter", "Missing required parameter: 'input'.");
        JsonNode cap = body.get("max_output_tokens");
        if (cap != null && !cap.isNull() && !(cap.isIntegralNumber() && cap.canConvertToInt() && cap.asInt() >= 1))
            throw InvalidRequestException.of(
                    "max_output_tokens",
                    "invalid_value",
                    "Invalid 'max_output_tokens': expected a whole number from 1 to %d.".formatted(Integer.MAX_VALUE));
        ObjectNode sent = body.deepCopy();
        sent.remove("stream");
        return sent;
    }
}
