package dev.parley.server;

import static dev.parley.server.Loopback.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatMessage;
import dev.parley.api.Json;
import dev.parley.client.ClientOptions;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.engine.proxy.ProxyEngine;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import dev.parley.tokens.Encodings;
import dev.parley.tokens.TokenCounter;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code /tokenize} and {@code /detokenize} on a real server: the demo model's vocabulary, and tiktoken's for upstream models. */
@Timeout(60)
class TokenizeTest {
    static final String STORY = "Once upon a time, there was a little dog named Tim.";
    static final String MESSAGES = "[{\"role\":\"system\",\"content\":\"Tell a story.\"},"
            + "{\"role\":\"user\",\"content\":\"Once upon a time\"}]";

    static Served served;

    @BeforeAll
    static void start() {
        served = Served.demo(256);
    }

    @AfterAll
    static void stop() {
        served.close();
    }

    static JsonNode ok(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.tree(response.body());
    }

    static int[] ids(JsonNode tokens) {
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode token = tokens.get(i);
            ids[i] = token.isInt() ? token.asInt() : token.path("id").asInt();
        }
        return ids;
    }

    @Test
    void aTextCountsAsTheLegacyPromptOfTheSameTextAndReadsBack() throws Exception {
        JsonNode tokens = ok(served.loopback()
                .post("/tokenize", "{\"model\":\"demo\",\"content\":\"%s\",\"add_special\":true}".formatted(STORY)));
        assertThat(tokens.path("model").asText()).isEqualTo("demo");
        assertThat(tokens.path("count").asInt()).isEqualTo(tokens.path("tokens").size());

        JsonNode completion = ok(served.loopback()
                .post(
                        "/v1/completions",
                        "{\"model\":\"demo\",\"prompt\":\"%s\",\"max_tokens\":1,\"temperature\":0}".formatted(STORY)));
        assertThat(tokens.path("count").asInt())
                .isEqualTo(completion.path("usage").path("prompt_tokens").asInt());

        String ids =
                Json.write(Arrays.stream(ids(tokens.path("tokens"))).boxed().toList());
        JsonNode text = ok(served.loopback().post("/detokenize", "{\"model\":\"demo\",\"tokens\":%s}".formatted(ids)));
        assertThat(text.path("content").asText()).isEqualTo(STORY);
    }

    @Test
    void theBosIsAddedOnlyWhenAsked() throws Exception {
        int[] plain = ids(ok(served.loopback().post("/tokenize", "{\"content\":\"%s\"}".formatted(STORY)))
                .path("tokens"));
        int[] special = ids(
                ok(served.loopback().post("/tokenize", "{\"content\":\"%s\",\"add_special\":true}".formatted(STORY)))
                        .path("tokens"));
        assertThat(special).hasSize(plain.length + 1);
        assertThat(Arrays.copyOfRange(special, 1, special.length)).isEqualTo(plain);
    }

    @Test
    void piecesSpellTheText() throws Exception {
        JsonNode tokens = ok(served.loopback()
                        .post("/tokenize", "{\"content\":\"%s\",\"with_pieces\":true}".formatted(STORY)))
                .path("tokens");
        var spelled = new ByteArrayOutputStream();
        for (JsonNode token : tokens) {
            assertThat(token.path("id").isInt()).isTrue();
            JsonNode piece = token.path("piece");
            if (piece.isTextual()) spelled.writeBytes(piece.asText().getBytes(StandardCharsets.UTF_8));
            else piece.forEach(b -> spelled.write(b.asInt()));
        }
        // SentencePiece reads a text with a space before it.
        assertThat(spelled.toString(StandardCharsets.UTF_8)).isEqualTo(" " + STORY);
    }

    @Test
    void messagesCountAsTheChatsPromptTokens() throws Exception {
        JsonNode tokens = ok(served.loopback()
                .post("/v1/tokenize", "{\"model\":\"demo\",\"messages\":%s,\"with_pieces\":true}".formatted(MESSAGES)));
        JsonNode chat = ok(served.loopback()
                .post(
                        "/v1/chat/completions",
                        "{\"model\":\"demo\",\"messages\":%s,\"max_tokens\":1,\"temperature\":0}".formatted(MESSAGES)));
        assertThat(tokens.path("count").asInt())
                .isEqualTo(chat.path("usage").path("prompt_tokens").asInt())
                .isEqualTo(tokens.path("tokens").size());
        StringBuilder prompt = new StringBuilder();
        tokens.path("tokens").forEach(t -> prompt.append(t.path("piece").asText()));
        assertThat(prompt.toString()).contains("Tell a story.").contains("Once upon a time");
    }

    /** The demo model has no Jinja template: llama.cpp's built-in one shows no calls, so they are written as text. */
    @Test
    void earlierCallsAreInThePromptEvenWhereTheTemplateShowsNone() throws Exception {
        String messages = "[{\"role\":\"user\",\"content\":\"Weather?\"},{\"role\":\"assistant\",\"content\":null,"
                + "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                + "\"arguments\":\"{\\\"city\\\":\\\"Lyon\\\"}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"sunny\"}]";
        JsonNode tokens = ok(served.loopback()
                .post("/v1/tokenize", "{\"model\":\"demo\",\"messages\":%s,\"with_pieces\":true}".formatted(messages)));

        StringBuilder prompt = new StringBuilder();
        tokens.path("tokens").forEach(t -> prompt.append(t.path("piece").asText()));
        assertThat(prompt.toString())
                .contains("{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lyon\"}}]}")
                .contains("sunny");
    }

    @Test
    void theSameRoutesServeUnderV1() throws Exception {
        String body = "{\"content\":\"%s\"}".formatted(STORY);
        assertThat(served.loopback().post("/v1/tokenize", body).body())
                .isEqualTo(served.loopback().post("/tokenize", body).body());
    }

    @Test
    void badBodiesAreOpenAiErrors() throws Exception {
        var loopback = served.loopback();
        assertError(
                loopback.post("/tokenize", "{\"model\":\"demo\"}"),
                400,
                "invalid_request_error",
                "content",
                "missing_required_parameter");
        var number = loopback.post("/tokenize", "{\"content\":5}");
        assertError(number, 400, "invalid_request_error", "content", "invalid_type");
        assertThat(Json.tree(number.body()).at("/error/message").asText())
                .isEqualTo("Invalid type for 'content': expected a string, but got an integer instead.");
        assertError(
                loopback.post("/tokenize", "{\"content\":\"a\",\"messages\":%s}".formatted(MESSAGES)),
                400,
                "invalid_request_error",
                "content",
                "invalid_value");
        assertError(loopback.post("/tokenize", "{\"content\":"), 400, "invalid_request_error", null, null);
        assertError(
                loopback.post("/tokenize", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"a\"}]}"),
                400,
                "invalid_request_error",
                "messages[0].role",
                "invalid_value");
        assertError(
                loopback.post("/tokenize", "{\"model\":\"gpt-9\",\"content\":\"a\"}"),
                404,
                "invalid_request_error",
                null,
                "model_not_found");
        assertError(
                loopback.post("/detokenize", "{}"),
                400,
                "invalid_request_error",
                "tokens",
                "missing_required_parameter");
        assertError(
                loopback.post("/detokenize", "{\"tokens\":[1,-2]}"),
                400,
                "invalid_request_error",
                "tokens[1]",
                "invalid_value");
        assertError(
                loopback.post("/detokenize", "{\"tokens\":[1,100000]}"),
                400,
                "invalid_request_error",
                "tokens[1]",
                "invalid_value");
        assertError(
                loopback.post("/detokenize", "{\"tokens\":[1,null]}"),
                400,
                "invalid_request_error",
                "tokens[1]",
                "invalid_type");
        assertError(
                loopback.post("/detokenize", "{\"tokens\":[1,1e3]}"),
                400,
                "invalid_request_error",
                "tokens[1]",
                "invalid_type");
        String many = Json.write(Arrays.stream(new int[257]).map(i -> 1).boxed().toList());
        assertError(
                loopback.post("/detokenize", "{\"tokens\":%s}".formatted(many)),
                400,
                "invalid_request_error",
                "tokens",
                "array_above_max_length");
    }

    /** The fuzz test's hostile bodies, as chat prompts, texts and token lists: each a 200 or a 4xx error, never a 5xx. */
    @Test
    void hostileBodiesAreAnsweredWithA200OrAnOpenAiError() throws Exception {
        var generator = new HostileBodies(20261130L);
        Map<String, Integer> answers = new TreeMap<>();
        for (int i = 0; i < 200; i++) {
            List<String[]> sent = List.of(
                    new String[] {"/tokenize", new String(generator.chat(), StandardCharsets.ISO_8859_1)},
                    new String[] {
                        "/v1/tokenize",
                        new String(generator.completion(), StandardCharsets.ISO_8859_1)
                                .replace("\"prompt\":", "\"content\":")
                    },
                    new String[] {
                        "/detokenize",
                        new String(generator.completion(), StandardCharsets.ISO_8859_1)
                                .replace("\"prompt\":\"Once upon a time\"", "\"tokens\":[403,407,261,378]")
                                .replace("\"prompt\":[\"Tom\",\"Sue\"]", "\"tokens\":[1,2,3]")
                                .replace("\"prompt\":", "\"tokens\":")
                    });
            for (String[] request : sent) {
                byte[] body = request[1].getBytes(StandardCharsets.ISO_8859_1); // the generator's bytes, as they were
                HttpResponse<String> response = served.loopback()
                        .http()
                        .send(
                                HttpRequest.newBuilder(
                                                URI.create(served.loopback().base() + request[0]))
                                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                answers.merge(request[0] + " " + response.statusCode(), 1, Integer::sum);
                assertThat(response.statusCode())
                        .as(request[0] + " " + request[1].substring(0, Math.min(300, request[1].length())))
                        .isIn(200, 400, 404);
                if (response.statusCode() != 200) {
                    assertThat(Json.tree(response.body())
                                    .path("error")
                                    .path("message")
                                    .asText())
                            .isNotBlank();
                }
            }
        }
        // The bodies reach the tokenizers too, not only the checks in front of them.
        assertThat(answers).containsKeys("/tokenize 200", "/v1/tokenize 200", "/detokenize 200");
    }

    @Test
    void aTextLongerThanTheContextIsRefusedBeforeItIsTokenized() throws Exception {
        // 4 MiB: at least this many tokens by its length alone, far beyond a context of 256.
        String huge = "ab".repeat(2 << 20);
        var refused = served.loopback().post("/tokenize", "{\"content\":\"%s\"}".formatted(huge));
        assertError(refused, 400, "invalid_request_error", "content", "context_length_exceeded");
        assertThat(Json.tree(refused.body()).path("error").path("message").asText())
                .contains("maximum context length is 256 tokens")
                .contains("at least");
        // About 300 tokens, which only tokenizing tells: refused after it, with the exact count.
        String long_ = "Once upon a time. ".repeat(60);
        var text = served.loopback().post("/tokenize", "{\"content\":\"%s\"}".formatted(long_));
        assertError(text, 400, "invalid_request_error", "content", "context_length_exceeded");
        assertThat(Json.tree(text.body()).path("error").path("message").asText())
                .doesNotContain("at least");
        var chat = served.loopback()
                .post("/tokenize", "{\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}".formatted(long_));
        assertError(chat, 400, "invalid_request_error", "messages", "context_length_exceeded");
        assertThat(Json.tree(chat.body()).path("error").path("message").asText())
                .doesNotContain("at least");
    }

    @Test
    void aKeyTokenizesOnlyForItsModelsAndGetsItsBudgetsHeaders(@TempDir Path dir) throws Exception {
        Path keys = dir.resolve("keys.json");
        KeysFile.add(keys, new KeyEntry("all", KeysFile.sha256("sk-all"), 100, 100_000, null, null, List.of()));
        KeysFile.add(keys, new KeyEntry("other", KeysFile.sha256("sk-other"), 100, 100_000, null, null, List.of("x")));
        try (var server = ParleyServer.start(
                        LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                                .withModelId("demo")
                                .withParallel(1)
                                .withContextPerSequence(128)),
                        ApiKeys.load(keys),
                        new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                        "127.0.0.1",
                        0);
                var loopback = Loopback.to(server)) {
            String body = "{\"model\":\"demo\",\"content\":\"Once\"}";
            assertError(loopback.post("/tokenize", body), 401, "invalid_request_error", null, "invalid_api_key");
            assertError(
                    post(loopback, "sk-other", "/tokenize", body),
                    404,
                    "invalid_request_error",
                    null,
                    "model_not_found");
            // The key may use one model only, which is not this one: the model must be named.
            assertError(
                    post(loopback, "sk-other", "/tokenize", "{\"content\":\"Once\"}"),
                    400,
                    "invalid_request_error",
                    "model",
                    "missing_required_parameter");
            var answered = post(loopback, "sk-all", "/tokenize", body);
            assertThat(ok(answered).path("count").asInt()).isPositive();
            // Tokenizing runs no model: the budgets are shown, not spent.
            assertThat(answered.headers().firstValue("x-ratelimit-remaining-requests"))
                    .hasValue("100");
            assertThat(answered.headers().firstValue("x-ratelimit-remaining-tokens"))
                    .hasValue("100000");
        }
    }

    static HttpResponse<String> post(Loopback loopback, String key, String path, String body) throws Exception {
        return loopback.http()
                .send(
                        HttpRequest.newBuilder(URI.create(loopback.base() + path))
                                .header("Authorization", "Bearer " + key)
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void anUpstreamModelTokenizesWithItsTiktokenEncoding() throws Exception {
        int nothing;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            nothing = socket.getLocalPort();
        }
        var options = ClientOptions.builder(name -> null)
                .baseUrl("http://127.0.0.1:" + nothing + "/v1")
                .maxRetries(0)
                .build();
        try (var server = ParleyServer.start(ProxyEngine.connect(options, List.of("gpt-4o", "gpt-4")), "127.0.0.1", 0);
                var loopback = Loopback.to(server)) {
            JsonNode tokens = ok(loopback.post(
                    "/tokenize", "{\"model\":\"gpt-4o\",\"content\":\"tiktoken is great!\",\"with_pieces\":true}"));
            assertThat(tokens.path("count").asInt()).isEqualTo(6);
            assertThat(ids(tokens.path("tokens")))
                    .isEqualTo(Encodings.byName("o200k_base").encode("tiktoken is great!"));
            StringBuilder pieces = new StringBuilder();
            tokens.path("tokens").forEach(t -> pieces.append(t.path("piece").asText()));
            assertThat(pieces.toString()).isEqualTo("tiktoken is great!");

            JsonNode text = ok(loopback.post(
                    "/detokenize",
                    "{\"model\":\"gpt-4o\",\"tokens\":%s}"
                            .formatted(Json.write(Arrays.stream(ids(tokens.path("tokens")))
                                    .boxed()
                                    .toList()))));
            assertThat(text.path("content").asText()).isEqualTo("tiktoken is great!");

            // A chat prompt is counted by OpenAI's rules; its token ids are not published.
            JsonNode chat = ok(loopback.post("/tokenize", "{\"model\":\"gpt-4\",\"messages\":%s}".formatted(MESSAGES)));
            assertThat(chat.path("count").asInt())
                    .isEqualTo(TokenCounter.forModel("gpt-4")
                            .count(List.of(ChatMessage.system("Tell a story."), ChatMessage.user("Once upon a time"))));
            assertThat(chat.has("tokens")).isFalse();

            assertError(
                    loopback.post("/detokenize", "{\"model\":\"gpt-4o\",\"tokens\":[300000]}"),
                    400,
                    "invalid_request_error",
                    "tokens",
                    "invalid_value");
            assertError(
                    loopback.post("/tokenize", "{\"content\":\"a\"}"),
                    400,
                    "invalid_request_error",
                    "model",
                    "missing_required_parameter");
        }
    }
}
