package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code parley serve} stopped by signals while it streams: a real process, SIGTERM from outside, real
 * HTTP. The model is a random-weight one slow enough (milliseconds per token on one thread) that a long
 * answer is still running when the signal arrives.
 */
@Timeout(120)
class ShutdownTest {
    private static final Pattern START_LINE =
            Pattern.compile("Serving (.+) at (http://127\\.0\\.0\\.1:\\d+/v1) \\((.+)\\)");

    @TempDir
    static Path dir;

    static Path model;

    final HttpClient http = HttpClient.newHttpClient();
    final BlockingQueue<String> logged = new LinkedBlockingQueue<>();
    Process server;
    String baseUrl;

    @BeforeAll
    static void writeModel() {
        model = GgufWriter.llama()
                .dim(256)
                .layers(4)
                .heads(4)
                .kvHeads(2)
                .ffnDim(512)
                .vocabSize(600)
                .contextLength(4096)
                .type(TensorType.Q8_0)
                .seed(6)
                .write(dir.resolve("slow.gguf"));
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (server != null && server.isAlive()) {
            server.destroyForcibly();
            server.waitFor(20, TimeUnit.SECONDS);
        }
        http.shutdownNow(); // close() would wait for a stream a failed test left open
    }

    void serve(String... args) throws Exception {
        var command = ServeCommandTest.parley(
                "serve", "--port", "0", "--threads", "1", "--model", model.toString(), "--model-id", "slow");
        command.addAll(List.of(args));
        server = new ProcessBuilder(command).redirectErrorStream(true).start();
        var lines = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        for (String line; (line = lines.readLine()) != null; ) {
            seen.add(line);
            Matcher matcher = START_LINE.matcher(line);
            if (matcher.matches()) {
                baseUrl = matcher.group(2);
                Thread.ofVirtual().start(() -> {
                    try {
                        for (String next; (next = lines.readLine()) != null; ) logged.add(next);
                    } catch (IOException e) {
                        // the server has gone
                    }
                });
                return;
            }
        }
        throw new AssertionError("parley serve ended without starting: " + seen);
    }

    String nextLine(String text) throws InterruptedException {
        List<String> seen = new ArrayList<>();
        for (String line; (line = logged.poll(60, TimeUnit.SECONDS)) != null; ) {
            if (line.contains(text)) return line;
            seen.add(line);
        }
        throw new AssertionError("no line with " + text + " in " + seen);
    }

    /** Sends SIGTERM, leaving the server's output readable (Process.destroy would close it). */
    void terminate() {
        assertThat(server.toHandle().destroy()).isTrue();
    }

    /** A streamed legacy completion of {@code maxTokens}, its first event already read. */
    BufferedReader stream(int maxTokens) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(baseUrl + "/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"slow\",\"prompt\":\"a b c\",\"max_tokens\":"
                        + maxTokens + ",\"temperature\":0,\"stream\":true}"))
                .build();
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        var events = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
        String first = events.readLine();
        while (first != null && (first.isEmpty() || first.startsWith(":"))) first = events.readLine(); // keep-alives
        assertThat(first).startsWith("data: {");
        return events;
    }

    /** The data payloads left in a stream, until it ends. */
    static List<String> rest(BufferedReader events) {
        List<String> data = new ArrayList<>();
        try {
            for (String line; (line = events.readLine()) != null; ) {
                if (line.startsWith("data: ")) data.add(line.substring(6));
            }
        } catch (IOException cutOff) {
            // what a broken connection looks like to the reader
        }
        return data;
    }

    @Test
    void sigtermRefusesNewWorkAndLetsARunningStreamFinish() throws Exception {
        serve("--shutdown-timeout", "110");
        BufferedReader events = stream(2000);
        terminate();
        assertThat(nextLine("SIGTERM: accepting no more requests")).contains("1 running may take 110s");

        var refused = http.sendAsync(
                        HttpRequest.newBuilder(URI.create(baseUrl + "/models")).build(),
                        HttpResponse.BodyHandlers.ofString())
                .handle((response, failure) -> failure != null ? -1 : response.statusCode())
                .get();
        assertThat(refused).isIn(-1, 503); // no new connection, or 503 server_shutting_down

        List<String> data = rest(events);
        assertThat(data.getLast()).isEqualTo("[DONE]");
        JsonNode finish = Json.tree(data.get(data.size() - 2));
        assertThat(finish.path("choices").path(0).path("finish_reason").asText())
                .isIn("length", "stop");
        assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).isZero();
        assertThat(nextLine("Stopped")).contains("INFO");
    }

    @Test
    void aStreamStillRunningAtTheDeadlineEndsWithAnErrorEventNotABrokenConnection() throws Exception {
        serve("--shutdown-timeout", "1");
        BufferedReader events = stream(4000);
        terminate();
        List<String> data = rest(events);
        JsonNode error = Json.tree(data.getLast()).path("error");
        assertThat(error.path("code").asText()).isEqualTo("server_shutting_down");
        assertThat(error.path("type").asText()).isEqualTo("server_error");
        assertThat(data).doesNotContain("[DONE]");
        assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).isZero();
        assertThat(nextLine("Cut 1 request still running after 1s")).contains("WARN");
    }

    @Test
    void aSecondSignalStopsAtOnce() throws Exception {
        serve("--shutdown-timeout", "110");
        BufferedReader events = stream(4000);
        terminate();
        nextLine("SIGTERM: accepting no more requests");
        terminate();
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(server.exitValue()).isEqualTo(1);
        assertThat(rest(events)).doesNotContain("[DONE]");
    }
}
