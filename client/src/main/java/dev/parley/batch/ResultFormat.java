package dev.parley.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.Json;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The shape of the results file's lines. Whatever the shape, the results file is also the resume ledger:
 * a rerun reads back which lines are done, which failed for good and which may pass on another try.
 */
public enum ResultFormat {
    /**
     * Parley's own: one object per line with the line's {@code id}, {@code custom_id}, {@code line}
     * number, the {@code request} as sent, the {@code response} or the final {@code error} (with
     * {@code status}), the {@code attempts}, the {@code metadata} and every failed attempt's {@code errors}
     * (see {@link BatchResult}).
     */
    PARLEY,
    /**
     * The OpenAI Batch API's output lines: {@code {"id","custom_id","response":{"status_code","request_id",
     * "body"},"error"}}. A line without a {@code custom_id} gets its {@code line-N-HASH} identity as one.
     * An error answer is a response with its status code and error body; a request that never got an
     * answer, or an invalid input line, has a null response and an {@code error} with a {@code code}.
     */
    OPENAI_BATCH,
    /**
     * What OpenAI's {@code api_request_parallel_processor.py} appends: {@code [request, response, metadata]},
     * or {@code [request, [errors], metadata]} for a request that failed, where the request is the input line
     * without its {@code metadata} and the errors are every failed attempt's, in order, as text. As in the
     * script, a line whose metadata is absent or empty (false to Python) gets no third element:
     * {@code [request, response]}. Invalid input lines are reported and not written, as the script cannot
     * write them either.
     */
    COOKBOOK;

    static final String INVALID_LINE = "invalid_line";
    static final String CONNECTION_ERROR = "connection_error";

    /** How a line of an earlier run stands, read back from the results file. */
    enum State {
        SUCCEEDED,
        /** Failed on an error that may pass on another try: a lost connection, 408, 409, 429 or 5xx. */
        FAILED_RETRYABLE,
        /** Failed on an error that the same request will meet again, e.g. 400 or 404. */
        FAILED,
        /** An input line that was not a valid request; it is read again on every run. */
        INVALID
    }

    /** One line of the results file read back: the key of the input line it answers, and how it stands. */
    record Entry(String key, State state) {}

    /** The key by which a results line is matched to its input line. */
    String key(InputLine.Job job) {
        return this == COOKBOOK ? job.echo().toString() : job.id();
    }

    /**
     * The results line for {@code result}, with its newline; null when this format writes none for it (an
     * invalid line in the cookbook's format).
     *
     * @param echo the input line without its {@code metadata}; null for a line that is not a JSON object
     */
    byte[] encode(BatchResult result, JsonNode echo) {
        String text = switch (this) {
            case PARLEY -> Json.write(result);
            case OPENAI_BATCH -> openAiBatch(result).toString();
            case COOKBOOK -> result.invalid() ? null : cookbook(result, echo).toString();
        };
        return text == null ? null : Json.utf8(text + "\n"); // a lone surrogate read back as it was read
    }

    /** Reads one results line back; null when it is not a line of this format (then its input is redone). */
    Entry decode(String line) {
        JsonNode node;
        try {
            node = Json.tree(line);
        } catch (UncheckedIOException e) {
            return null;
        }
        return switch (this) {
            case PARLEY -> {
                JsonNode id = node.get("id");
                if (id == null || !id.isTextual() || !node.path("line").isIntegralNumber()) yield null;
                if (!hasValue(node, "error")) yield new Entry(id.asText(), State.SUCCEEDED);
                if (node.path("attempts").asInt() == 0) yield new Entry(id.asText(), State.INVALID);
                yield new Entry(id.asText(), failure(node.path("status").asInt()));
            }
            case OPENAI_BATCH -> {
                JsonNode id = node.get("custom_id");
                if (id == null || !id.isTextual() || !node.path("id").asText().startsWith("batch_req_")) yield null;
                if (hasValue(node, "response")) {
                    int status = node.get("response").path("status_code").asInt();
                    yield new Entry(id.asText(), status / 100 == 2 ? State.SUCCEEDED : failure(status));
                }
                String code = node.path("error").path("code").asText();
                yield new Entry(
                        id.asText(),
                        INVALID_LINE.equals(code) ? State.INVALID : code.isEmpty() ? null : State.FAILED_RETRYABLE);
            }
            case COOKBOOK -> {
                if (!(node instanceof ArrayNode array)
                        || array.size() < 2
                        || array.size() > 3
                        || !array.get(0).isObject()) yield null;
                String key = array.get(0).toString();
                if (!array.get(1).isArray()) yield new Entry(key, State.SUCCEEDED);
                String last = array.get(1).isEmpty()
                        ? ""
                        : array.get(1).get(array.get(1).size() - 1).asText();
                yield new Entry(key, cookbookFailure(last));
            }
        };
    }

    private static boolean hasValue(JsonNode node, String field) {
        return node.has(field) && !node.get(field).isNull();
    }

    /** A failure's state by its HTTP status, 0 when the server was not reached. */
    static State failure(int status) {
        return BatchResult.transientStatus(status) ? State.FAILED_RETRYABLE : State.FAILED;
    }

    private static ObjectNode openAiBatch(BatchResult result) {
        var f = JsonNodeFactory.instance;
        ObjectNode line = f.objectNode();
        line.put("id", "batch_req_" + shortHash(result.id()));
        line.put("custom_id", result.customId() != null ? result.customId() : result.id());
        if (result.invalid() || (result.error() != null && result.status() == 0)) {
            line.putNull("response");
            ObjectNode error = line.putObject("error");
            error.put("code", result.invalid() ? INVALID_LINE : CONNECTION_ERROR);
            error.put("message", result.error().message());
            return line;
        }
        ObjectNode response = line.putObject("response");
        response.put("status_code", result.status());
        if (result.requestId() != null) response.put("request_id", result.requestId());
        else response.putNull("request_id");
        response.set(
                "body",
                result.succeeded()
                        ? result.response()
                        : Json.mapper().valueToTree(result.error().body()));
        line.putNull("error");
        return line;
    }

    private static ArrayNode cookbook(BatchResult result, JsonNode echo) {
        ArrayNode line = JsonNodeFactory.instance.arrayNode();
        line.add(echo != null ? echo : result.request());
        if (result.succeeded()) {
            line.add(result.response());
        } else {
            ArrayNode errors = line.addArray();
            if (result.errors() != null) result.errors().forEach(errors::add);
            else errors.add(BatchResult.describe(result.status(), result.error()));
        }
        // The script writes the metadata only when Python takes it for true: not None, {}, [], "", 0 or false.
        if (truthy(result.metadata())) line.add(result.metadata());
        return line;
    }

    private static boolean truthy(JsonNode value) {
        if (value == null || value.isNull() || value.isMissingNode()) return false;
        if (value.isContainerNode()) return !value.isEmpty();
        if (value.isTextual()) return !value.asText().isEmpty();
        if (value.isBoolean()) return value.booleanValue();
        if (value.isNumber()) return value.doubleValue() != 0;
        return true;
    }

    private static State cookbookFailure(String error) {
        if (error.startsWith("connection error")) return State.FAILED_RETRYABLE;
        if (error.startsWith("HTTP ")) {
            try {
                return failure(Integer.parseInt(error.substring(5, error.indexOf(':'))));
            } catch (RuntimeException e) {
                return State.FAILED;
            }
        }
        return State.FAILED;
    }

    private static String shortHash(String text) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** By its command-line name: {@code parley}, {@code openai-batch} or {@code cookbook}. */
    public static ResultFormat byName(String name) {
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "parley" -> PARLEY;
            case "openai-batch", "openai_batch", "batch" -> OPENAI_BATCH;
            case "cookbook" -> COOKBOOK;
            default ->
                throw new IllegalArgumentException(
                        "unknown results format '%s': parley, openai-batch or cookbook".formatted(name));
        };
    }

    /** The command-line name. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
