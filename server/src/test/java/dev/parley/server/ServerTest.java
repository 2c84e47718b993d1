package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.Json;
import dev.parley.api.TextCompletion;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The real server on a loopback port, the demo model through llama.cpp, real HTTP and SSE bytes. */
@Timeout(120)
class ServerTest {
    static ParleyServer server;
    static HttpClient http;
    static String base;

    @BeforeAll
    static void start() {
        var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(4)
                .withContextPerSequence(256));
        server = ParleyServer.start(engine, "127.0.0.1", 0);
        base = "http://127.0.0.1:" + server.port();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        server.close();
        http.close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(base + path))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static String chatBody(String extra) {
        return "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"temperature\":0"
                + extra + "}";
    }

    /** The data payloads of an SSE body, checked to be well-framed; keep-alive comments are skipped. */
    static List<String> events(String body) {
        assertThat(body).endsWith("\n\n");
        List<String> data = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (event.equals(": keep-alive")) continue;
            assertThat(event).startsWith("data: ");
            data.add(event.substring("data: ".length()));
        }
        return data;
    }

    static String streamedText(String body) {
        StringBuilder text = new StringBuilder();
        List<String> data = events(body);
        for (String d : data.subList(0, data.size() - 1)) {
            text.append(Json.read(d, ChatCompletionChunk.class).deltaText());
        }
        return text.toString();
    }

    @Test
    void answersAChatRequestWithEveryFieldOfAChatCompletion() throws Exception {
        var response = post("/v1/chat/completions", chatBody(",\"max_tokens\":20"));
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("x-request-id"))
                .hasValueSatisfying(id -> assertThat(id).startsWith("req_"));
        assertThat(response.headers().firstValue("content-type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        var completion = Json.read(response.body(), ChatCompletion.class);
        assertThat(completion.id()).startsWith("chatcmpl-");
        assertThat(completion.object()).isEqualTo("chat.completion");
        assertThat(completion.model()).isEqualTo("demo");
        assertThat(completion.created()).isPositive();
        assertThat(completion.choices()).hasSize(1);
        var choice = completion.choices().getFirst();
        assertThat(choice.message().role()).isEqualTo("assistant");
        assertThat(choice.message().text()).isNotBlank();
        assertThat(choice.finishReason()).isIn("stop", "length");
        assertThat(completion.usage().promptTokens()).isPositive();
        assertThat(completion.usage().completionTokens()).isBetween(1, 20);
        assertThat(completion.usage().totalTokens())
                .isEqualTo(
                        completion.usage().promptTokens() + completion.usage().completionTokens());
    }

    @Test
    void streamsTheSameTextAsTheJsonAnswerAtTemperatureZero() throws Exception {
        var whole = Json.read(
                post("/v1/chat/completions", chatBody(",\"max_tokens\":30")).body(), ChatCompletion.class);
        var stream = post(
                "/v1/chat/completions",
                chatBody(",\"max_tokens\":30,\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertThat(stream.statusCode()).isEqualTo(200);
        assertThat(stream.headers().firstValue("content-type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        List<String> data = events(stream.body());
        assertThat(data.getLast()).isEqualTo("[DONE]");
        var chunks = data.subList(0, data.size() - 1).stream()
                .map(d -> Json.read(d, ChatCompletionChunk.class))
                .toList();
        assertThat(chunks.getFirst().choices().getFirst().delta().role()).isEqualTo("assistant");
        assertThat(chunks)
                .extracting(ChatCompletionChunk::id)
                .containsOnly(chunks.getFirst().id());
        assertThat(chunks)
                .extracting(ChatCompletionChunk::created)
                .containsOnly(chunks.getFirst().created());
        assertThat(chunks).extracting(ChatCompletionChunk::object).containsOnly("chat.completion.chunk");
        var usageChunk = chunks.getLast();
        assertThat(usageChunk.choices()).isEmpty();
        // The counts; the second request may find the first one's prompt cached.
        assertThat(usageChunk.usage())
                .usingRecursiveComparison()
                .ignoringFields("promptTokensDetails")
                .isEqualTo(whole.usage());
        var finish = chunks.get(chunks.size() - 2).choices().getFirst();
        assertThat(finish.finishReason()).isEqualTo(whole.choices().getFirst().finishReason());
        assertThat(streamedText(stream.body())).isEqualTo(whole.text());
        assertThat(data.get(1)).contains("\"finish_reason\":null");
    }

    @Test
    void stopsAtMaxTokensWithFinishReasonLength() throws Exception {
        var completion = Json.read(
                post("/v1/chat/completions", chatBody(",\"max_tokens\":3")).body(), ChatCompletion.class);
        assertThat(completion.choices().getFirst().finishReason()).isEqualTo("length");
        assertThat(completion.usage().completionTokens()).isEqualTo(3);
    }

    @Test
    void cutsTheAnswerBeforeAStopSequenceEvenAcrossTokens() throws Exception {
        String full = Json.read(
                        post("/v1/chat/completions", chatBody(",\"max_tokens\":40"))
                                .body(),
                        ChatCompletion.class)
                .text();
        assertThat(full.length()).isGreaterThan(12);
        String stop = full.substring(8, 12); // a stop string that need not align with token boundaries
        var stopped = Json.read(
                post("/v1/chat/completions", chatBody(",\"max_tokens\":40,\"stop\":" + Json.write(stop)))
                        .body(),
                ChatCompletion.class);
        assertThat(stopped.text()).isEqualTo(full.substring(0, full.indexOf(stop)));
        assertThat(stopped.choices().getFirst().finishReason()).isEqualTo("stop");
        var streamed = post(
                "/v1/chat/completions",
                chatBody(",\"max_tokens\":40,\"stream\":true,\"stop\":[" + Json.write(stop) + "]"));
        assertThat(streamedText(streamed.body())).isEqualTo(stopped.text());
    }

    @Test
    void theSameSeedGivesTheSameAnswerAndNChoicesDiffer() throws Exception {
        String body =
                "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Tom\"}],\"temperature\":1,\"seed\":7,\"max_tokens\":25,\"n\":3}";
        var first = Json.read(post("/v1/chat/completions", body).body(), ChatCompletion.class);
        var second = Json.read(post("/v1/chat/completions", body).body(), ChatCompletion.class);
        assertThat(first.choices()).hasSize(3);
        assertThat(first.choices())
                .extracting(c -> c.message().text())
                .isEqualTo(
                        second.choices().stream().map(c -> c.message().text()).toList());
        assertThat(first.choices()).extracting(ChatCompletion.Choice::index).containsExactly(0, 1, 2);
        assertThat(first.choices().stream()
                        .map(c -> c.message().text())
                        .distinct()
                        .count())
                .isGreaterThan(1);
    }

    @Test
    void concurrentGreedyStreamsMatchTheSameRequestsOneByOne() throws Exception {
        List<String> prompts =
                List.of("Once upon a time", "Lily", "The dog", "One day", "Tom and Sue", "The sun", "A bird", "Mom");
        List<String> alone = new ArrayList<>();
        for (String prompt : prompts)
            alone.add(streamedText(
                    post("/v1/chat/completions", streamBody(prompt)).body()));
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> together = new ArrayList<>();
            for (String prompt : prompts) {
                Callable<String> call = () -> streamedText(
                        post("/v1/chat/completions", streamBody(prompt)).body());
                together.add(pool.submit(call));
            }
            for (int i = 0; i < prompts.size(); i++)
                assertThat(together.get(i).get()).isEqualTo(alone.get(i));
        }
    }

    private static String streamBody(String prompt) {
        return "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":" + Json.write(prompt)
                + "}],\"temperature\":0,\"max_tokens\":24,\"stream\":true}";
    }

    @Test
    void aClientThatDisconnectsMidStreamFreesItsSlotAndTheServerKeepsServing() throws Exception {
        for (int i = 0; i < 6; i++) { // more than the 4 slots: leaked slots would stall the later ones
            var request = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(chatBody(",\"max_tokens\":200,\"stream\":true")))
                    .build();
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                assertThat(in.readNBytes(64)).hasSize(64);
            }
        }
        var after = post("/v1/chat/completions", chatBody(",\"max_tokens\":5"));
        assertThat(after.statusCode()).isEqualTo(200);
    }

    @Test
    void answersLegacyCompletionsAndTheirStream() throws Exception {
        String body = "{\"model\":\"demo\",\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0";
        var whole = post("/v1/completions", body + "}");
        assertThat(whole.statusCode()).isEqualTo(200);
        var completion = Json.read(whole.body(), TextCompletion.class);
        assertThat(completion.object()).isEqualTo("text_completion");
        assertThat(completion.id()).startsWith("cmpl-");
        assertThat(whole.body()).contains("\"logprobs\":null");
        assertThat(completion.usage().completionTokens()).isEqualTo(12);
        var stream = post("/v1/completions", body + ",\"stream\":true}");
        List<String> data = events(stream.body());
        assertThat(data.getLast()).isEqualTo("[DONE]");
        String text = data.subList(0, data.size() - 1).stream()
                .map(d -> Json.read(d, TextCompletion.class).text())
                .reduce("", String::concat);
        assertThat(text).isEqualTo(completion.text());
        var echoed = Json.read(post("/v1/completions", body + ",\"echo\":true}").body(), TextCompletion.class);
        assertThat(echoed.text()).isEqualTo("Once upon a time" + completion.text());
    }

    @Test
    void reportsLogprobsThatAreProbabilities() throws Exception {
        var response = post("/v1/chat/completions", chatBody(",\"max_tokens\":4,\"logprobs\":true,\"top_logprobs\":3"));
        JsonNode content = Json.tree(response.body())
                .path("choices")
                .path(0)
                .path("logprobs")
                .path("content");
        assertThat(content.size()).isEqualTo(4);
        for (JsonNode token : content) {
            assertThat(token.path("logprob").asDouble()).isLessThanOrEqualTo(0.0);
            assertThat(token.path("top_logprobs").size()).isEqualTo(3);
            // Greedy: the chosen token is the most likely one.
            assertThat(token.path("top_logprobs").path(0).path("token").asText())
                    .isEqualTo(token.path("token").asText());
        }
    }

    @Test
    void listsItsModel() throws Exception {
        JsonNode list = Json.tree(get("/v1/models").body());
        assertThat(list.path("object").asText()).isEqualTo("list");
        assertThat(list.path("data").path(0).path("id").asText()).isEqualTo("demo");
        assertThat(list.path("data").path(0).path("object").asText()).isEqualTo("model");
        assertThat(get("/v1/models/demo").statusCode()).isEqualTo(200);
        var missing = get("/v1/models/gpt-5");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(Json.tree(missing.body()).path("error").path("code").asText())
                .isEqualTo("model_not_found");
        // HEAD runs the same route: the same status and headers, no body.
        for (String path : List.of("/v1/models", "/v1/models/demo", "/v1/models/gpt-5")) {
            var asked = get(path);
            var head = http.send(
                    HttpRequest.newBuilder(URI.create(base + path))
                            .method("HEAD", HttpRequest.BodyPublishers.noBody())
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(head.statusCode()).as(path).isEqualTo(asked.statusCode());
            assertThat(head.headers().firstValue("content-type"))
                    .as(path)
                    .isEqualTo(asked.headers().firstValue("content-type"));
            assertThat(head.body()).as(path).isEmpty();
        }
    }

    @Test
    void answersEveryErrorInOpenAisShape() throws Exception {
        assertError(post("/v1/chat/completions", "{\"model\":"), 400, null, null);
        assertError(
                post("/v1/chat/completions", "{\"model\":\"demo\",\"messages\":[]}"), 400, "messages", "empty_array");
        assertError(
                post("/v1/chat/completions", chatBody(",\"temperature\":3")),
                400,
                "temperature",
                "decimal_above_max_value");
        assertError(post("/v1/chat/completions", chatBody(",\"n\":0")), 400, "n", "integer_below_min_value");
        assertError(
                post("/v1/chat/completions", chatBody("").replace("\"demo\"", "\"gpt-4\"")),
                404,
                null,
                "model_not_found");
        assertError(
                post("/v1/chat/completions", chatBody(",\"max_tokens\":10000")),
                400,
                "max_tokens",
                "context_length_exceeded");
        assertError(
                post("/v1/chat/completions", chatBody(",\"logit_bias\":{\"99999\":5}")),
                400,
                "logit_bias",
                "invalid_value");
        assertError(
                post("/v1/completions", "{\"model\":\"demo\",\"prompt\":[[1,2,99999]]}"),
                400,
                "prompt[0]",
                "invalid_value");
        assertError(
                post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"a\",\"suffix\":\"b\"}"),
                400,
                "suffix",
                "unsupported_value");
        var unknown = post("/v1/chat/completion", chatBody(""));
        assertError(unknown, 404, null, null);
        assertThat(Json.tree(unknown.body()).at("/error/message").asText())
                .isEqualTo("Invalid URL (POST /v1/chat/completion)");
        var wrongMethod = get("/v1/chat/completions");
        assertError(wrongMethod, 404, null, null);
        assertThat(Json.tree(wrongMethod.body()).at("/error/message").asText())
                .isEqualTo("Invalid URL (GET /v1/chat/completions)");
    }

    @Test
    void rejectsAPromptThatDoesNotFitBeforeDecoding() throws Exception {
        String longText = "Once upon a time there was a little girl. ".repeat(80);
        var response = post(
                "/v1/chat/completions",
                "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":" + Json.write(longText) + "}]}");
        assertError(response, 400, "messages", "context_length_exceeded");
        assertThat(Json.tree(response.body()).path("error").path("message").asText())
                .contains("maximum context length is 256 tokens");
    }

    @Test
    void answersHealth() throws Exception {
        var health = get("/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.headers().firstValue("x-request-id")).isPresent();
        assertThat(Json.tree(health.body()).path("status").asText()).isEqualTo("ok");
    }

    @Test
    void greedyChoicesThatShareTheirPromptEachGiveTheSingleAnswer() throws Exception {
        // n=3 reads the prompt once and copies it: the copies must be as good as reading it.
        var one = Json.read(
                post("/v1/chat/completions", chatBody(",\"max_tokens\":20")).body(), ChatCompletion.class);
        var three = Json.read(
                post("/v1/chat/completions", chatBody(",\"max_tokens\":20,\"n\":3"))
                        .body(),
                ChatCompletion.class);
        assertThat(three.choices())
                .extracting(c -> c.message().text())
                .containsExactly(one.text(), one.text(), one.text());
        assertThat(three.usage().promptTokens()).isEqualTo(one.usage().promptTokens());
        assertThat(three.usage().completionTokens()).isEqualTo(3 * one.usage().completionTokens());
        var streamed = post("/v1/chat/completions", chatBody(",\"max_tokens\":20,\"n\":2,\"stream\":true"));
        List<String> data = events(streamed.body());
        StringBuilder[] texts = {new StringBuilder(), new StringBuilder()};
        for (String d : data.subList(0, data.size() - 1)) {
            var choice = Json.read(d, ChatCompletionChunk.class).choices().getFirst();
            if (choice.delta().content() != null)
                texts[choice.index()].append(choice.delta().content());
        }
        assertThat(texts[0].toString()).isEqualTo(one.text());
        assertThat(texts[1].toString()).isEqualTo(one.text());
    }

    @Test
    void differentSeedsGiveDifferentAnswers() throws Exception {
        String body =
                "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Tom\"}],\"temperature\":1,\"max_tokens\":25,\"seed\":";
        var answers = new java.util.HashSet<String>();
        for (int seed = 1; seed <= 3; seed++) {
            answers.add(
                    Json.read(post("/v1/chat/completions", body + seed + "}").body(), ChatCompletion.class)
                            .text());
        }
        assertThat(answers).hasSizeGreaterThan(1);
    }

    static void assertError(HttpResponse<String> response, int status, String param, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("x-request-id")).isPresent();
        JsonNode error = Json.tree(response.body()).path("error");
        assertThat(error.path("message").asText()).isNotBlank();
        assertThat(error.path("type").asText()).isNotBlank();
        assertThat(error.has("param")).isTrue();
        assertThat(error.has("code")).isTrue();
        assertThat(error.path("param").isNull() ? null : error.path("param").asText())
                .isEqualTo(param);
        assertThat(error.path("code").isNull() ? null : error.path("code").asText())
                .isEqualTo(code);
    }
}
