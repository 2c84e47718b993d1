package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.server.demo.DemoModel;
import dev.parley.testkit.TestCertificate;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code parley serve} as a user runs it: its own JVM, flags on the command line, real HTTP. */
@Timeout(120)
class ServeCommandTest {
    private static final Pattern START_LINE =
            Pattern.compile("Serving (.+) at (https?://127\\.0\\.0\\.1:\\d+/v1) \\((.+)\\)");

    @TempDir
    Path dir;

    final List<Process> servers = new ArrayList<>();
    /** What the last server started by {@link #serve} printed up to its start line. */
    List<String> printed = List.of();
    /** What the last server started by {@link #serve} printed after its start line. */
    final BlockingQueue<String> later = new LinkedBlockingQueue<>();

    final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stopServers() throws InterruptedException {
        for (Process server : servers) {
            server.destroy(); // SIGTERM: the shutdown hook closes the server
            assertThat(server.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        http.close();
    }

    /** Starts {@code parley serve ARGS --port 0} and returns its start line's parts: models, base URL, access. */
    Matcher serve(String... args) throws Exception {
        return serve(Map.of(), args);
    }

    Matcher serve(Map<String, String> environment, String... args) throws Exception {
        // One llama.cpp thread: its workers spin at barriers, and a test machine is busy with the tests too.
        var command = parley("serve", "--port", "0", "--threads", "1");
        command.addAll(List.of(args));
        return start(environment, command);
    }

    /** Starts {@code command} and returns its start line's parts once it has printed it. */
    Matcher start(Map<String, String> environment, List<String> command) throws Exception {
        var builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(environment);
        Process server = builder.start();
        servers.add(server);
        var lines = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        for (String line; (line = lines.readLine()) != null; ) {
            seen.add(line);
            Matcher matcher = START_LINE.matcher(line);
            if (matcher.matches()) {
                printed = List.copyOf(seen);
                later.clear();
                Thread.ofVirtual()
                        .start(
                                () -> { // keep its pipe drained
                                    try {
                                        for (String next; (next = lines.readLine()) != null; ) later.add(next);
                                    } catch (IOException e) {
                                        // the server has gone
                                    }
                                });
                return matcher;
            }
        }
        throw new AssertionError("parley serve ended without starting: " + seen);
    }

    HttpResponse<String> chat(String baseUrl, String key, String model) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(baseUrl + "/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\","
                                + "\"content\":\"Once upon a time\"}],\"max_tokens\":8,\"temperature\":0}"));
        if (key != null) request.header("Authorization", "Bearer " + key);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesTheBundledDemoModelOnLoopbackAndSaysSo() throws Exception {
        Matcher started = serve();
        assertThat(started.group(1)).isEqualTo("stories260K");
        assertThat(started.group(3)).isEqualTo("no API keys: loopback use only");
        var response = chat(started.group(2), null, "stories260K");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(Json.tree(response.body())
                        .path("usage")
                        .path("completion_tokens")
                        .asInt())
                .isEqualTo(8);
    }

    @Test
    void withCacheRamMoreConversationsThanSlotsEachFindTheirFirstTurnCached() throws Exception {
        String base = serve("--parallel", "2", "--cache-ram", "16").group(2);
        List<String> questions = List.of(
                "Lily and her dog went to the park to play with a big red ball",
                "Tom had a little boat that he liked to sail on the pond every day",
                "Sue found a shiny key under the old tree behind her house");
        List<JsonNode> firsts = new ArrayList<>();
        for (String question : questions) firsts.add(turn(base, question)); // three conversations, two slots
        for (int k = 0; k < questions.size(); k++) {
            String answer = firsts.get(k)
                    .path("choices")
                    .path(0)
                    .path("message")
                    .path("content")
                    .asText();
            JsonNode next = turn(base, questions.get(k), answer, "What did they do then?");
            assertThat(next.path("usage")
                            .path("prompt_tokens_details")
                            .path("cached_tokens")
                            .asInt())
                    .as("conversation %d: %s", k, next.path("usage"))
                    .isGreaterThanOrEqualTo(
                            firsts.get(k).path("usage").path("prompt_tokens").asInt());
        }
    }

    @Test
    void withSwaFullANewConversationCopiesALongSharedStartFromASlotThatWentOnFarBeyondIt() throws Exception {
        // A Gemma 3 of random weights whose every other layer attends over the last 16 tokens.
        Path gemma = dev.parley.testkit.GgufWriter.gemma3()
                .layers(6)
                .slidingWindow(16)
                .tiedOutput(true)
                .contextLength(2048)
                .seed(23)
                .write(dir.resolve("gemma3.gguf"));
        String system = ids(12, 40);
        for (boolean full : new boolean[] {false, true}) {
            List<String> args = new ArrayList<>(List.of(
                    "--model", gemma.toString(), "--model-id", "gemma3", "--parallel", "2", "--context", "1024"));
            if (full) args.add("--swa-full");
            String base = serve(args.toArray(String[]::new)).group(2);
            nextLine("Calibrated decode costs"); // calibrating clears the slots: after it, what they hold is certain
            // The first conversation answers at length in slot 0; the second shares its 40-token start and copies
            // it to slot 1, which the window layers still hold only when they keep every cell.
            complete(base, system + "," + ids(13, 10), 800);
            JsonNode second = complete(base, system + "," + ids(14, 10), 6);
            assertThat(second.path("usage")
                            .path("prompt_tokens_details")
                            .path("cached_tokens")
                            .asInt())
                    .as("--swa-full %s: %s", full, second.path("usage"))
                    .isEqualTo(full ? 40 : 0);
        }
    }

    /** {@code count} ordinary token ids from {@code from} on, as a JSON list's items. */
    private static String ids(int from, int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) ids.add(String.valueOf(10 + (from * 37 + i * 7) % 250));
        return String.join(",", ids);
    }

    /** A greedy legacy completion of a prompt of token ids, end-of-text ruled out. */
    private JsonNode complete(String baseUrl, String ids, int maxTokens) throws Exception {
        var response = http.send(
                HttpRequest.newBuilder(URI.create(baseUrl + "/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gemma3\",\"prompt\":[" + ids
                                + "],\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"logit_bias\":{\"2\":-100}}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.tree(response.body());
    }

    /** A chat of these turns (user, assistant, user, …) for 8 greedy tokens. */
    private JsonNode turn(String baseUrl, String... contents) throws Exception {
        List<String> messages = new ArrayList<>();
        for (int i = 0; i < contents.length; i++)
            messages.add("{\"role\":\"%s\",\"content\":%s}"
                    .formatted(i % 2 == 0 ? "user" : "assistant", Json.write(contents[i])));
        var response = http.send(
                HttpRequest.newBuilder(URI.create(baseUrl + "/chat/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"stories260K\",\"messages\":["
                                + String.join(",", messages) + "],\"max_tokens\":8,\"temperature\":0}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.tree(response.body());
    }

    @Test
    void withEmbeddingsTheDemoModelAnswersEmbeddingsBesideItsChats() throws Exception {
        Matcher started = serve("--embeddings");
        var response = http.send(
                HttpRequest.newBuilder(URI.create(started.group(2) + "/embeddings"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"stories260K\",\"input\":[\"Once upon a time\",\"Lily\"]}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        JsonNode body = Json.tree(response.body());
        assertThat(body.path("data")).hasSize(2);
        assertThat(body.path("data").get(1).path("embedding")).hasSize(64);
        assertThat(chat(started.group(2), null, "stories260K").statusCode()).isEqualTo(200);
    }

    @Test
    void saysWhichLlamaCppItLoadedFromWhereAndOnWhichDevices() throws Exception {
        serve();
        assertThat(printed)
                .anySatisfy(line -> assertThat(line)
                        .matches(
                                "llama\\.cpp 0\\.5\\.\\S* from npm package @node-llama-cpp/linux-x64@3\\.22\\.1 \\(.+\\); devices: CPU \\(.+\\);"
                                        + " backends: libggml-cpu-[a-z0-9]+\\.so"));
    }

    @Test
    void remembersTheCpuVariantGgmlChoseAndThenChecksAndLoadsThatOneAlone() throws Exception {
        serve(); // the prebuilt libraries are in the cache now: copy them into a cache of this test's own
        Path cached = libraryFolder(printed);
        Path cache = dir.resolve("cache");
        Path copy = Files.createDirectories(cache.resolve("llama.cpp").resolve(cached.getFileName()));
        try (var files = Files.list(cached)) {
            for (Path file : files.filter(f -> !f.getFileName().toString().startsWith("."))
                    .toList()) {
                Files.copy(file, copy.resolve(file.getFileName()));
            }
        }
        var environment = Map.of("PARLEY_CACHE_DIR", cache.toString());

        serve(environment); // ggml opens every CPU variant and chooses one
        String chosen = backends(printed);
        assertThat(chosen).matches("libggml-cpu-[a-z0-9]+\\.so");
        List<Path> memos;
        try (var files = Files.list(copy)) {
            memos = files.filter(f -> f.getFileName().toString().startsWith(".cpu-backend-"))
                    .toList();
        }
        assertThat(memos).hasSize(1);
        assertThat(Files.readString(memos.getFirst()).strip()).isEqualTo(chosen);

        // The next start neither checks nor opens the other variants: spoiled, they would be fetched again.
        try (var files = Files.list(copy)) {
            for (Path file : files.filter(f -> f.getFileName().toString().startsWith("libggml-cpu-"))
                    .filter(f -> !f.getFileName().toString().equals(chosen))
                    .toList()) {
                Files.write(file, new byte[] {0}, StandardOpenOption.APPEND);
            }
        }
        Matcher started = serve(environment);
        assertThat(printed).noneSatisfy(line -> assertThat(line).contains("failed its check"));
        assertThat(backends(printed)).isEqualTo(chosen);
        assertThat(chat(started.group(2), null, "stories260K").statusCode()).isEqualTo(200);
    }

    /** The library folder named by a start's llama.cpp line. */
    private static Path libraryFolder(List<String> printed) {
        String line = printed.stream()
                .filter(printedLine -> printedLine.startsWith("llama.cpp "))
                .findFirst()
                .orElseThrow();
        return Path.of(line.substring(line.indexOf(" (") + 2, line.indexOf("); devices")));
    }

    /** The backend libraries named by a start's llama.cpp line. */
    private static String backends(List<String> printed) {
        String line = printed.stream()
                .filter(printedLine -> printedLine.startsWith("llama.cpp "))
                .findFirst()
                .orElseThrow();
        return line.substring(line.indexOf("; backends: ") + "; backends: ".length());
    }

    @Test
    void servesWithAnotherBuildOfTheReleaseFromLlamaLib() throws Exception {
        serve(); // the prebuilt libraries are in the cache now: copy them as "another build"
        Path cached = libraryFolder(printed);
        Path build = Files.createDirectories(dir.resolve("my-build"));
        try (var files = Files.list(cached)) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".so"))
                    .toList()) {
                Files.copy(file, build.resolve(file.getFileName()));
            }
        }
        Matcher started = serve("--llama-lib", build.toString(), "--gpu-layers", "0");
        assertThat(printed)
                .anySatisfy(line ->
                        assertThat(line).startsWith("llama.cpp 0.5.").contains(" from --llama-lib (" + build + ")"));
        assertThat(chat(started.group(2), null, "stories260K").statusCode()).isEqualTo(200);
    }

    @Test
    void saysClearlyWhenTheLibraryFolderHoldsNoLlamaCpp() throws Exception {
        var result = run(Map.of(), "serve", "--port", "0", "--llama-lib", dir.toString());
        assertThat(result.exit()).isEqualTo(1);
        assertThat(result.output()).contains("parley serve: No llama library in " + dir);
    }

    @Test
    void withoutNpmOrACachedLibrarySaysWhatToDoAndLeavesNoHalfFetchedLibrary() throws Exception {
        Path cache = Files.createDirectories(dir.resolve("cache"));
        String java = Path.of(System.getProperty("java.home"), "bin").toString();
        var result = run(Map.of("PARLEY_CACHE_DIR", cache.toString(), "PATH", java), "serve", "--port", "0");
        assertThat(result.exit()).isEqualTo(1);
        assertThat(result.output()).contains("no npm was found").contains("--llama-lib");
        try (var left = Files.walk(cache)) {
            // The demo model, taken out of the jar before the library was looked for, is whole and may stay.
            assertThat(left.filter(Files::isRegularFile)
                            .filter(file -> !file.startsWith(cache.resolve("demo")))
                            .toList())
                    .isEmpty();
        }
    }

    record Result(int exit, String output) {}

    /** The command line of {@code parley ARGS} in a JVM of its own, on this test's class path. */
    static List<String> parley(String... args) {
        var command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                "dev.parley.cli.Main"));
        command.addAll(List.of(args));
        return command;
    }

    /** Runs {@code parley ARGS} in its own JVM to its end. */
    Result run(Map<String, String> environment, String... args) throws Exception {
        var command = parley(args);
        var builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("PARLEY_LLAMA_LIB");
        builder.environment().putAll(environment);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(process.exitValue(), output);
    }

    @Test
    void theLaunchersTrainingRunAnswersItsOwnRequestsAndStops() throws Exception {
        Result run = run(
                Map.of(),
                "serve",
                "--port",
                "0",
                "--threads",
                "1",
                "--data-dir",
                dir.resolve("data").toString(),
                "--warm-up");

        assertThat(run.output()).doesNotContain("warm-up failed");
        assertThat(run.exit()).as(run.output()).isZero();
    }

    @Test
    void aServerSideBatchKilledWithSigkillResumesAndAnswersEveryLineOnce() throws Exception {
        Path data = dir.resolve("data");
        String base = serve("--data-dir", data.toString()).group(2);
        StringBuilder input = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            input.append("{\"custom_id\":\"k")
                    .append(i)
                    .append("\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",")
                    .append("\"body\":{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"Tale ")
                    .append(i)
                    .append("\"}],\"max_tokens\":24,\"temperature\":0}}\n");
        }
        String boundary = "parley-test-boundary";
        String multipart = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n"
                + "Content-Type: application/jsonl\r\n\r\n" + input + "\r\n--" + boundary + "--\r\n";
        var uploaded = http.send(
                HttpRequest.newBuilder(URI.create(base + "/files"))
                        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                        .POST(HttpRequest.BodyPublishers.ofString(multipart))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(200);
        String fileId = Json.tree(uploaded.body()).get("id").asText();
        var created = http.send(
                HttpRequest.newBuilder(URI.create(base + "/batches"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"input_file_id\":\"" + fileId
                                + "\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
        String batchId = Json.tree(created.body()).get("id").asText();
        while (batch(base, batchId).at("/request_counts/completed").asInt() < 2) Thread.sleep(20);

        Process first = servers.removeLast();
        first.destroyForcibly(); // SIGKILL: no shutdown hook, no last write
        assertThat(first.waitFor(20, TimeUnit.SECONDS)).isTrue();
        String again = serve("--data-dir", data.toString()).group(2);
        JsonNode done = batch(again, batchId);
        while (!done.get("status").asText().equals("completed")) {
            assertThat(done.get("status").asText()).isIn("validating", "in_progress", "finalizing");
            Thread.sleep(50);
            done = batch(again, batchId);
        }

        assertThat(done.at("/request_counts/completed").asInt()).isEqualTo(16);
        String output = http.send(
                        HttpRequest.newBuilder(URI.create(again + "/files/"
                                        + done.get("output_file_id").asText() + "/content"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        List<String> ids = output.lines()
                .map(line -> Json.tree(line).get("custom_id").asText())
                .sorted()
                .toList();
        assertThat(ids).hasSize(16).doesNotHaveDuplicates();
    }

    JsonNode batch(String base, String id) throws Exception {
        var response = http.send(
                HttpRequest.newBuilder(URI.create(base + "/batches/" + id)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.tree(response.body());
    }

    @Test
    void withAKeysFileAnswersOnlyItsKeysWithinTheirLimits() throws Exception {
        Path keys = dir.resolve("keys.json");
        var out = new StringWriter();
        assertThat(Main.commandLine()
                        .setOut(new PrintWriter(out, true))
                        .setErr(new PrintWriter(new StringWriter(), true))
                        .execute(
                                "keys",
                                "add",
                                "--file",
                                keys.toString(),
                                "--name",
                                "team-a",
                                "--rpm",
                                "2",
                                "--tpm",
                                "100000"))
                .isZero();
        String key = out.toString().strip();
        Matcher started = serve("--keys", keys.toString());
        assertThat(started.group(3)).isEqualTo("API keys from " + keys + ", limits in memory");
        String baseUrl = started.group(2);

        assertThat(chat(baseUrl, null, "stories260K").statusCode()).isEqualTo(401);
        assertThat(chat(baseUrl, "sk-parley-wrong", "stories260K").statusCode()).isEqualTo(401);
        var first = chat(baseUrl, key, "stories260K");
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.headers().firstValue("x-ratelimit-limit-requests")).hasValue("2");
        assertThat(chat(baseUrl, key, "stories260K").statusCode()).isEqualTo(200);
        var third = chat(baseUrl, key, "stories260K");
        assertThat(third.statusCode()).isEqualTo(429);
        assertThat(third.headers().firstValue("retry-after")).isPresent();
        JsonNode error = Json.tree(third.body()).path("error");
        assertThat(error.path("code").asText()).isEqualTo("rate_limit_exceeded");
        assertThat(error.path("message").asText())
                .contains("in organization team-a on requests per min (RPM): Limit 2");
    }

    @Test
    void withAnUpstreamServesItsModelsInstead() throws Exception {
        String upstream = serve().group(2);
        Matcher proxy = serve("--upstream", upstream, "--upstream-key", "none");
        assertThat(proxy.group(1)).isEqualTo("stories260K");
        var direct = Json.tree(chat(upstream, null, "stories260K").body());
        var proxied = Json.tree(chat(proxy.group(2), null, "stories260K").body());
        assertThat(proxied.path("choices")
                        .path(0)
                        .path("message")
                        .path("content")
                        .asText())
                .isEqualTo(direct.path("choices")
                        .path(0)
                        .path("message")
                        .path("content")
                        .asText());
        for (String count : new String[] {"prompt_tokens", "completion_tokens", "total_tokens"}) {
            assertThat(proxied.path("usage").path(count))
                    .isEqualTo(direct.path("usage").path(count));
        }
        // The upstream had just read the same prompt: the gateway passes on what it found cached.
        assertThat(proxied.path("usage")
                        .path("prompt_tokens_details")
                        .path("cached_tokens")
                        .asInt())
                .isEqualTo(direct.path("usage").path("prompt_tokens").asInt() - 1);
    }

    @Test
    void onEveryAddressWithoutKeysWarnsAndPrintsAUrlThatWorks() throws Exception {
        Matcher started = serve("--host", "0.0.0.0");
        assertThat(started.group(3)).isEqualTo("no API keys: anyone who reaches 0.0.0.0 may use it");
        assertThat(printed).anySatisfy(line -> assertThat(line).contains("WARN").contains("without API keys"));
        assertThat(chat(started.group(2), null, "stories260K").statusCode()).isEqualTo(200);
    }

    @Test
    void onEveryIpv6AddressPrintsABracketedUrlThatWorks() throws Exception {
        var command = parley("serve", "--port", "0", "--threads", "1", "--host", "::");
        Process server = new ProcessBuilder(command).redirectErrorStream(true).start();
        servers.add(server);
        var lines = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        Pattern ipv6 = Pattern.compile("Serving stories260K at (http://\\[::1\\]:\\d+/v1) \\(.+\\)");
        List<String> seen = new ArrayList<>();
        for (String line; (line = lines.readLine()) != null; ) {
            seen.add(line);
            Matcher matcher = ipv6.matcher(line);
            if (matcher.matches()) {
                Thread.ofVirtual().start(() -> lines.lines().forEach(ignored -> {}));
                assertThat(seen).anySatisfy(l -> assertThat(l).contains("WARN").contains("without API keys"));
                assertThat(chat(matcher.group(1), null, "stories260K").statusCode())
                        .isEqualTo(200);
                return;
            }
        }
        throw new AssertionError("parley serve ended without starting: " + seen);
    }

    @Test
    void numbersBeyondTheirLimitsAreRefusedWithTheLimits() throws Exception {
        String[][] cases = {
            {"--context", "99999999999999999999999", "--context must be between 0 (the model's own) and 4194304"},
            {"--context", "-1", "--context must be between 0 (the model's own) and 4194304"},
            {"--parallel", "4294967297", "--parallel must be between 1 and 256"},
            {"--parallel", "0", "--parallel must be between 1 and 256"},
            {"--threads", "2147483648", "--threads must be between 0 (one per physical core) and 1024"},
            {"--port", "65536", "--port must be between 0 (a free one) and 65535"},
            {"--port", "-1", "--port must be between 0 (a free one) and 65535"},
            {"--queue", "0", "--queue must be at least 1"},
            {"--cache-ram", "-1", "--cache-ram must be between 0 (none) and 1048576 MB"},
            {"--cache-ram", "1048577", "--cache-ram must be between 0 (none) and 1048576 MB"},
            {"--gpu-layers", "-2", "--gpu-layers must be -1 (all), 0 (none) or more"},
            {"--sse-keepalive", "-1", "--sse-keepalive must be between 0 (never) and 3600 seconds"},
            {"--sse-keepalive", "3600.5", "--sse-keepalive must be between 0 (never) and 3600 seconds"},
            {"--sse-keepalive", "NaN", "--sse-keepalive must be between 0 (never) and 3600 seconds"},
            {"--keep-responses", "-1", "--keep-responses must be between 0 (none) and 3650 days"},
            {"--keep-responses", "3651", "--keep-responses must be between 0 (none) and 3650 days"},
        };
        for (String[] c : cases) {
            var err = new StringWriter();
            int exit = Main.commandLine()
                    .setOut(new PrintWriter(new StringWriter(), true))
                    .setErr(new PrintWriter(err, true))
                    .execute("serve", c[0], c[1]);
            assertThat(exit).as(c[0] + " " + c[1]).isEqualTo(2);
            assertThat(err.toString()).isEqualTo("parley serve: " + c[2] + ", not " + c[1] + System.lineSeparator());
        }
    }

    @Test
    void chatTemplateVariablesAreCheckedBeforeAnythingLoads() {
        String[][] cases = {
            {"{\"enable_thinking\": false", "--chat-template-kwargs: not JSON: "},
            {
                "[true]",
                "--chat-template-kwargs: Invalid type for 'chat_template_kwargs': expected an object, but got"
                        + " array instead."
            },
            {
                "{\"x\": \"<|im_start|>\"}",
                "--chat-template-kwargs: Invalid 'chat_template_kwargs.x': a chat template"
                        + " variable is a boolean, a number, null or a plain string"
            },
        };
        for (String[] c : cases) {
            var out = new StringWriter();
            var err = new StringWriter();
            int exit = Main.commandLine()
                    .setOut(new PrintWriter(out, true))
                    .setErr(new PrintWriter(err, true))
                    .execute("serve", "--chat-template-kwargs", c[0]);
            assertThat(exit).as(c[0]).isEqualTo(2);
            assertThat(err.toString()).as(c[0]).startsWith("parley serve: " + c[1]);
            assertThat(out.toString()).as("no library loaded, no model opened").isEmpty();
        }
    }

    @Test
    void anAddressItCannotListenOnIsRefusedBeforeAnythingLoads() throws Exception {
        try (var taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            var out = new StringWriter();
            var err = new StringWriter();
            int exit = Main.commandLine()
                    .setOut(new PrintWriter(out, true))
                    .setErr(new PrintWriter(err, true))
                    .execute("serve", "--port", String.valueOf(port));
            assertThat(exit).isEqualTo(1);
            assertThat(err.toString())
                    .isEqualTo("parley serve: port " + port + " on 127.0.0.1 is already in use: stop what listens"
                            + " there, or pick another --port" + System.lineSeparator());
            assertThat(out.toString()).as("no library loaded, no model opened").isEmpty();

            // An address of no interface of this machine (TEST-NET-1, reserved for documentation).
            out.getBuffer().setLength(0);
            err.getBuffer().setLength(0);
            exit = Main.commandLine()
                    .setOut(new PrintWriter(out, true))
                    .setErr(new PrintWriter(err, true))
                    .execute("serve", "--host", "192.0.2.1", "--port", String.valueOf(port));
            assertThat(exit).isEqualTo(1);
            assertThat(err.toString()).startsWith("parley serve: cannot listen on 192.0.2.1 port " + port + ": ");
            assertThat(out.toString()).isEmpty();

            for (String host : List.of("[", "[]")) { // malformed IPv6 literals: refused without a DNS lookup
                err.getBuffer().setLength(0);
                exit = Main.commandLine()
                        .setOut(new PrintWriter(out, true))
                        .setErr(new PrintWriter(err, true))
                        .execute("serve", "--host", host, "--port", String.valueOf(port));
                assertThat(exit).as(host).isEqualTo(1);
                assertThat(err.toString()).as(host).startsWith("parley serve: cannot listen on " + host);
                assertThat(out.toString()).isEmpty();
            }
        }
    }

    @Test
    void pricesThatAreNotAModelAndTwoAmountsAreRefused() {
        for (String price : List.of("demo", "demo=1", "demo=-1,2", "demo=1e400,1", "demo=NaN,1", "=1,2")) {
            var err = new StringWriter();
            int exit = Main.commandLine()
                    .setOut(new PrintWriter(new StringWriter(), true))
                    .setErr(new PrintWriter(err, true))
                    .execute("serve", "--price", "stories260K=0.1,0.2", "--price", price);
            assertThat(exit).as(price).isEqualTo(2);
            assertThat(err.toString()).startsWith("parley serve: --price: ").endsWith(price + System.lineSeparator());
        }
    }

    @Test
    void aContextBeyondTheMachinesMemoryIsRefusedWithTheNumbers() throws Exception {
        var result =
                run(Map.of(), "serve", "--port", "0", "--threads", "1", "--context", "4194304", "--parallel", "256");
        assertThat(result.exit()).isEqualTo(1);
        assertThat(result.output())
                .containsPattern("parley serve: a context of 4194304 tokens for each of 256 sequences needs about"
                        + " \\d+\\.\\d GiB of F16 KV cache, more than this machine's \\d+\\.\\d GiB of memory;"
                        + " ask for a smaller --context or --parallel");
        var cache = run(Map.of(), "serve", "--port", "0", "--threads", "1", "--cache-ram", "1048576");
        assertThat(cache.exit()).isEqualTo(1);
        assertThat(cache.output())
                .containsPattern("parley serve: a prompt cache of 1048576 MB is more than this machine's \\d+\\.\\d GiB"
                        + " of memory; ask for a smaller --cache-ram");
    }

    @Test
    void failingOpenStartsWhileRedisIsDownAndAdmitsTheKeys() throws Exception {
        Path keys = dir.resolve("keys.json");
        var out = new StringWriter();
        assertThat(Main.commandLine()
                        .setOut(new PrintWriter(out, true))
                        .setErr(new PrintWriter(new StringWriter(), true))
                        .execute("keys", "add", "--file", keys.toString(), "--name", "team-a"))
                .isZero();
        String key = out.toString().strip();
        String nowhere = "redis://127.0.0.1:" + freePort();
        var closed = run(Map.of(), "serve", "--port", "0", "--keys", keys.toString(), "--redis", nowhere);
        assertThat(closed.exit()).isEqualTo(1);
        assertThat(closed.output()).contains("parley serve: cannot reach Redis at " + nowhere);

        Matcher started = serve("--keys", keys.toString(), "--redis", nowhere, "--redis-fail-open");
        assertThat(started.group(3))
                .isEqualTo("API keys from " + keys + ", limits shared in Redis at " + nowhere + ", failing open");
        assertThat(printed)
                .anySatisfy(line -> assertThat(line).contains("WARN").contains("cannot reach Redis at " + nowhere));
        var admitted = chat(started.group(2), key, "stories260K");
        assertThat(admitted.statusCode()).isEqualTo(200);
        assertThat(admitted.headers().firstValue("x-ratelimit-remaining-requests"))
                .isEmpty();
        assertThat(chat(started.group(2), "sk-parley-wrong", "stories260K").statusCode())
                .isEqualTo(401);
    }

    static int freePort() throws java.io.IOException {
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** The next line the server prints that contains {@code text}. */
    String nextLine(String text) throws InterruptedException {
        for (String line; (line = later.poll(30, TimeUnit.SECONDS)) != null; ) {
            if (line.contains(text)) return line;
        }
        throw new AssertionError("no line with " + text);
    }

    HttpResponse<String> chatWithId(String baseUrl, String key, String requestId) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(baseUrl + "/chat/completions"))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + key)
                .header("x-request-id", requestId)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\","
                        + "\"content\":\"Once upon a time\"}],\"max_tokens\":8,\"temperature\":0}"));
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    String addKey(Path keys, String name) {
        var out = new StringWriter();
        assertThat(Main.commandLine()
                        .setOut(new PrintWriter(out, true))
                        .setErr(new PrintWriter(new StringWriter(), true))
                        .execute("keys", "add", "--file", keys.toString(), "--name", name))
                .isZero();
        return out.toString().strip();
    }

    @Test
    void logsOneAccessLinePerRequestWithTheKeysNameButNeverTheKey() throws Exception {
        Path keys = dir.resolve("keys.json");
        String key = addKey(keys, "team-a");
        Matcher started = serve("--keys", keys.toString());
        var reply = chatWithId(started.group(2), key, "trace-7");
        assertThat(reply.statusCode()).isEqualTo(200);
        String line = nextLine("parley.access");
        assertThat(line)
                .matches(".* INFO  parley\\.access - trace-7 POST /v1/chat/completions 200 key=team-a model=stories260K"
                        + " prompt_tokens=\\d+ completion_tokens=8 latency_ms=\\d+\\.\\d ttft_ms=\\d+\\.\\d")
                .doesNotContain(key);
        chatWithId(started.group(2), "sk-parley-wrong", "trace-8");
        assertThat(nextLine("parley.access"))
                .contains(" - trace-8 POST /v1/chat/completions 401 latency_ms=")
                .doesNotContain("sk-parley-wrong");
    }

    @Test
    void logsJsonLinesWithTheAccessFieldsAsFields() throws Exception {
        Path keys = dir.resolve("keys.json");
        String key = addKey(keys, "team-b");
        Matcher started = serve("--keys", keys.toString(), "--log-format", "json");
        assertThat(chatWithId(started.group(2), key, "trace-9").statusCode()).isEqualTo(200);
        JsonNode line = Json.tree(nextLine("\"logger\":\"parley.access\""));
        assertThat(line.path("level").asText()).isEqualTo("INFO");
        assertThat(line.path("time").asText()).endsWith("Z");
        assertThat(line.path("request_id").asText()).isEqualTo("trace-9");
        assertThat(line.path("method").asText()).isEqualTo("POST");
        assertThat(line.path("path").asText()).isEqualTo("/v1/chat/completions");
        assertThat(line.path("status").asInt()).isEqualTo(200);
        assertThat(line.path("key").asText()).isEqualTo("team-b");
        assertThat(line.path("model").asText()).isEqualTo("stories260K");
        assertThat(line.path("prompt_tokens").isInt()).isTrue();
        assertThat(line.path("completion_tokens").asInt()).isEqualTo(8);
        assertThat(line.path("latency_ms").isNumber()).isTrue();
        assertThat(line.path("ttft_ms").isNumber()).isTrue();
        assertThat(line.toString()).doesNotContain(key);
    }

    @Test
    void sighupReadsTheKeysFileAndTheTlsCertificateAgainAndTheServerRunsOn() throws Exception {
        Path keys = dir.resolve("keys.json");
        String key = addKey(keys, "first");
        TestCertificate issued = TestCertificate.issue(dir, "EC", "localhost");
        Path certificate = Files.writeString(dir.resolve("cert.pem"), issued.certificatePem());
        Path tlsKey = Files.writeString(dir.resolve("key.pem"), issued.keyPem());
        Matcher started =
                serve("--keys", keys.toString(), "--tls-cert", certificate.toString(), "--tls-key", tlsKey.toString());
        Process server = servers.getLast();

        // Under nohup (this JVM ignoring SIGHUP, and so the server it starts) the server says it cannot reload.
        assumeThat(printed).noneMatch(line -> line.contains(ServeCommand.HUP_IGNORED));
        assertThat(new ProcessBuilder("kill", "-HUP", Long.toString(server.pid()))
                        .start()
                        .waitFor())
                .isZero();
        // The files have not changed, so their watchers read nothing: these lines are the signal's doing. (What a
        // reload makes of changed files, the server's own tests check.)
        assertThat(nextLine("Reloaded 1 key from " + keys)).contains("INFO");
        assertThat(nextLine("TLS certificate " + certificate)).contains("INFO").contains("valid until");
        try (HttpClient https =
                HttpClient.newBuilder().sslContext(issued.trustingIt()).build()) {
            var models = https.send(
                    HttpRequest.newBuilder(URI.create(started.group(2) + "/models"))
                            .header("Authorization", "Bearer " + key)
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(models.statusCode()).as(models.body()).isEqualTo(200);
        }
        assertThat(server.isAlive()).isTrue();
    }

    @Test
    void servesTheModelsOfAConfigurationFile() throws Exception {
        Path config = dir.resolve("parley.yaml");
        Files.writeString(config, """
                server:
                  host: 127.0.0.1
                  port: 0
                models:
                  - id: stories
                    file: %s
                    aliases: [tiny]
                    threads: 1
                  - id: stories-solo
                    file: %s
                    parallel: 1
                    threads: 1
                """.formatted(DemoModel.path(), DemoModel.path()));
        Matcher started = start(Map.of(), parley("serve", "--config", config.toString()));
        assertThat(started.group(1)).isEqualTo("stories, tiny, stories-solo");
        assertThat(printed).anySatisfy(line -> assertThat(line).startsWith("llama.cpp 0.5"));
        var byAlias = chat(started.group(2), null, "tiny");
        assertThat(byAlias.statusCode()).as(byAlias.body()).isEqualTo(200);
        assertThat(Json.tree(byAlias.body()).path("model").asText()).isEqualTo("stories");
        assertThat(chat(started.group(2), null, "stories-solo").statusCode()).isEqualTo(200);
    }

    @Test
    void servesHttpsWithTheCertificateItsConfigurationFileNames() throws Exception {
        TestCertificate issued = TestCertificate.issue(dir, "EC", "localhost");
        Files.createDirectories(dir.resolve("tls"));
        Files.writeString(dir.resolve("tls/cert.pem"), issued.certificatePem());
        Files.writeString(dir.resolve("tls/key.pem"), issued.keyPem());
        Path config = dir.resolve("parley.yaml");
        Files.writeString(config, """
                server:
                  host: 127.0.0.1
                  port: 0
                  tls_cert: tls/cert.pem
                  tls_key: tls/key.pem
                models:
                  - id: stories
                    file: %s
                    threads: 1
                """.formatted(DemoModel.path()));
        Matcher started = start(Map.of(), parley("serve", "--config", config.toString()));
        assertThat(started.group(2)).startsWith("https://127.0.0.1:");
        try (HttpClient https =
                HttpClient.newBuilder().sslContext(issued.trustingIt()).build()) {
            var answer = https.send(
                    HttpRequest.newBuilder(URI.create(started.group(2) + "/models"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            assertThat(Json.tree(answer.body()).path("data").path(0).path("id").asText())
                    .isEqualTo("stories");
        }

        // The client commands trust the certificate when told to, and say what is wrong when not.
        InProcess trusted =
                InProcess.run("models", "--base-url", started.group(2), "--ca-cert", dir.resolve("tls/cert.pem") + "");
        assertThat(trusted.exitCode()).as(trusted.err()).isZero();
        assertThat(trusted.out()).isEqualTo("stories" + System.lineSeparator());
        InProcess untrusted = InProcess.run("models", "--base-url", started.group(2), "--max-retries", "0");
        assertThat(untrusted.exitCode()).isEqualTo(1);
        assertThat(untrusted.err())
                .startsWith("parley models: GET " + started.group(2) + "/models failed: ")
                .endsWith("; the server's certificate is not signed by an authority this machine trusts: give that"
                        + " authority's certificate (or the server's own) with --ca-cert FILE or $SSL_CERT_FILE"
                        + System.lineSeparator());
        InProcess notACertificate =
                InProcess.run("models", "--base-url", started.group(2), "--ca-cert", dir.resolve("tls/key.pem") + "");
        assertThat(notACertificate.exitCode()).isEqualTo(1);
        assertThat(notACertificate.err())
                .isEqualTo("parley models: " + dir.resolve("tls/key.pem")
                        + " holds no PEM certificate (BEGIN CERTIFICATE)" + System.lineSeparator());

        // A gateway in front of it trusts it when told to, and says what to do when not.
        Matcher gateway = start(
                Map.of(),
                parley(
                        "serve",
                        "--port",
                        "0",
                        "--upstream",
                        started.group(2),
                        "--upstream-ca-cert",
                        dir.resolve("tls/cert.pem").toString()));
        assertThat(chat(gateway.group(2), null, "stories").statusCode()).isEqualTo(200);
        InProcess untrustedUpstream = InProcess.run("serve", "--port", "0", "--upstream", started.group(2));
        assertThat(untrustedUpstream.exitCode()).isEqualTo(1);
        assertThat(untrustedUpstream.err())
                .endsWith("; the server's certificate is not signed by an authority this machine trusts: give that"
                        + " authority's certificate (or the server's own) with --upstream-ca-cert FILE (an upstream's"
                        + " ca_cert in a configuration file)" + System.lineSeparator());

        InProcess keyAlone = InProcess.run("serve", "--tls-key", "key.pem");
        assertThat(keyAlone.exitCode()).isEqualTo(2);
        assertThat(keyAlone.err())
                .isEqualTo("parley serve: --tls-key needs --tls-cert, the certificate it belongs to"
                        + System.lineSeparator());
    }

    @Test
    void aConfigurationFileIsCheckedBeforeAnythingStarts() throws Exception {
        Path config = dir.resolve("parley.yaml");
        Files.writeString(config, "server:\n  port: 0\nmodles:\n  - id: x\n");
        var err = new StringWriter();
        int exit = Main.commandLine()
                .setOut(new PrintWriter(new StringWriter(), true))
                .setErr(new PrintWriter(err, true))
                .execute("serve", "--config", config.toString());
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).startsWith("parley serve: " + config + ":3: unknown key 'modles'");

        err.getBuffer().setLength(0);
        exit = Main.commandLine()
                .setOut(new PrintWriter(new StringWriter(), true))
                .setErr(new PrintWriter(err, true))
                .execute("serve", "--config", config.toString(), "--parallel", "2", "--swa-full", "--model", "x.gguf");
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString())
                .isEqualTo("parley serve: --model, --parallel, --swa-full go in the configuration file's models and"
                        + " upstreams, not beside --config" + System.lineSeparator());
    }

    @Test
    void optionsOfAnUpstreamWithoutOneAreRefused() {
        var err = new StringWriter();
        var out = new StringWriter();
        int exit = Main.commandLine()
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true))
                .execute("serve", "--upstream-key", "sk-x", "--upstream-timeout", "30");
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString())
                .isEqualTo("parley serve: --upstream-key, --upstream-timeout only go with --upstream URL"
                        + System.lineSeparator());
        assertThat(out.toString()).as("the demo model is not served instead").isEmpty();

        err.getBuffer().setLength(0);
        exit = Main.commandLine()
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true))
                .execute("serve", "--upstream", "http://127.0.0.1:9/v1", "--upstream-output-reserve", "0");
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString())
                .isEqualTo(
                        "parley serve: --upstream-output-reserve must be at least 1, not 0" + System.lineSeparator());

        for (String option : List.of("--upstream-timeout", "--upstream-idle-timeout")) {
            for (String timeout : List.of("0", "-2.5", "NaN", "86401")) {
                err.getBuffer().setLength(0);
                exit = Main.commandLine()
                        .setOut(new PrintWriter(out, true))
                        .setErr(new PrintWriter(err, true))
                        .execute("serve", "--upstream", "http://127.0.0.1:9/v1", option, timeout);
                assertThat(exit).isEqualTo(2);
                assertThat(err.toString()) // the number as given: not "0.0"
                        .isEqualTo("parley serve: " + option + " must be more than 0 and at most 86400 seconds, not "
                                + timeout + System.lineSeparator());
            }
        }
    }

    @Test
    void refusesAModelAndAnUpstreamTogether() {
        var err = new StringWriter();
        int exit = Main.commandLine()
                .setOut(new PrintWriter(new StringWriter(), true))
                .setErr(new PrintWriter(err, true))
                .execute("serve", "--model", "x.gguf", "--upstream", "http://127.0.0.1:9/v1");
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString())
                .isEqualTo("parley serve: --model and --upstream exclude each other" + System.lineSeparator());
    }
}
