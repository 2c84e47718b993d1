package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponse;
import com.openai.errors.NotFoundException;
import com.openai.models.batches.Batch;
import com.openai.models.batches.BatchCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.auth.Tenant;
import dev.parley.server.batches.FileStore;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenAI's Files and Batch API on the server, through the official Java SDK's {@code files()} and {@code
 * batches()}, against the demo model: upload, run, results in the Batch API's line format, failures in the error
 * file, validation, cancelling, resuming after the server stops mid-batch with every line answered once, and
 * running within the owning key's limits, in the engine's idle capacity only.
 */
@Timeout(180)
class BatchApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path data;

    final List<ParleyServer> servers = new ArrayList<>();
    final List<OpenAIClient> clients = new ArrayList<>();

    @AfterEach
    void stop() {
        clients.forEach(OpenAIClient::close);
        servers.forEach(ParleyServer::close);
    }

    ParleyServer serve() {
        return serve(false);
    }

    ParleyServer serve(boolean embeddings) {
        return serve(embeddings, ServerOptions.defaults().withDataDir(data));
    }

    ParleyServer serve(boolean embeddings, ServerOptions options) {
        return serve(embeddings, options, ApiKeys.open());
    }

    ParleyServer serve(boolean embeddings, ServerOptions options, ApiKeys keys) {
        var server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(256)
                        .withEmbeddings(embeddings)),
                keys,
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                options);
        servers.add(server);
        return server;
    }

    OpenAIClient sdk(ParleyServer server) {
        return sdk(server, "not-needed");
    }

    OpenAIClient sdk(ParleyServer server, String key) {
        var client = OpenAIOkHttpClient.builder()
                .baseUrl(server.baseUrl("127.0.0.1"))
                .apiKey(key)
                .maxRetries(0)
                .build();
        clients.add(client);
        return client;
    }

    static String line(String customId, String model, int maxTokens) {
        return "{\"custom_id\":\"" + customId + "\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
                + "\"body\":{\"model\":\"" + model
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time "
                + customId + "\"}],\"max_tokens\":" + maxTokens + ",\"temperature\":0}}\n";
    }

    /** {@code count} request lines, custom ids {@code prefix0}, {@code prefix1}, … */
    static String lines(String prefix, int count, int maxTokens) {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < count; i++) lines.append(line(prefix + i, "demo", maxTokens));
        return lines.toString();
    }

    static FileObject upload(OpenAIClient openai, String content) {
        return openai.files()
                .create(FileCreateParams.builder()
                        .file(content.getBytes(StandardCharsets.UTF_8))
                        .purpose(FilePurpose.BATCH)
                        .build());
    }

    static Batch create(OpenAIClient openai, String fileId) {
        return create(openai, fileId, BatchCreateParams.Endpoint.V1_CHAT_COMPLETIONS);
    }

    static Batch create(OpenAIClient openai, String fileId, BatchCreateParams.Endpoint endpoint) {
        return openai.batches()
                .create(BatchCreateParams.builder()
                        .inputFileId(fileId)
                        .endpoint(endpoint)
                        .completionWindow(BatchCreateParams.CompletionWindow._24H)
                        .build());
    }

    static Batch await(OpenAIClient openai, String id, Predicate<Batch> done) throws InterruptedException {
        while (true) {
            Batch batch = openai.batches().retrieve(id);
            if (done.test(batch)) return batch;
            Thread.sleep(50);
        }
    }

    static boolean ended(Batch batch) {
        return List.of("completed", "failed", "cancelled", "expired")
                .contains(batch.status().asString());
    }

    static List<JsonNode> lines(OpenAIClient openai, String fileId) throws Exception {
        try (HttpResponse response = openai.files().content(fileId);
                InputStream body = response.body()) {
            List<JsonNode> lines = new ArrayList<>();
            for (String line : new String(body.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) lines.add(JSON.readTree(line));
            }
            return lines;
        }
    }

    @Test
    void aBatchRunsEveryLineAndWritesAnswersAndFailuresInTheBatchFormat() throws Exception {
        OpenAIClient openai = sdk(serve());
        String input = lines("line-", 5, 4) + line("no-such-model", "gpt-nothing", 4);
        FileObject file = upload(openai, input);
        assertThat(file.id()).startsWith("file-");
        assertThat(openai.files().retrieve(file.id()).bytes()).isEqualTo(input.length());

        Batch created = create(openai, file.id());
        assertThat(created.id()).startsWith("batch_");
        assertThat(created.status().asString()).isIn("validating", "in_progress");

        Batch done = await(openai, created.id(), BatchApiTest::ended);
        assertThat(done.status().asString()).isEqualTo("completed");
        var counts = done.requestCounts().orElseThrow();
        assertThat(counts.total()).isEqualTo(6);
        assertThat(counts.completed()).isEqualTo(5);
        assertThat(counts.failed()).isEqualTo(1);

        List<JsonNode> answers = lines(openai, done.outputFileId().orElseThrow());
        assertThat(answers)
                .extracting(a -> a.get("custom_id").asText())
                .containsExactlyInAnyOrder("line-0", "line-1", "line-2", "line-3", "line-4");
        for (JsonNode answer : answers) {
            assertThat(answer.get("id").asText()).startsWith("batch_req_");
            assertThat(answer.get("error").isNull()).isTrue();
            assertThat(answer.at("/response/status_code").asInt()).isEqualTo(200);
            assertThat(answer.at("/response/body/object").asText()).isEqualTo("chat.completion");
            assertThat(answer.at("/response/body/usage/completion_tokens").asInt())
                    .isBetween(1, 4);
        }
        List<JsonNode> failures = lines(openai, done.errorFileId().orElseThrow());
        assertThat(failures).singleElement().satisfies(failure -> {
            assertThat(failure.get("custom_id").asText()).isEqualTo("no-such-model");
            assertThat(failure.at("/response/status_code").asInt()).isEqualTo(404);
            assertThat(failure.at("/response/body/error/code").asText()).isEqualTo("model_not_found");
        });
        // The same lines answered as a live call would be: greedy, so the same text.
        var live = openai.chat()
                .completions()
                .create(com.openai.models.chat.completions.ChatCompletionCreateParams.builder()
                        .model("demo")
                        .addUserMessage("Once upon a time line-0")
                        .maxTokens(4)
                        .temperature(0.0)
                        .build());
        JsonNode first = answers.stream()
                .filter(a -> a.get("custom_id").asText().equals("line-0"))
                .findFirst()
                .orElseThrow();
        assertThat(first.at("/response/body/choices/0/message/content").asText())
                .isEqualTo(live.choices().getFirst().message().content().orElseThrow());
        assertThat(openai.batches().list().data()).extracting(Batch::id).contains(created.id());
    }

    @Test
    void aBatchOfEmbeddingsAnswersEachLineAsTheLiveRouteDoes() throws Exception {
        OpenAIClient openai = sdk(serve(true));
        StringBuilder input = new StringBuilder();
        for (String text : List.of("Once upon a time", "The little dog", "Lily and Ben")) {
            input.append("{\"custom_id\":\"%s\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":"
                            .formatted(text))
                    .append("{\"model\":\"demo\",\"input\":\"%s\"}}\n".formatted(text));
        }
        Batch done = await(
                openai,
                create(openai, upload(openai, input.toString()).id(), BatchCreateParams.Endpoint.V1_EMBEDDINGS)
                        .id(),
                BatchApiTest::ended);
        assertThat(done.status().asString()).isEqualTo("completed");
        assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(3);
        List<JsonNode> answers = lines(openai, done.outputFileId().orElseThrow());
        assertThat(answers).hasSize(3);
        for (JsonNode answer : answers) {
            assertThat(answer.at("/response/status_code").asInt()).isEqualTo(200);
            assertThat(answer.at("/response/body/object").asText()).isEqualTo("list");
            var live = openai.embeddings()
                    .create(com.openai.models.embeddings.EmbeddingCreateParams.builder()
                            .model("demo")
                            .input(answer.get("custom_id").asText())
                            .encodingFormat(com.openai.models.embeddings.EmbeddingCreateParams.EncodingFormat.FLOAT)
                            .build());
            List<Float> expected = live.data().getFirst().embedding();
            JsonNode vector = answer.at("/response/body/data/0/embedding");
            assertThat(vector.size()).isEqualTo(expected.size()).isPositive();
            for (int i = 0; i < expected.size(); i++)
                assertThat(vector.get(i).floatValue())
                        .isCloseTo(expected.get(i), org.assertj.core.data.Offset.offset(1e-5f));
            assertThat(answer.at("/response/body/usage/prompt_tokens").asInt())
                    .isEqualTo(live.usage().promptTokens());
        }
    }

    @Test
    void aBatchOfResponsesAnswersEachLineAsTheLiveRouteDoes() throws Exception {
        OpenAIClient openai = sdk(serve());
        StringBuilder input = new StringBuilder();
        List<String> texts = List.of("Once upon a time", "The little dog", "Lily and Ben");
        for (String text : texts) {
            input.append("{\"custom_id\":\"%s\",\"method\":\"POST\",\"url\":\"/v1/responses\",\"body\":"
                            .formatted(text))
                    .append("{\"model\":\"demo\",\"input\":\"%s\",\"max_output_tokens\":6,\"temperature\":0}}\n"
                            .formatted(text));
        }
        input.append("{\"custom_id\":\"stored\",\"method\":\"POST\",\"url\":\"/v1/responses\",\"body\":"
                + "{\"model\":\"demo\",\"input\":\"Hi\",\"previous_response_id\":\"resp_1\"}}\n");
        Batch done = await(
                openai,
                create(openai, upload(openai, input.toString()).id(), BatchCreateParams.Endpoint.V1_RESPONSES)
                        .id(),
                BatchApiTest::ended);
        assertThat(done.status().asString()).isEqualTo("completed");
        assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(3);
        assertThat(done.requestCounts().orElseThrow().failed()).isEqualTo(1);
        List<JsonNode> answers = lines(openai, done.outputFileId().orElseThrow());
        assertThat(answers).hasSize(3);
        for (JsonNode answer : answers) {
            assertThat(answer.at("/response/status_code").asInt()).isEqualTo(200);
            JsonNode body = answer.at("/response/body");
            assertThat(body.path("object").asText()).isEqualTo("response");
            var live = openai.responses()
                    .create(com.openai.models.responses.ResponseCreateParams.builder()
                            .model("demo")
                            .input(answer.get("custom_id").asText())
                            .maxOutputTokens(6)
                            .temperature(0.0)
                            .build());
            assertThat(body.at("/output/0/content/0/text").asText())
                    .isEqualTo(live.output()
                            .getFirst()
                            .asMessage()
                            .content()
                            .getFirst()
                            .asOutputText()
                            .text());
            assertThat(body.at("/usage/input_tokens").asLong())
                    .isEqualTo(live.usage().orElseThrow().inputTokens());
        }
        List<JsonNode> errors = lines(openai, done.errorFileId().orElseThrow());
        assertThat(errors).hasSize(1);
        assertThat(errors.getFirst().get("custom_id").asText()).isEqualTo("stored");
        assertThat(errors.getFirst().at("/response/status_code").asInt()).isEqualTo(400);
        assertThat(errors.getFirst().at("/response/body/error/param").asText()).isEqualTo("previous_response_id");
    }

    @Test
    void aFileWithBadLinesFailsTheBatchNamingEachLine() throws Exception {
        OpenAIClient openai = sdk(serve());
        String input = line("a", "demo", 2) + "{not json\n" + line("a", "demo", 2)
                + "{\"custom_id\":\"b\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{}}\n";

        Batch done = await(openai, create(openai, upload(openai, input).id()).id(), BatchApiTest::ended);

        assertThat(done.status().asString()).isEqualTo("failed");
        assertThat(done.errors().orElseThrow().data().orElseThrow())
                .extracting(e -> e.line().orElseThrow())
                .containsExactly(2L, 3L, 4L);
    }

    @Test
    void oneKeysLongBatchDoesNotHoldBackAnotherKeysShortOne(@TempDir Path keysDir) throws Exception {
        Path keysFile = keysDir.resolve("keys.json");
        for (String name : List.of("long", "short"))
            KeysFile.add(
                    keysFile,
                    new KeyEntry(name, KeysFile.sha256("sk-" + name), 1 << 20, 1 << 30, null, null, List.of()));
        ParleyServer server = serve(false, ServerOptions.defaults().withDataDir(data), ApiKeys.load(keysFile));
        OpenAIClient longKey = sdk(server, "sk-long");
        OpenAIClient shortKey = sdk(server, "sk-short");
        String many = lines("l", 200, 16);
        String few = line("s0", "demo", 16) + line("s1", "demo", 16) + line("s2", "demo", 16);

        Batch first = create(longKey, upload(longKey, many).id());
        Batch second = create(shortKey, upload(shortKey, few).id());
        Batch shortDone = await(shortKey, second.id(), BatchApiTest::ended);
        Batch longThen = longKey.batches().retrieve(first.id());

        assertThat(shortDone.status().asString()).isEqualTo("completed");
        assertThat(shortDone.requestCounts().orElseThrow().completed()).isEqualTo(3);
        assertThat(longThen.status().asString()).isEqualTo("in_progress");
        assertThat(longThen.requestCounts().orElseThrow().completed()).isLessThan(200);
        longKey.batches().cancel(first.id());
        assertThat(await(longKey, first.id(), BatchApiTest::ended).status().asString())
                .isEqualTo("cancelled");
    }

    @Test
    void aFileOfManyBadLinesListsTheFirstHundredAndCountsTheRest() throws Exception {
        OpenAIClient openai = sdk(serve());
        String input = line("ok", "demo", 2) + "{not json\n".repeat(250);

        Batch done = await(openai, create(openai, upload(openai, input).id()).id(), BatchApiTest::ended);

        assertThat(done.status().asString()).isEqualTo("failed");
        var errors = done.errors().orElseThrow().data().orElseThrow();
        assertThat(errors).hasSize(101);
        assertThat(errors.subList(0, 100))
                .extracting(e -> e.line().orElseThrow())
                .containsExactlyElementsOf(
                        LongStream.rangeClosed(2, 101).boxed().toList());
        assertThat(errors.get(100).line()).isEmpty();
        assertThat(errors.get(100).message()).hasValue("150 more lines have problems; the first 100 are listed.");
    }

    @Test
    void anUploadOverTheLimitIsRefusedAndNothingOfItIsKept() throws Exception {
        ParleyServer server =
                serve(false, ServerOptions.defaults().withDataDir(data).withMaxFileBytes(1000));
        OpenAIClient openai = sdk(server);
        String exactly = line("x", "demo", 1);
        exactly = exactly + " ".repeat(1000 - exactly.length() - 1) + "\n";
        FileObject kept = upload(openai, exactly);
        assertThat(kept.bytes()).isEqualTo(1000);

        String boundary = "parley-test-boundary";
        String parts = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jsonl\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n" + exactly;

        var tooLarge = postMultipart(server, boundary, parts + "x\r\n--" + boundary + "--\r\n");
        var cutShort = postMultipart(server, boundary, parts); // no closing boundary

        assertThat(tooLarge.statusCode()).isEqualTo(413);
        JsonNode error = JSON.readTree(tooLarge.body()).get("error");
        assertThat(error.get("message").asText())
                .isEqualTo("The file is larger than 1000 bytes, the most an upload may be.");
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("param").asText()).isEqualTo("file");
        assertThat(cutShort.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(cutShort.body()).at("/error/message").asText())
                .isEqualTo("We could not read the upload as multipart/form-data.");
        assertThat(openai.files().list().data()).extracting(FileObject::id).containsExactly(kept.id());
        try (var stored = Files.list(data.resolve("files"))) {
            assertThat(stored.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder(kept.id() + ".json", kept.id() + ".jsonl");
        }
    }

    static java.net.http.HttpResponse<String> postMultipart(ParleyServer server, String boundary, String body)
            throws Exception {
        return post(server, "/files", "multipart/form-data; boundary=" + boundary, body);
    }

    static java.net.http.HttpResponse<String> post(ParleyServer server, String path, String type, String body)
            throws Exception {
        try (var http = java.net.http.HttpClient.newHttpClient()) {
            return http.send(
                    java.net.http.HttpRequest.newBuilder(URI.create(server.baseUrl("127.0.0.1") + path))
                            .header("Content-Type", type)
                            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body))
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
        }
    }

    static JsonNode get(ParleyServer server, String path) throws Exception {
        try (var http = java.net.http.HttpClient.newHttpClient()) {
            return JSON.readTree(http.send(
                            java.net.http.HttpRequest.newBuilder(URI.create(server.baseUrl("127.0.0.1") + path))
                                    .build(),
                            java.net.http.HttpResponse.BodyHandlers.ofString())
                    .body());
        }
    }

    static List<String> ids(JsonNode list) {
        List<String> ids = new ArrayList<>();
        list.get("data").forEach(f -> ids.add(f.get("id").asText()));
        return ids;
    }

    @Test
    void filesArePagedAsAtOpenAi() throws Exception {
        ParleyServer server = serve();
        OpenAIClient openai = sdk(server);
        for (int i = 0; i < 3; i++) upload(openai, line("p" + i, "demo", 1));
        List<String> all = ids(get(server, "/files"));
        assertThat(all).hasSize(3);

        JsonNode first = get(server, "/files?limit=2");
        JsonNode rest =
                get(server, "/files?limit=2&after=" + first.get("last_id").asText());
        JsonNode oldestFirst = get(server, "/files?order=asc");

        assertThat(ids(first)).isEqualTo(all.subList(0, 2));
        assertThat(first.get("has_more").asBoolean()).isTrue();
        assertThat(ids(rest)).isEqualTo(all.subList(2, 3));
        assertThat(rest.get("has_more").asBoolean()).isFalse();
        assertThat(ids(oldestFirst)).isEqualTo(all.reversed());
        List<String> paged = new ArrayList<>();
        openai.files()
                .list(com.openai.models.files.FileListParams.builder().limit(1).build())
                .autoPager()
                .forEach(f -> paged.add(f.id()));
        assertThat(paged).isEqualTo(all);
        assertThat(get(server, "/files?order=sideways").at("/error/param").asText())
                .isEqualTo("order");
        assertThat(get(server, "/files?limit=0").at("/error/param").asText()).isEqualTo("limit");
        assertThat(get(server, "/files?after=file-gone").at("/error/message").asText())
                .isEqualTo("No such File object: file-gone");
    }

    @Test
    void aBatchsMetadataFollowsOpenAisRules() throws Exception {
        ParleyServer server = serve();
        String file = upload(sdk(server), line("m", "demo", 1)).id();
        String base = "{\"input_file_id\":\"" + file
                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\",\"metadata\":";
        StringBuilder seventeen = new StringBuilder("{");
        for (int i = 0; i < 17; i++)
            seventeen.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
        seventeen.append('}');

        var kept = post(server, "/batches", "application/json", base + "{\"team\":\"search\"}}");
        var number = post(server, "/batches", "application/json", base + "{\"team\":\"search\",\"n\":5}}");
        var tooMany = post(server, "/batches", "application/json", base + seventeen + "}");
        var tooLong = post(server, "/batches", "application/json", base + "{\"v\":\"" + "x".repeat(513) + "\"}}");
        var notAnObject = post(server, "/batches", "application/json", base + "[\"team\"]}");

        assertThat(kept.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(kept.body()).at("/metadata/team").asText()).isEqualTo("search");
        JsonNode numberError = JSON.readTree(number.body()).get("error");
        assertThat(numberError.get("param").asText()).isEqualTo("metadata.n");
        assertThat(numberError.get("message").asText())
                .isEqualTo("Invalid type for 'metadata.n': expected a string, but got an integer instead.");
        assertThat(JSON.readTree(tooMany.body()).at("/error/message").asText())
                .isEqualTo("Invalid 'metadata': too many properties. Expected an object with at most 16 properties,"
                        + " but got an object with 17 properties instead.");
        assertThat(JSON.readTree(tooLong.body()).at("/error/param").asText()).isEqualTo("metadata.v");
        assertThat(JSON.readTree(notAnObject.body()).at("/error/message").asText())
                .isEqualTo("Invalid type for 'metadata': expected an object, but got an array instead.");
        assertThat(List.of(number, tooMany, tooLong, notAnObject))
                .allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(400));
    }

    @Test
    void aBatchWhoseInputFileIsDeletedBeforeItResumesFailsAndKeepsWhatItAnswered() throws Exception {
        ParleyServer first = serve();
        OpenAIClient openai = sdk(first);
        String input = lines("d", 200, 16);
        FileObject file = upload(openai, input);
        Batch created = create(openai, file.id());
        await(openai, created.id(), b -> b.requestCounts().orElseThrow().completed() >= 3);
        first.close();
        assertThat(new FileStore(data).delete(Tenant.OPEN.name(), file.id())).isTrue();

        OpenAIClient again = sdk(serve());
        Batch done = await(again, created.id(), BatchApiTest::ended);

        assertThat(done.status().asString()).isEqualTo("failed");
        assertThat(done.failedAt()).isPresent();
        assertThat(done.errors().orElseThrow().data().orElseThrow())
                .singleElement()
                .satisfies(e -> {
                    assertThat(e.code()).hasValue("invalid_file");
                    assertThat(e.message()).hasValue("The input file no longer exists.");
                });
        long completed = done.requestCounts().orElseThrow().completed();
        assertThat(completed).isBetween(3L, 199L);
        assertThat(lines(again, done.outputFileId().orElseThrow())).hasSize((int) completed);
    }

    @Test
    void filesCanBeListedReadAndDeleted() throws Exception {
        OpenAIClient openai = sdk(serve());
        FileObject file = upload(openai, line("x", "demo", 1));

        assertThat(openai.files().list().data()).extracting(FileObject::id).contains(file.id());
        assertThat(lines(openai, file.id()))
                .singleElement()
                .satisfies(l -> assertThat(l.get("custom_id").asText()).isEqualTo("x"));
        assertThat(openai.files().delete(file.id()).deleted()).isTrue();
        assertThatThrownBy(() -> openai.files().retrieve(file.id())).isInstanceOf(NotFoundException.class);
    }

    @Test
    void aCancelledBatchStopsWithWhatItAnswered() throws Exception {
        OpenAIClient openai = sdk(serve());
        String input = lines("c", 40, 24);
        Batch created = create(openai, upload(openai, input).id());
        await(openai, created.id(), b -> b.requestCounts().orElseThrow().completed() >= 1);

        Batch cancelling = openai.batches().cancel(created.id());

        assertThat(cancelling.status().asString()).isIn("cancelling", "cancelled");
        Batch done = await(openai, created.id(), BatchApiTest::ended);
        assertThat(done.status().asString()).isEqualTo("cancelled");
        long completed = done.requestCounts().orElseThrow().completed();
        assertThat(completed).isBetween(1L, 39L);
        assertThat(lines(openai, done.outputFileId().orElseThrow())).hasSize((int) completed);
    }

    @Test
    void aBatchStoppedMidwayResumesAndAnswersEveryLineOnce() throws Exception {
        ParleyServer first = serve();
        OpenAIClient openai = sdk(first);
        String input = lines("r", 12, 16);
        Batch created = create(openai, upload(openai, input).id());
        await(openai, created.id(), b -> b.requestCounts().orElseThrow().completed() >= 3);
        first.close(); // the line running now is cut off; its answer is never written
        Path results = data.resolve("batches").resolve(created.id() + ".output.jsonl");
        // As if the server had died while writing an answer: half a line at the end.
        Files.writeString(
                results, "{\"id\":\"batch_req_cut\",\"custom_id\":\"r", java.nio.file.StandardOpenOption.APPEND);

        OpenAIClient again = sdk(serve());
        Batch done = await(again, created.id(), BatchApiTest::ended);

        assertThat(done.status().asString()).isEqualTo("completed");
        assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(12);
        Map<String, Integer> seen = new HashMap<>();
        for (JsonNode answer : lines(again, done.outputFileId().orElseThrow()))
            seen.merge(answer.get("custom_id").asText(), 1, Integer::sum);
        assertThat(seen)
                .hasSize(12)
                .allSatisfy((id, times) -> assertThat(times).as(id).isEqualTo(1));
    }

    @Test
    void aBatchRunsWithinItsKeysLimitsWaitingWhileTheKeysMinuteIsSpent() throws Exception {
        // The key's limiter runs on a clock the test moves: while it stands still, a spent minute stays spent.
        var now = new java.util.concurrent.atomic.AtomicReference<>(java.time.Instant.parse("2026-01-01T00:00:00Z"));
        Path keys = data.resolve("keys.json");
        dev.parley.server.auth.KeysFile.add(
                keys,
                new dev.parley.server.auth.KeyEntry(
                        "batcher",
                        dev.parley.server.auth.KeysFile.sha256("sk-batcher"),
                        60,
                        100_000,
                        null,
                        null,
                        List.of()));
        var server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(256)),
                ApiKeys.load(keys),
                new RateLimits(Limiter.inMemory(now::get), false),
                "127.0.0.1",
                0,
                ServerOptions.defaults().withDataDir(data));
        servers.add(server);
        var openai = OpenAIOkHttpClient.builder()
                .baseUrl(server.baseUrl("127.0.0.1"))
                .apiKey("sk-batcher")
                .maxRetries(0)
                .build();
        clients.add(openai);
        var live = com.openai.models.chat.completions.ChatCompletionCreateParams.builder()
                .model("demo")
                .addUserMessage("Once upon a time")
                .maxCompletionTokens(1)
                .build();
        for (int i = 0; i < 60; i++) openai.chat().completions().create(live); // the key's minute, spent live

        Batch created = create(
                openai,
                upload(openai, line("a", "demo", 2) + line("b", "demo", 2)).id());
        Thread.sleep(1500); // long enough for a line to run, were the key's budget not spent
        assertThat(openai.batches()
                        .retrieve(created.id())
                        .requestCounts()
                        .orElseThrow()
                        .completed())
                .isZero();

        now.updateAndGet(t -> t.plusSeconds(2)); // two seconds later the key has 2 requests again
        Batch done = await(openai, created.id(), BatchApiTest::ended);
        assertThat(done.status().asString()).isEqualTo("completed");
        assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(2);
        // The batch spent them: a live call now meets the key's limit.
        assertThatThrownBy(() -> openai.chat().completions().create(live))
                .isInstanceOf(com.openai.errors.RateLimitException.class);
    }
    /** The real engine, but reporting its one slot busy with a live request while {@link #busy} is set. */
    static final class Busy implements dev.parley.server.engine.Engine {
        final dev.parley.server.engine.Engine engine;
        volatile boolean busy;

        Busy(dev.parley.server.engine.Engine engine) {
            this.engine = engine;
        }

        @Override
        public List<dev.parley.server.engine.ModelCard> models() {
            return engine.models();
        }

        @Override
        public dev.parley.server.engine.Prepared chat(dev.parley.api.ChatCompletionRequest request) {
            return engine.chat(request);
        }

        @Override
        public dev.parley.server.engine.Prepared complete(dev.parley.api.CompletionRequest request) {
            return engine.complete(request);
        }

        @Override
        public dev.parley.server.engine.Health health() {
            var health = engine.health();
            return busy
                    ? new dev.parley.server.engine.Health(
                            true, new dev.parley.server.engine.Health.Slots(1, 1), health.queue())
                    : health;
        }

        @Override
        public void close() {
            engine.close();
        }
    }

    @Test
    void aBatchRunsNoLineWhileLiveRequestsHoldTheEngineAndGoesOnOnceItIsIdle() throws Exception {
        var engine = new Busy(LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(1)
                .withContextPerSequence(256)));
        var server = ParleyServer.start(
                engine,
                ApiKeys.open(),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                ServerOptions.defaults().withDataDir(data));
        servers.add(server);
        OpenAIClient openai = sdk(server);
        engine.busy = true;

        Batch created = create(
                openai,
                upload(openai, line("a", "demo", 2) + line("b", "demo", 2)).id());
        Thread.sleep(1000); // long enough for a line to run, were the engine idle
        assertThat(openai.batches()
                        .retrieve(created.id())
                        .requestCounts()
                        .orElseThrow()
                        .completed())
                .isZero();
        // A live caller is served meanwhile: the batch only fills idle capacity.
        var live = openai.chat()
                .completions()
                .create(com.openai.models.chat.completions.ChatCompletionCreateParams.builder()
                        .model("demo")
                        .addUserMessage("Once upon a time")
                        .maxCompletionTokens(2)
                        .build());
        assertThat(live.choices()).hasSize(1);
        assertThat(openai.batches()
                        .retrieve(created.id())
                        .requestCounts()
                        .orElseThrow()
                        .completed())
                .isZero();

        engine.busy = false;
        Batch done = await(openai, created.id(), BatchApiTest::ended);
        assertThat(done.status().asString()).isEqualTo("completed");
        assertThat(done.requestCounts().orElseThrow().completed()).isEqualTo(2);
    }
    /** A clock that stands still until the test moves it. */
    static final class Stepped extends Clock {
        final java.util.concurrent.atomic.AtomicReference<java.time.Instant> now =
                new java.util.concurrent.atomic.AtomicReference<>(java.time.Instant.parse("2026-01-01T00:00:00Z"));

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public java.time.Instant instant() {
            return now.get();
        }
    }

    @Test
    void linesNotRunWithinTheCompletionWindowExpireAndSoDoesTheBatch() throws Exception {
        var clock = new Stepped();
        var engine = new Busy(LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(1)
                .withContextPerSequence(256)));
        var server = ParleyServer.start(
                engine,
                ApiKeys.open(),
                new RateLimits(Limiter.inMemory(clock), false),
                "127.0.0.1",
                0,
                ServerOptions.defaults().withDataDir(data),
                clock);
        servers.add(server);
        OpenAIClient openai = sdk(server);
        engine.busy = true; // live requests hold the engine: no line runs

        Batch created = create(
                openai,
                upload(openai, line("a", "demo", 2) + line("b", "demo", 2)).id());
        assertThat(created.expiresAt().orElseThrow()).isEqualTo(clock.instant().getEpochSecond() + 24 * 3600);
        clock.now.updateAndGet(t -> t.plus(java.time.Duration.ofHours(25))); // the 24 h window is over
        engine.busy = false;

        Batch done = await(openai, created.id(), BatchApiTest::ended);
        assertThat(done.status().asString()).isEqualTo("expired");
        assertThat(done.expiredAt()).isPresent();
        // Line a may have been waiting for the engine already when the window closed (then it runs); line b,
        // whose turn comes after, expires.
        var counts = done.requestCounts().orElseThrow();
        assertThat(counts.completed() + counts.failed()).isEqualTo(2);
        List<JsonNode> failures = lines(openai, done.errorFileId().orElseThrow());
        assertThat(failures)
                .hasSize((int) counts.failed())
                .allSatisfy(line -> assertThat(line.at("/error/code").asText()).isEqualTo("batch_expired"));
        assertThat(failures).extracting(line -> line.get("custom_id").asText()).contains("b");
    }
}
