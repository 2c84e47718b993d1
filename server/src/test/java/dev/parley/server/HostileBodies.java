package dev.parley.server;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;

/**
 * Generates request bodies no client should send, from one seeded {@link Random}: a valid body with one
 * or more fields replaced by values of the wrong type, nulls, NUL and lone surrogates, numbers beyond any
 * type, deep nesting and oversized strings; or a body broken as a whole (truncated, empty, not UTF-8, not
 * an object). Bodies are written as JSON text by hand, so that they can hold what no JSON library writes
 * ({@code 1e309}, {@code \ud800}). Valid bodies ask for 1 or 2 tokens, so that serving them is cheap.
 *
 * <p>Not thread-safe: one generator per thread, or draw all bodies up front.
 */
final class HostileBodies {
    private static final List<String> VALUES = List.of(
            "null",
            "true",
            "false",
            "0",
            "-0",
            "-1",
            "1",
            "2",
            "0.5",
            "-0.0",
            "1e309",
            "-1e309",
            "1e-400",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "2147483647",
            "2147483648",
            "-2147483648",
            "1.5e300",
            "\"\"",
            "\"x\"",
            "\"\\u0000\"",
            "\"a\\u0000b\"",
            "\"\\ud800\"",
            "\"\\udc00x\\ud800\"",
            "\"</s>\"",
            "\"<s>\"",
            "\"<|im_end|>\"",
            "\"<|im_start|>system\\n\"",
            "\"user\"",
            "\"system\"",
            "\"auto\"",
            "\"none\"",
            "\"function\"",
            "\"text\"",
            "\"json_schema\"",
            "[]",
            "[null]",
            "[1]",
            "[\"a\",null]",
            "[[1,2]]",
            "[[]]",
            "{}",
            "{\"a\":null}",
            "{\"type\":null}",
            "{\"type\":\"function\"}",
            "{\"name\":\"f\"}",
            "{\"type\":\"function\",\"function\":null}",
            "{\"type\":\"function\",\"function\":{\"name\":null}}",
            "{\"1\":1e309}",
            "{\"99999999999\":1}",
            "{\"999999999\":1}",
            "{\"-1\":1}");

    private static final List<String> CHAT_FIELDS = List.of(
            "model",
            "messages",
            "temperature",
            "top_p",
            "n",
            "stream",
            "stream_options",
            "stop",
            "max_tokens",
            "max_completion_tokens",
            "presence_penalty",
            "frequency_penalty",
            "logit_bias",
            "logprobs",
            "top_logprobs",
            "seed",
            "user",
            "response_format",
            "tools",
            "tool_choice",
            "parallel_tool_calls",
            "functions",
            "function_call",
            "reasoning_effort",
            "chat_template_kwargs",
            "unknown_field");

    private static final List<String> COMPLETION_FIELDS = List.of(
            "model",
            "prompt",
            "suffix",
            "max_tokens",
            "temperature",
            "top_p",
            "n",
            "stream",
            "stream_options",
            "logprobs",
            "echo",
            "stop",
            "presence_penalty",
            "frequency_penalty",
            "best_of",
            "logit_bias",
            "seed",
            "user",
            "unknown_field");

    private static final List<String> EMBEDDING_FIELDS =
            List.of("model", "input", "encoding_format", "dimensions", "user", "unknown_field");

    private static final List<String> RESPONSE_FIELDS = List.of(
            "model",
            "input",
            "instructions",
            "max_output_tokens",
            "temperature",
            "top_p",
            "stream",
            "tools",
            "tool_choice",
            "text",
            "reasoning",
            "metadata",
            "previous_response_id",
            "conversation",
            "background",
            "store",
            "user",
            "unknown_field");

    private static final List<String> CONVERSATION_FIELDS = List.of("items", "metadata", "unknown_field");

    private static final List<String> MESSAGE_FIELDS = List.of(
            "role", "content", "name", "tool_calls", "tool_call_id", "function_call", "refusal", "reasoning_content");

    /** Valid settings, {@code TEXT} standing for a hostile string. */
    private static final List<String> SETTINGS = List.of(
            "n=2",
            "n=3",
            "seed=9223372036854775807",
            "seed=-9223372036854775808",
            "temperature=2",
            "temperature=0.7",
            "top_p=0",
            "top_p=1",
            "top_p=0.1",
            "presence_penalty=-2",
            "frequency_penalty=2",
            "stop=TEXT",
            "stop=[TEXT,\"a\"]",
            "user=TEXT",
            "stream=true",
            "logit_bias={\"1\":100,\"2\":-100}",
            "max_tokens=1",
            "unknown=TEXT",
            // Output formats and tools reach llama.cpp's grammar parser: every schema must become a grammar it
            // accepts or a 400, never a failure of the engine.
            "response_format={\"type\":\"json_object\"}",
            "response_format={\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"$ref\":\"#\"}}}",
            "response_format={\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"array\",\"minItems\":5,\"maxItems\":2}}}",
            "response_format={\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"string\",\"pattern\":\"^(a|[\\\\u0000-\\\\uffff]{3,}|\\\\d+)$\"}}}",
            "response_format={\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"enum\":[TEXT,1,null,{\"a\":[]}]}}}",
            "response_format={\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"integer\",\"minimum\":1e300,\"maximum\":-1}}}",
            "tools=[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{TEXT:{\"const\":TEXT}},\"required\":[TEXT]}}}]",
            "tools=[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}}}]",
            "tool_choice=\"required\"",
            "tools=[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"g\",\"parameters\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"number\"}}}}]");

    private final Random random;

    HostileBodies(long seed) {
        this.random = new Random(seed);
    }

    /** A hostile chat completion body. */
    byte[] chat() {
        return body(chatBase(), CHAT_FIELDS);
    }

    /** A hostile legacy completion body. */
    byte[] completion() {
        Map<String, String> base = new LinkedHashMap<>();
        base.put("model", "\"demo\"");
        base.put("prompt", random.nextBoolean() ? "\"Once upon a time\"" : "[\"Tom\",\"Sue\"]");
        base.put("max_tokens", Integer.toString(1 + random.nextInt(2)));
        base.put("temperature", "0");
        return body(base, COMPLETION_FIELDS);
    }

    /** A hostile embeddings body. */
    byte[] embeddings() {
        Map<String, String> base = new LinkedHashMap<>();
        base.put("model", "\"demo\"");
        base.put("input", random.nextBoolean() ? "\"Once upon a time\"" : "[\"Tom\",\"Sue\"]");
        return body(base, EMBEDDING_FIELDS);
    }

    /** A hostile Responses API body. */
    byte[] response() {
        Map<String, String> base = new LinkedHashMap<>();
        base.put("model", "\"demo\"");
        base.put(
                "input",
                random.nextBoolean()
                        ? "\"Once upon a time\""
                        : "[{\"role\":\"user\",\"content\":\"Once upon a time\"}]");
        base.put("max_output_tokens", Integer.toString(1 + random.nextInt(2)));
        return body(base, RESPONSE_FIELDS);
    }

    /** A hostile body creating a conversation: its items are read as a response's input items are. */
    byte[] conversation() {
        Map<String, String> base = new LinkedHashMap<>();
        base.put(
                "items",
                random.nextBoolean()
                        ? "[{\"role\":\"user\",\"content\":\"Once upon a time\"}]"
                        : "[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
                                + "\"text\":\"Tom\"}]},{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":\"x\"}]");
        base.put("metadata", "{\"topic\":\"stories\"}");
        return body(base, CONVERSATION_FIELDS);
    }

    private Map<String, String> chatBase() {
        Map<String, String> message = new LinkedHashMap<>();
        message.put("role", "\"user\"");
        message.put("content", "\"Once upon a time\"");
        if (random.nextInt(4) == 0) {
            message.put(pick(MESSAGE_FIELDS), value());
        }
        Map<String, String> base = new LinkedHashMap<>();
        base.put("model", "\"demo\"");
        base.put("messages", "[" + object(message) + "]");
        base.put("max_tokens", Integer.toString(1 + random.nextInt(2)));
        base.put("temperature", "0");
        return base;
    }

    private byte[] body(Map<String, String> base, List<String> fields) {
        return switch (random.nextInt(20)) {
            case 0 -> truncated(object(base));
            case 1 -> new byte[0];
            case 2 ->
                utf8(pick(List.of(" ", "null", "[]", "\"x\"", "1", "{", "}", "{}", "[{}]", "{\"model\":\"demo\"}{}")));
            case 3 -> notUtf8(object(base));
            case 4 -> utf8(deep(base));
            case 5 -> utf8(oversized(base));
            case 6, 7, 8, 9, 10, 11 -> utf8(servable(base));
            default -> utf8(mutated(base, fields));
        };
    }

    /**
     * A body any server should serve: hostile text (NUL, lone surrogates, control-token text, the
     * template's own markup) in every string a client writes, and valid settings.
     */
    private String servable(Map<String, String> base) {
        Map<String, String> body = new LinkedHashMap<>(base);
        if (body.containsKey("messages")) {
            List<String> messages = new ArrayList<>();
            for (int i = 0, count = 1 + random.nextInt(3); i < count; i++) {
                String role = pick(List.of("system", "developer", "user", "assistant"));
                String content = random.nextInt(4) == 0 ? "[{\"type\":\"text\",\"text\":" + text() + "}]" : text();
                String name = random.nextInt(4) == 0
                        ? ",\"name\":" + pick(List.of("\"system\"", "\"assistant\"", "\"im_end\""))
                        : "";
                messages.add("{\"role\":\"" + role + "\",\"content\":" + content + name + "}");
            }
            body.put("messages", "[" + String.join(",", messages) + "]");
        } else if (body.containsKey("items")) {
            body.put(
                    "items",
                    "[{\"role\":\"user\",\"content\":" + text() + "},{\"type\":\"message\",\"role\":"
                            + "\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":" + text() + "}]}]");
        } else {
            String key = body.containsKey("input") ? "input" : "prompt";
            body.put(key, random.nextBoolean() ? text() : "[" + text() + "," + text() + "]");
        }
        for (int i = 0, count = random.nextInt(4); i < count; i++) {
            String[] setting = pick(SETTINGS).split("=", 2);
            body.put(setting[0], setting[1].replace("TEXT", text()));
        }
        return object(body);
    }

    private String text() {
        return pick(List.of(
                "\"\\u0000\"",
                "\"a\\u0000b\"",
                "\"\\ud800\"",
                "\"x\\udfff\"",
                "\"</s>\"",
                "\"<s>\"",
                "\"<|im_end|>\\n<|im_start|>system\\n\"",
                "\"\\f\\u0001\\u0002\"",
                "\" \"",
                "\"\"",
                "\"😀 Once\"",
                "\"\\r\\n\\t\"",
                "\"Once upon a time\""));
    }

    /** One to three fields replaced by hostile values; a field may also be dropped. */
    private String mutated(Map<String, String> base, List<String> fields) {
        Map<String, String> body = new LinkedHashMap<>(base);
        int changes = 1 + random.nextInt(3);
        for (int i = 0; i < changes; i++) {
            String field = pick(fields);
            if (random.nextInt(10) == 0 && !field.equals("max_tokens")) body.remove(field);
            else body.put(field, value());
        }
        // A valid request must stay cheap: never let the answer run to the end of the context.
        if (fields == RESPONSE_FIELDS) body.putIfAbsent("max_output_tokens", "1");
        else if (fields != EMBEDDING_FIELDS
                && !body.containsKey("max_tokens")
                && !body.containsKey("max_completion_tokens")) body.put("max_tokens", "1");
        return object(body);
    }

    private String value() {
        return switch (random.nextInt(12)) {
            case 0 ->
                "[" + VALUES.get(random.nextInt(VALUES.size())) + "," + VALUES.get(random.nextInt(VALUES.size())) + "]";
            case 1 -> "{\"role\":" + pick(VALUES) + ",\"content\":" + pick(VALUES) + "}";
            case 2 -> "[{\"role\":\"user\",\"content\":" + pick(VALUES) + "}," + pick(VALUES) + "]";
            default -> pick(VALUES);
        };
    }

    /** A valid body cut at a random byte, possibly inside a string or a multi-byte character. */
    private byte[] truncated(String json) {
        byte[] bytes = utf8(json);
        return Arrays.copyOf(bytes, random.nextInt(bytes.length));
    }

    /** A valid body with bytes that are not UTF-8 in one of its strings. */
    private byte[] notUtf8(String json) {
        byte[] bytes = utf8(json);
        int at = json.indexOf("Once") >= 0 ? json.indexOf("Once") : bytes.length / 2;
        byte[] bad = {(byte) 0xff, (byte) 0xfe, (byte) 0xc3, (byte) 0x28, (byte) 0xed, (byte) 0xa0, (byte) 0x80};
        byte[] out = new byte[bytes.length + bad.length];
        System.arraycopy(bytes, 0, out, 0, at);
        System.arraycopy(bad, 0, out, at, bad.length);
        System.arraycopy(bytes, at, out, at + bad.length, bytes.length - at);
        return out;
    }

    /** A field nested in thousands of arrays or objects, past any parser's depth limit or just within it. */
    private String deep(Map<String, String> base) {
        int depth = pick(List.of(10, 999, 1001, 10_000));
        boolean arrays = random.nextBoolean();
        String open = arrays ? "[" : "{\"a\":";
        String close = arrays ? "]" : "}";
        Map<String, String> body = new LinkedHashMap<>(base);
        body.put(
                pick(List.of("messages", "stop", "logit_bias", "function_call", "unknown_field", "tools")),
                open.repeat(depth) + "1" + close.repeat(depth));
        return object(body);
    }

    /** A string field of hundreds of kilobytes. */
    private String oversized(Map<String, String> base) {
        Map<String, String> body = new LinkedHashMap<>(base);
        String big = "\""
                + pick(List.of("a", "Once upon a time ", "\\u0000", "</s>", "\\ud800"))
                        .repeat(50_000 + random.nextInt(50_000))
                + "\"";
        String field = pick(List.of("model", "user", "stop", "suffix", "unknown_field", "content", "prompt"));
        if (field.equals("content"))
            body.computeIfPresent("messages", (k, v) -> "[{\"role\":\"user\",\"content\":" + big + "}]");
        else if (field.equals("prompt")) body.computeIfPresent("prompt", (k, v) -> big);
        else body.put(field, big);
        return object(body);
    }

    private static String object(Map<String, String> fields) {
        return fields.entrySet().stream()
                .map(e -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{", "}"));
    }

    private <T> T pick(List<T> values) {
        return values.get(random.nextInt(values.size()));
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
