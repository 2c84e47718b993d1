package dev.parley.server;

import static dev.parley.server.Loopback.assertError;
import static dev.parley.server.Loopback.chunks;
import static dev.parley.server.Loopback.streamedText;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.Json;
import dev.parley.api.TextCompletion;
import dev.parley.server.engine.llama.KvCacheType;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real server over a model the test writes itself with the testkit's GgufWriter, with a Llama 3 chat
 * template in its GGUF metadata: llama.cpp's own template path, end to end over real HTTP.
 */
@Timeout(120)
class WrittenModelServerTest {
    /** Jinja as a Llama 3 GGUF carries it; llama.cpp recognises it by its header tokens. */
    static final String LLAMA3_TEMPLATE =
            "{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
                    + "{{ message['content'] }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";

    @TempDir
    static Path dir;

    static ParleyServer server;
    static Loopback loopback;

    @BeforeAll
    static void start() {
        Path model = GgufWriter.llama()
                .dim(64)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .ffnDim(128)
                .vocabSize(600)
                .contextLength(4096)
                .type(TensorType.Q8_0)
                .seed(5)
                .chatTemplate(LLAMA3_TEMPLATE)
                .write(dir.resolve("tiny.gguf"));
        server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(model)
                        .withParallel(4)
                        .withContextPerSequence(128)
                        .withKvCache(KvCacheType.F32)),
                "127.0.0.1",
                0);
        loopback = Loopback.to(server);
    }

    @AfterAll
    static void stop() {
        server.close();
        loopback.close();
    }

    static String chat(String content, String extra) {
        return "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":" + Json.write(content)
                + "}],\"temperature\":0" + extra + "}";
    }

    @Test
    void formatsTheChatWithTheModelsOwnTemplate() throws Exception {
        var chat = Json.read(
                loopback.post("/v1/chat/completions", chat("Hello", ",\"max_tokens\":16"))
                        .body(),
                ChatCompletion.class);
        String llama3 =
                "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
        var completion = Json.read(
                loopback.post(
                                "/v1/completions",
                                "{\"model\":\"tiny\",\"prompt\":" + Json.write(llama3)
                                        + ",\"temperature\":0,\"max_tokens\":16}")
                        .body(),
                TextCompletion.class);

        assertThat(chat.usage().promptTokens()).isEqualTo(completion.usage().promptTokens());
        assertThat(chat.text()).isNotEmpty().isEqualTo(completion.text());
    }

    @Test
    void answersWithEveryFieldAndStreamsTheSameText() throws Exception {
        var response = loopback.post("/v1/chat/completions", chat("Once upon a time", ",\"max_tokens\":12"));
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("x-request-id"))
                .hasValueSatisfying(id -> assertThat(id).startsWith("req_"));
        var whole = Json.read(response.body(), ChatCompletion.class);
        assertThat(whole.id()).startsWith("chatcmpl-");
        assertThat(whole.object()).isEqualTo("chat.completion");
        assertThat(whole.model()).isEqualTo("tiny");
        assertThat(whole.created()).isPositive();
        assertThat(whole.choices()).singleElement().satisfies(choice -> {
            assertThat(choice.index()).isZero();
            assertThat(choice.message().role()).isEqualTo("assistant");
            assertThat(choice.finishReason()).isEqualTo("length");
        });
        assertThat(whole.usage().completionTokens()).isEqualTo(12);
        assertThat(whole.usage().totalTokens()).isEqualTo(whole.usage().promptTokens() + 12);

        var stream = loopback.post(
                "/v1/chat/completions",
                chat(
                        "Once upon a time",
                        ",\"max_tokens\":12,\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertThat(stream.headers().firstValue("content-type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        List<ChatCompletionChunk> chunks = chunks(stream.body());
        assertThat(chunks.getFirst().choices().getFirst().delta().role()).isEqualTo("assistant");
        assertThat(chunks)
                .extracting(ChatCompletionChunk::id)
                .containsOnly(chunks.getFirst().id());
        assertThat(chunks).extracting(ChatCompletionChunk::model).containsOnly("tiny");
        assertThat(chunks.get(chunks.size() - 2).choices().getFirst().finishReason())
                .isEqualTo("length");
        assertThat(chunks.getLast().choices()).isEmpty();
        // The counts; the second request may find the first one's prompt cached.
        assertThat(chunks.getLast().usage())
                .usingRecursiveComparison()
                .ignoringFields("promptTokensDetails")
                .isEqualTo(whole.usage());
        assertThat(streamedText(stream.body())).isEqualTo(whole.text());
    }

    @Test
    void aSeedMakesSamplingRepeatableAndNChoicesShareThePrompt() throws Exception {
        String body = chat("Tom", ",\"temperature\":1,\"seed\":11,\"max_tokens\":10,\"n\":3")
                .replace(",\"temperature\":0", "");
        var first = Json.read(loopback.post("/v1/chat/completions", body).body(), ChatCompletion.class);
        var second = Json.read(loopback.post("/v1/chat/completions", body).body(), ChatCompletion.class);
        assertThat(first.choices())
                .extracting(c -> c.message().text())
                .isEqualTo(
                        second.choices().stream().map(c -> c.message().text()).toList());
        assertThat(first.choices().stream()
                        .map(c -> c.message().text())
                        .distinct()
                        .count())
                .isGreaterThan(1);
        var greedy = Json.read(
                loopback.post("/v1/chat/completions", chat("Tom", ",\"max_tokens\":10,\"n\":2"))
                        .body(),
                ChatCompletion.class);
        var single = Json.read(
                loopback.post("/v1/chat/completions", chat("Tom", ",\"max_tokens\":10"))
                        .body(),
                ChatCompletion.class);
        assertThat(greedy.choices()).extracting(c -> c.message().text()).containsOnly(single.text());
    }

    @Test
    void cutsBeforeAStopString() throws Exception {
        String full = Json.read(
                        loopback.post("/v1/chat/completions", chat("Hi", ",\"max_tokens\":30"))
                                .body(),
                        ChatCompletion.class)
                .text();
        String stop = full.substring(5, 8);
        var stopped = Json.read(
                loopback.post(
                                "/v1/chat/completions",
                                chat("Hi", ",\"max_tokens\":30,\"stop\":[" + Json.write(stop) + "]"))
                        .body(),
                ChatCompletion.class);
        assertThat(stopped.text()).isEqualTo(full.substring(0, full.indexOf(stop)));
        assertThat(stopped.choices().getFirst().finishReason()).isEqualTo("stop");
    }

    @Test
    void fourConcurrentGreedyStreamsMatchTheSameRequestsOneByOne() throws Exception {
        List<String> prompts = List.of("Once upon a time", "Lily", "The dog", "One day");
        List<String> alone = new ArrayList<>();
        for (String prompt : prompts)
            alone.add(streamedText(
                    loopback.post("/v1/chat/completions", streamBody(prompt)).body()));
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> together = new ArrayList<>();
            for (String prompt : prompts) {
                Callable<String> call = () -> streamedText(loopback.post("/v1/chat/completions", streamBody(prompt))
                        .body());
                together.add(pool.submit(call));
            }
            for (int i = 0; i < prompts.size(); i++)
                assertThat(together.get(i).get()).isEqualTo(alone.get(i));
        }
    }

    private static String streamBody(String prompt) {
        return chat(prompt, ",\"max_tokens\":40,\"stream\":true");
    }

    @Test
    void answersErrorsInOpenAisShape() throws Exception {
        assertError(
                loopback.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":"),
                400,
                "invalid_request_error",
                null,
                null);
        assertError(
                loopback.post("/v1/chat/completions", chat("x", ",\"top_p\":2")),
                400,
                "invalid_request_error",
                "top_p",
                "decimal_above_max_value");
        assertError(
                loopback.post("/v1/chat/completions", chat("x", "").replace("\"tiny\"", "\"gpt-4o\"")),
                404,
                "invalid_request_error",
                null,
                "model_not_found");
        assertError(
                loopback.post("/v1/chat/completions", chat("x", ",\"max_tokens\":200")),
                400,
                "invalid_request_error",
                "max_tokens",
                "context_length_exceeded");
        assertError(
                loopback.post("/v1/chat/completions", chat("word ".repeat(200), "")),
                400,
                "invalid_request_error",
                "messages",
                "context_length_exceeded");
    }

    @Test
    void withoutMaxTokensAnAnswerRunsToTheEndOfItsContextAndSaysLength() throws Exception {
        var answer = Json.read(
                loopback.post("/v1/chat/completions", chat("Hi", ",\"logit_bias\":{\"2\":-100}"))
                        .body(),
                ChatCompletion.class);
        assertThat(answer.choices().getFirst().finishReason()).isEqualTo("length");
        assertThat(answer.usage().totalTokens()).isEqualTo(128);
    }

    @Test
    void aGreedyAnswerTakesTheLargestLogitOnlyAfterItsBias() throws Exception {
        JsonNode tokens = Json.mapper()
                .readTree(loopback.post("/tokenize", "{\"model\":\"tiny\",\"content\":\"q\"}")
                        .body())
                .path("tokens");
        int forced = tokens.path(0).asInt();
        String fourTimes = Json.mapper()
                .readTree(loopback.post(
                                "/detokenize",
                                "{\"model\":\"tiny\",\"tokens\":[%d,%d,%d,%d]}"
                                        .formatted(forced, forced, forced, forced))
                        .body())
                .path("content")
                .asText();

        String plain = greedyText(",\"max_tokens\":4");
        String biased = greedyText(",\"max_tokens\":4,\"logit_bias\":{\"%d\":100}".formatted(forced));
        // /detokenize drops the space SentencePiece writes before a text's first word; an answer keeps it.
        assertThat(biased.strip()).isEqualTo(fourTimes.strip());
        assertThat(biased).isNotEqualTo(plain);
    }

    private static String greedyText(String extra) throws Exception {
        return Json.read(
                        loopback.post("/v1/chat/completions", chat("Hi", extra)).body(), ChatCompletion.class)
                .text();
    }

    @Test
    void anEmojiWrittenByteByByteArrivesWholeInEveryChunk() throws Exception {
        // A model that, after the template's closing newline, writes the four bytes of 😀 over and over.
        int[] emoji = {
            GgufWriter.byteToken(0xF0),
            GgufWriter.byteToken(0x9F),
            GgufWriter.byteToken(0x98),
            GgufWriter.byteToken(0x80)
        };
        GgufWriter writer =
                GgufWriter.llama().vocabSize(600).chatTemplate(LLAMA3_TEMPLATE).seed(8);
        writer.successor(GgufWriter.byteToken('\n'), emoji[0]);
        for (int i = 0; i < 4; i++) writer.successor(emoji[i], emoji[(i + 1) % 4]);
        Path model = writer.write(dir.resolve("emoji.gguf"));
        try (var emojiServer = ParleyServer.start(
                        LlamaEngine.open(LlamaEngineOptions.of(model)
                                .withModelId("tiny")
                                .withParallel(1)
                                .withContextPerSequence(256)),
                        "127.0.0.1",
                        0);
                var client = Loopback.to(emojiServer)) {
            var stream = client.http()
                    .send(
                            java.net.http.HttpRequest.newBuilder(
                                            java.net.URI.create(client.base() + "/v1/chat/completions"))
                                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                            chat("Smile", ",\"max_tokens\":12,\"stream\":true")))
                                    .build(),
                            HttpResponse.BodyHandlers.ofByteArray());
            String body = java.nio.charset.StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(stream.body()))
                    .toString(); // throws on a split character
            List<String> contents = chunks(body).stream()
                    .map(ChatCompletionChunk::deltaText)
                    .filter(t -> !t.isEmpty())
                    .toList();
            assertThat(contents).hasSize(3).allSatisfy(text -> assertThat(text).isEqualTo("😀"));
            var whole = Json.read(
                    client.post("/v1/chat/completions", chat("Smile", ",\"max_tokens\":12"))
                            .body(),
                    ChatCompletion.class);
            assertThat(whole.text()).isEqualTo("😀😀😀");
            // Cut after two bytes of the fourth emoji: its bytes become one U+FFFD at the end, never half a character.
            var cut = Json.read(
                    client.post("/v1/chat/completions", chat("Smile", ",\"max_tokens\":14"))
                            .body(),
                    ChatCompletion.class);
            assertThat(cut.text()).isEqualTo("😀😀😀\uFFFD");
            assertThat(cut.usage().completionTokens()).isEqualTo(14);
        }
    }

    @Test
    void aFullWaitQueueAnswers503AndTheQueuedRequestIsServedOnceTheSlotFrees() throws Exception {
        Path model = SlowModel.write(dir);
        try (var single = ParleyServer.start(
                        LlamaEngine.open(LlamaEngineOptions.of(model)
                                .withModelId("tiny")
                                .withParallel(1)
                                .withQueue(1)
                                .withContextPerSequence(4096)),
                        "127.0.0.1",
                        0);
                var client = Loopback.to(single);
                var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            // A long answer holds the only slot; no end-of-text, so it runs until its reader leaves.
            HttpResponse<InputStream> holder = client.open(
                    "/v1/chat/completions",
                    chat("Once", ",\"max_tokens\":4000,\"stream\":true,\"logit_bias\":{\"2\":-100}"));
            InputStream held = holder.body();
            assertThat(held.readNBytes(600)).hasSize(600); // past the role chunk: it is generating
            // Two more at once: one waits in the queue of one, the other finds it full.
            List<Future<HttpResponse<String>>> more = List.of(
                    pool.submit(() -> client.post("/v1/chat/completions", chat("a", ",\"max_tokens\":3"))),
                    pool.submit(() -> client.post("/v1/chat/completions", chat("b", ",\"max_tokens\":3"))));
            HttpResponse<String> rejected = null;
            while (rejected == null) {
                for (var response : more) if (response.isDone()) rejected = response.get();
                if (rejected == null) Thread.sleep(5);
            }
            assertError(rejected, 503, "server_error", null, "engine_overloaded");
            assertThat(Json.tree(rejected.body()).at("/error/message").asText())
                    .isEqualTo("The engine is overloaded: 1 sequence is waiting for a slot. Please retry later.");
            held.close(); // the holder disconnects: its slot frees and the queued request runs
            for (var response : more)
                assertThat(response.get(60, TimeUnit.SECONDS).statusCode()).isIn(200, 503);
            assertThat(more.stream().filter(f -> f.resultNow().statusCode() == 200))
                    .hasSize(1);
            assertThat(client.post("/v1/chat/completions", chat("c", ",\"max_tokens\":3"))
                            .statusCode())
                    .isEqualTo(200);
        }
    }
}
