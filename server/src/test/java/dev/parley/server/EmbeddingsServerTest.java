package dev.parley.server;

import static dev.parley.server.Loopback.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.parley.api.Embedding;
import dev.parley.api.EmbeddingList;
import dev.parley.api.Json;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.engine.llama.LlamaModel;
import dev.parley.server.engine.llama.ModelOptions;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/embeddings} served by the local engine, over real HTTP: a tiny random-weight embedding model written
 * by the testkit (Llama architecture, Llama 2's real SentencePiece vocabulary, {@code llama.pooling_type} mean),
 * and the demo model, a generating one, served with embeddings as well.
 */
@Timeout(180)
class EmbeddingsServerTest {
    /** Positions one input may use: the context the server is given. */
    static final int CONTEXT = 64;

    static final int DIMENSIONS = 64;

    /**
     * How far an input's vector may move when other inputs share its decode. The pooled mean is a sum over the
     * input's tokens whose order of accumulation depends on the input's place in the batch, so it may differ in its
     * last bits (the F16 KV cache does not add to that: a cell holds the same half-precision values whichever
     * batch wrote it). Measured here, on all three test models: at most 3e-8 per component (a few units in the last
     * place of components near 0.125). 1e-5 leaves room for other CPUs' kernels; a vector that mixed in another
     * input's tokens would be off by 1e-2 or more.
     */
    static final float BATCH_TOLERANCE = 1e-5f;

    @TempDir
    static Path dir;

    static Path modelFile;
    static Served served;
    static LlamaModel vocabulary; // the same tokenizer, for the ids the server should count

    @BeforeAll
    static void start() {
        modelFile = GgufWriter.llama()
                .vocabulary(Served.vocabulary("ggml-vocab-llama-spm.gguf"))
                .dim(DIMENSIONS)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .ffnDim(128)
                .contextLength(256)
                .tiedOutput(true)
                .type(TensorType.Q8_0)
                .poolingType(1)
                .seed(11)
                .write(dir.resolve("embed.gguf"));
        served = Served.of(modelFile, "embed", CONTEXT);
        vocabulary = LlamaModel.open(modelFile, ModelOptions.defaults().withVocabularyOnly(true));
    }

    @AfterAll
    static void stop() {
        vocabulary.close();
        served.close();
    }

    static String request(String input, String extra) {
        return "{\"model\":\"embed\",\"input\":" + input + extra + "}";
    }

    static EmbeddingList embed(String input) throws Exception {
        return embed(input, "");
    }

    static EmbeddingList embed(String input, String extra) throws Exception {
        HttpResponse<String> response = served.loopback().post("/v1/embeddings", request(input, extra));
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.read(response.body(), EmbeddingList.class);
    }

    static int[] tokens(String text) {
        return vocabulary.tokenize(text, true, false);
    }

    static String ids(int[] tokens) {
        return Arrays.stream(tokens).mapToObj(Integer::toString).collect(Collectors.joining(",", "[", "]"));
    }

    static double norm(float[] vector) {
        double sum = 0;
        for (float x : vector) sum += (double) x * x;
        return Math.sqrt(sum);
    }

    static float maxDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        float max = 0;
        for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
        return max;
    }

    @Test
    void answersInOpenAisShape() throws Exception {
        HttpResponse<String> response = served.loopback().post("/v1/embeddings", request("\"Hello world\"", ""));

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        JsonNode body = Json.tree(response.body());
        assertThat(body.path("object").asText()).isEqualTo("list");
        assertThat(body.path("model").asText()).isEqualTo("embed");
        assertThat(body.path("data")).hasSize(1);
        JsonNode first = body.path("data").get(0);
        assertThat(first.path("object").asText()).isEqualTo("embedding");
        assertThat(first.path("index").asInt()).isZero();
        assertThat(first.path("embedding").isArray()).isTrue();
        assertThat(first.path("embedding"))
                .hasSize(DIMENSIONS)
                .allSatisfy(x -> assertThat(x.isNumber()).isTrue());
        int count = tokens("Hello world").length;
        assertThat(body.path("usage").path("prompt_tokens").asInt()).isEqualTo(count);
        assertThat(body.path("usage").path("total_tokens").asInt()).isEqualTo(count);
        assertThat(body.path("usage").has("completion_tokens")).isFalse();
    }

    @Test
    void everyVectorHasLengthOneAndTheUsageCountsEveryInputsTokens() throws Exception {
        List<String> texts = List.of("The cat sat on the mat.", "A", "Ünïcødé and emoji 🚀 too", "x y z ".repeat(8));

        EmbeddingList list = embed(Json.write(texts));

        assertThat(list.data()).hasSize(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            Embedding embedding = list.data().get(i);
            assertThat(embedding.index()).isEqualTo(i);
            assertThat(norm(embedding.floats())).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        }
        int total = texts.stream().mapToInt(t -> tokens(t).length).sum();
        assertThat(list.usage().promptTokens()).isEqualTo(total);
        assertThat(list.usage().totalTokens()).isEqualTo(total);
    }

    @Test
    void theSameInputGivesTheSameVectorAndOthersDiffer() throws Exception {
        float[] first = embed("\"Once upon a time\"").data().getFirst().floats();
        float[] again = embed("\"Once upon a time\"").data().getFirst().floats();
        float[] other = embed("\"Twice upon a time\"").data().getFirst().floats();

        assertThat(again).containsExactly(first);
        assertThat(maxDifference(first, other)).isGreaterThan(1e-3f);
    }

    @Test
    void inputsDecodedTogetherGetTheVectorsEachGetsAlone() throws Exception {
        List<String> texts = List.of(
                "The quick brown fox", "jumps over", "the lazy dog while the farmer sleeps", "Once upon a time");

        List<Embedding> together = embed(Json.write(texts)).data();

        for (int i = 0; i < texts.size(); i++) {
            float[] alone = embed(Json.write(texts.get(i))).data().getFirst().floats();
            assertThat(maxDifference(together.get(i).floats(), alone))
                    .as("input %d", i)
                    .isLessThanOrEqualTo(BATCH_TOLERANCE);
        }
    }

    @Test
    void base64CarriesTheSameFloatsAsLittleEndianFloat32() throws Exception {
        String input = Json.write(List.of("Hello world", "Goodbye"));
        EmbeddingList floats = embed(input);

        HttpResponse<String> response =
                served.loopback().post("/v1/embeddings", request(input, ",\"encoding_format\":\"base64\""));

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode data = Json.tree(response.body()).path("data");
        for (int i = 0; i < 2; i++) {
            String base64 = data.get(i).path("embedding").asText();
            byte[] bytes = java.util.Base64.getDecoder().decode(base64);
            assertThat(bytes).hasSize(DIMENSIONS * 4);
            var buffer = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            float[] decoded = new float[DIMENSIONS];
            buffer.asFloatBuffer().get(decoded);
            assertThat(decoded).containsExactly(floats.data().get(i).floats());
        }
        assertThat(embed(input, ",\"encoding_format\":\"float\"")
                        .data()
                        .getFirst()
                        .floats())
                .containsExactly(floats.data().getFirst().floats());
    }

    @Test
    void tokenIdsGiveTheVectorsOfTheTextsTheyTokenizeFrom() throws Exception {
        String a = "Hello world";
        String b = "A longer sentence, with punctuation.";
        EmbeddingList texts = embed(Json.write(List.of(a, b)));
        float[] textA = embed(Json.write(a)).data().getFirst().floats();

        EmbeddingList one = embed(ids(tokens(a)));
        EmbeddingList both = embed("[" + ids(tokens(a)) + "," + ids(tokens(b)) + "]");

        assertThat(one.data().getFirst().floats()).containsExactly(textA);
        assertThat(one.usage().promptTokens()).isEqualTo(tokens(a).length);
        for (int i = 0; i < 2; i++) {
            assertThat(both.data().get(i).floats())
                    .containsExactly(texts.data().get(i).floats());
        }
        assertThat(both.usage()).isEqualTo(texts.usage());
    }

    @Test
    void dimensionsAreRefusedUnlessTheyAreTheModelsOwn() throws Exception {
        assertThat(embed("\"Hello\"", ",\"dimensions\":" + DIMENSIONS)
                        .data()
                        .getFirst()
                        .floats())
                .hasSize(DIMENSIONS);

        assertError(
                served.loopback().post("/v1/embeddings", request("\"Hello\"", ",\"dimensions\":32")),
                400,
                "invalid_request_error",
                "dimensions",
                "invalid_value");
        assertError(
                served.loopback().post("/v1/embeddings", request("\"Hello\"", ",\"dimensions\":0")),
                400,
                "invalid_request_error",
                "dimensions",
                "integer_below_min_value");
    }

    @Test
    void anInputLongerThanTheContextIsRefusedNamingInput() throws Exception {
        String fits = "word ".repeat(10);
        String tooLong = "word ".repeat(CONTEXT * 2);

        var response = served.loopback().post("/v1/embeddings", request(Json.write(List.of(fits, tooLong)), ""));

        assertError(response, 400, "invalid_request_error", "input", "context_length_exceeded");
        assertThat(Json.tree(response.body()).path("error").path("message").asText())
                .contains("maximum context length is " + CONTEXT + " tokens")
                .contains("input[1]");
        int[] ids = new int[CONTEXT + 1];
        Arrays.fill(ids, tokens("word")[1]);
        assertError(
                served.loopback().post("/v1/embeddings", request(ids(ids), "")),
                400,
                "invalid_request_error",
                "input",
                "context_length_exceeded");
    }

    @Test
    void emptyInputsAreRefusedAsOpenAiRefusesThem() throws Exception {
        for (String input : List.of("\"\"", "[]", "[\"a\",\"\"]", "[[]]", "[[1,2],[]]")) {
            var response = served.loopback().post("/v1/embeddings", request(input, ""));
            assertError(response, 400, "invalid_request_error", null, null);
            assertThat(Json.tree(response.body()).path("error").path("message").asText())
                    .as(input)
                    .startsWith("'$.input' is invalid.");
        }
    }

    @Test
    void inputsOfTheWrongTypeAreRefusedNamingTheirParameter() throws Exception {
        for (String input : List.of("5", "{\"text\":\"a\"}", "[\"a\",1]", "[1,\"a\"]", "[[1],\"a\"]", "null", "true")) {
            var response = served.loopback().post("/v1/embeddings", request(input, ""));
            String code = input.equals("null") ? "missing_required_parameter" : "invalid_type";
            assertError(response, 400, "invalid_request_error", "input", code);
        }
        assertError(
                served.loopback().post("/v1/embeddings", "{\"model\":\"embed\"}"),
                400,
                "invalid_request_error",
                "input",
                "missing_required_parameter");
        assertError(
                served.loopback().post("/v1/embeddings", request("\"a\"", ",\"encoding_format\":\"hex\"")),
                400,
                "invalid_request_error",
                "encoding_format",
                "invalid_value");
        assertError(
                served.loopback().post("/v1/embeddings", request("[-1, 5]", "")),
                400,
                "invalid_request_error",
                "input[0]",
                "invalid_value");
        assertError(
                served.loopback().post("/v1/embeddings", request("[[5],[" + vocabulary.vocabSize() + "]]", "")),
                400,
                "invalid_request_error",
                "input[1]",
                "invalid_value");
        assertError(
                served.loopback().post("/v1/embeddings", request("\"a\"", ",\"stream\":true")),
                400,
                "invalid_request_error",
                "stream",
                "invalid_value");
        assertError(
                served.loopback().post("/v1/embeddings", request("[1e3]", "")),
                400,
                "invalid_request_error",
                "input",
                "invalid_type");
    }

    @Test
    void moreThan2048InputsAreRefused() throws Exception {
        String input = Json.write(IntStream.range(0, 2049).mapToObj(i -> "a").toList());

        assertError(
                served.loopback().post("/v1/embeddings", request(input, "")),
                400,
                "invalid_request_error",
                "input",
                "array_above_max_length");
    }

    @Test
    void manyInputsAreAllAnsweredInOrder() throws Exception {
        // More than one decode holds (32 inputs, 64 tokens): several decodes, each vector at its own index.
        List<String> texts =
                IntStream.range(0, 100).mapToObj(i -> "input number " + i).toList();

        EmbeddingList list = embed(Json.write(texts));

        assertThat(list.data()).hasSize(100);
        for (int i : new int[] {0, 31, 32, 99}) {
            assertThat(list.data().get(i).index()).isEqualTo(i);
            float[] alone = embed(Json.write(texts.get(i))).data().getFirst().floats();
            assertThat(maxDifference(list.data().get(i).floats(), alone)).isLessThanOrEqualTo(BATCH_TOLERANCE);
        }
    }

    @Test
    void concurrentRequestsEachGetTheirOwnVectors() throws Exception {
        // Inputs of different requests may share a decode: each vector must still reach its own request and index.
        List<List<String>> requests = IntStream.range(0, 8)
                .mapToObj(r -> IntStream.range(0, 3)
                        .mapToObj(i -> "request " + r + " input " + i + " " + "word ".repeat(r + i))
                        .toList())
                .toList();
        List<List<float[]>> alone = new ArrayList<>();
        for (List<String> texts : requests) {
            List<float[]> vectors = new ArrayList<>();
            for (String text : texts)
                vectors.add(embed(Json.write(text)).data().getFirst().floats());
            alone.add(vectors);
        }

        List<Future<EmbeddingList>> answers = new ArrayList<>();
        try (var workers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (List<String> texts : requests) answers.add(workers.submit(() -> embed(Json.write(texts))));
        }

        for (int r = 0; r < requests.size(); r++) {
            List<Embedding> data = answers.get(r).get().data();
            assertThat(data).hasSize(3);
            for (int i = 0; i < 3; i++) {
                assertThat(maxDifference(data.get(i).floats(), alone.get(r).get(i)))
                        .as("request %d, input %d", r, i)
                        .isLessThanOrEqualTo(BATCH_TOLERANCE);
            }
        }
    }

    @Test
    void chatAndCompletionsToAnEmbeddingModelAreRefusedNamingTheModel() throws Exception {
        var chat = served.loopback()
                .post(
                        "/v1/chat/completions",
                        "{\"model\":\"embed\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        assertError(chat, 400, "invalid_request_error", "model", "invalid_value");
        assertThat(Json.tree(chat.body()).path("error").path("message").asText())
                .startsWith("This is not a chat model");

        assertError(
                served.loopback().post("/v1/completions", "{\"model\":\"embed\",\"prompt\":\"Hi\"}"),
                400,
                "invalid_request_error",
                "model",
                "invalid_value");
        assertThat(Json.tree(served.loopback().get("/v1/models").body())
                        .path("data")
                        .get(0)
                        .path("id")
                        .asText())
                .isEqualTo("embed");
        assertThat(served.loopback().get("/health").statusCode()).isEqualTo(200);
    }

    @Test
    void anUnknownModelIs404() throws Exception {
        assertError(
                served.loopback().post("/v1/embeddings", "{\"model\":\"nope\",\"input\":\"a\"}"),
                404,
                "invalid_request_error",
                null,
                "model_not_found");
    }

    @Test
    void theOpenAiSdksEmbeddingsCallGetsTheSameVectors() throws Exception {
        float[] expected = embed("\"Hello world\"").data().getFirst().floats();

        OpenAIClient openai = served.sdk();
        try {
            CreateEmbeddingResponse response = openai.embeddings()
                    .create(EmbeddingCreateParams.builder()
                            .model("embed")
                            .input("Hello world")
                            .build());
            assertThat(response.data()).hasSize(1);
            List<Float> vector = response.data().getFirst().embedding();
            float[] floats = new float[vector.size()];
            for (int i = 0; i < floats.length; i++) floats[i] = vector.get(i);
            assertThat(floats).containsExactly(expected);
            assertThat(response.usage().promptTokens()).isEqualTo(tokens("Hello world").length);
            assertThat(response.model()).isEqualTo("embed");

            CreateEmbeddingResponse many = openai.embeddings()
                    .create(EmbeddingCreateParams.builder()
                            .model("embed")
                            .inputOfArrayOfStrings(List.of("a", "b", "c"))
                            .encodingFormat(EmbeddingCreateParams.EncodingFormat.BASE64)
                            .build());
            assertThat(many.data()).hasSize(3);
            assertThat(many.data().get(2).index()).isEqualTo(2);
        } finally {
            openai.close();
        }
    }

    /** The demo model (a generating one) with embeddings: a chat stream is untouched by embeddings beside it. */
    @Test
    void aGeneratingModelWithEmbeddingsStreamsTheSameChatWhileEmbedding() throws Exception {
        var server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(256)
                        .withEmbeddings(true)),
                "127.0.0.1",
                0);
        try (server;
                var loopback = Loopback.to(server);
                var workers = Executors.newVirtualThreadPerTaskExecutor()) {
            String chat = "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                    + "\"temperature\":0,\"max_tokens\":60,\"stream\":true}";
            String alone = Loopback.streamedText(
                    loopback.post("/v1/chat/completions", chat).body());

            Future<String> streamed = workers.submit(() -> Loopback.streamedText(
                    loopback.post("/v1/chat/completions", chat).body()));
            List<Future<HttpResponse<String>>> embeddings = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                String input = Json.write(List.of("Lily went to the park " + i, "and played with her ball", "Tim"));
                embeddings.add(workers.submit(
                        () -> loopback.post("/v1/embeddings", "{\"model\":\"demo\",\"input\":" + input + "}")));
            }

            assertThat(streamed.get()).isNotEmpty().isEqualTo(alone);
            for (var response : embeddings) {
                assertThat(response.get().statusCode())
                        .as(response.get().body())
                        .isEqualTo(200);
                EmbeddingList list = Json.read(response.get().body(), EmbeddingList.class);
                assertThat(list.data()).hasSize(3);
                assertThat(norm(list.data().getFirst().floats()))
                        .isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
            }
        }
    }

    /**
     * A BERT encoder: no KV cache in llama.cpp (decodes go through its encoder path), bidirectional attention,
     * pooled by its first token, and learned positions that end at its training length of 48, below the server's
     * context of 64.
     */
    @Test
    void aBertEncoderEmbedsAndRefusesInputsBeyondItsTrainingLength() throws Exception {
        Path bert = GgufWriter.bert()
                .vocabulary(Served.vocabulary("ggml-vocab-llama-spm.gguf"))
                .dim(DIMENSIONS)
                .layers(2)
                .heads(4)
                .ffnDim(128)
                .contextLength(48)
                .type(TensorType.Q8_0)
                .seed(12)
                .write(dir.resolve("bert.gguf"));
        try (Served encoder = Served.of(bert, "bert", CONTEXT)) {
            List<String> texts = List.of("The quick brown fox", "jumps over the lazy dog", "Once upon a time");
            var response = encoder.loopback()
                    .post("/v1/embeddings", "{\"model\":\"bert\",\"input\":" + Json.write(texts) + "}");
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            EmbeddingList together = Json.read(response.body(), EmbeddingList.class);

            assertThat(together.data()).hasSize(3);
            assertThat(together.usage().promptTokens())
                    .isEqualTo(texts.stream().mapToInt(t -> tokens(t).length).sum());
            for (int i = 0; i < texts.size(); i++) {
                float[] vector = together.data().get(i).floats();
                assertThat(vector).hasSize(DIMENSIONS);
                assertThat(norm(vector)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
                float[] alone = Json.read(
                                encoder.loopback()
                                        .post(
                                                "/v1/embeddings",
                                                "{\"model\":\"bert\",\"input\":" + Json.write(texts.get(i)) + "}")
                                        .body(),
                                EmbeddingList.class)
                        .data()
                        .getFirst()
                        .floats();
                assertThat(maxDifference(vector, alone)).isLessThanOrEqualTo(BATCH_TOLERANCE);
            }
            assertThat(maxDifference(
                            together.data().get(0).floats(),
                            together.data().get(1).floats()))
                    .isGreaterThan(1e-3f);

            int[] ids = new int[49];
            Arrays.fill(ids, tokens("word")[1]);
            var tooLong = encoder.loopback().post("/v1/embeddings", "{\"model\":\"bert\",\"input\":" + ids(ids) + "}");
            assertError(tooLong, 400, "invalid_request_error", "input", "context_length_exceeded");
            assertThat(Json.tree(tooLong.body()).path("error").path("message").asText())
                    .contains("maximum context length is 48 tokens");
            ids = Arrays.copyOf(ids, 48);
            assertThat(encoder.loopback()
                            .post("/v1/embeddings", "{\"model\":\"bert\",\"input\":" + ids(ids) + "}")
                            .statusCode())
                    .isEqualTo(200);
            assertError(
                    encoder.loopback()
                            .post(
                                    "/v1/chat/completions",
                                    "{\"model\":\"bert\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"),
                    400,
                    "invalid_request_error",
                    "model",
                    "invalid_value");
        }
    }

    /**
     * A Qwen 3 decoder pooled by its last token, as Qwen3-Embedding is: causal attention over a KV cache, Qwen 2's
     * byte-level BPE vocabulary (no BOS), so each input's vector is its final token's hidden state.
     */
    @Test
    void aDecoderPooledByItsLastTokenEmbedsLikeQwen3Embedding() throws Exception {
        Path qwen = GgufWriter.qwen3()
                .vocabulary(Served.vocabulary("ggml-vocab-qwen2.gguf"))
                .dim(DIMENSIONS)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .headDim(32)
                .contextLength(256)
                .tiedOutput(true)
                .type(TensorType.Q8_0)
                .poolingType(3)
                .seed(13)
                .write(dir.resolve("qwen3-embedding.gguf"));
        try (Served decoder = Served.of(qwen, "qwen3-embedding", CONTEXT)) {
            List<String> texts = List.of("Hello world", "Hello world and more", "日本語のテキスト");
            String body = "{\"model\":\"qwen3-embedding\",\"input\":" + Json.write(texts) + "}";
            var response = decoder.loopback().post("/v1/embeddings", body);
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            EmbeddingList together = Json.read(response.body(), EmbeddingList.class);

            try (LlamaModel tokenizer =
                    LlamaModel.open(qwen, ModelOptions.defaults().withVocabularyOnly(true))) {
                int[] hello = tokenizer.tokenize("Hello world", true, false);
                assertThat(hello).containsExactly(9707, 1879); // no BOS, no EOS: the last token is "␣world"
                assertThat(together.usage().promptTokens())
                        .isEqualTo(texts.stream()
                                .mapToInt(t -> tokenizer.tokenize(t, true, false).length)
                                .sum());
            }
            for (int i = 0; i < texts.size(); i++) {
                float[] vector = together.data().get(i).floats();
                assertThat(norm(vector)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
                String alone = "{\"model\":\"qwen3-embedding\",\"input\":" + Json.write(texts.get(i)) + "}";
                float[] single = Json.read(
                                decoder.loopback().post("/v1/embeddings", alone).body(), EmbeddingList.class)
                        .data()
                        .getFirst()
                        .floats();
                assertThat(maxDifference(vector, single)).isLessThanOrEqualTo(BATCH_TOLERANCE);
            }
            // The last token decides: "Hello world" and "Hello world and more" end differently.
            assertThat(maxDifference(
                            together.data().get(0).floats(),
                            together.data().get(1).floats()))
                    .isGreaterThan(1e-3f);
        }
    }

    @Test
    void aGeneratingModelWithoutEmbeddingsRefusesThem() throws Exception {
        try (Served demo = Served.demo(128)) {
            var refused = demo.loopback().post("/v1/embeddings", "{\"model\":\"demo\",\"input\":\"Hello\"}");
            assertError(refused, 400, "invalid_request_error", "model", "invalid_value");
            assertThat(Json.tree(refused.body()).at("/error/message").asText())
                    .isEqualTo("The model `demo` does not serve /v1/embeddings on this server: it was started"
                            + " without embeddings (--embeddings, or embeddings: true in the configuration file).");
        }
    }
}
