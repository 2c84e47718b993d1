package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.Json;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Test helper: plain HTTP to a server on loopback, and the checks every test class shares. */
record Loopback(HttpClient http, String base) implements AutoCloseable {

    static Loopback to(ParleyServer server) {
        return new Loopback(
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build(),
                "http://127.0.0.1:" + server.port());
    }

    HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(request(path, body), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<InputStream> open(String path, String body) throws Exception {
        return http.send(request(path, body), HttpResponse.BodyHandlers.ofInputStream());
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(base + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> head(String path) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(base + path))
                        .method("HEAD", HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest request(String path, String body) {
        return HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    @Override
    public void close() {
        http.close();
    }

    /**
     * The data payloads of an SSE body, checked to be well-framed; the last is {@code [DONE]}. The server's keep-alive
     * comments (a stream silent for 15 s, as on a busy machine) are skipped, as every SSE reader skips them.
     */
    static List<String> events(String body) {
        assertThat(body).endsWith("\n\n");
        List<String> data = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (event.equals(": keep-alive")) continue;
            assertThat(event).startsWith("data: ");
            data.add(event.substring("data: ".length()));
        }
        assertThat(data.getLast()).isEqualTo("[DONE]");
        return data;
    }

    static List<ChatCompletionChunk> chunks(String body) {
        List<String> data = events(body);
        return data.subList(0, data.size() - 1).stream()
                .map(d -> Json.read(d, ChatCompletionChunk.class))
                .toList();
    }

    static String streamedText(String body) {
        StringBuilder text = new StringBuilder();
        for (ChatCompletionChunk chunk : chunks(body)) text.append(chunk.deltaText());
        return text.toString();
    }

    static void assertError(HttpResponse<String> response, int status, String type, String param, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("x-request-id")).isPresent();
        assertThat(response.headers().firstValue("content-type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        JsonNode error = Json.tree(response.body()).path("error");
        assertThat(error.path("message").asText()).isNotBlank();
        if (type != null) assertThat(error.path("type").asText()).isEqualTo(type);
        assertThat(error.has("param")).isTrue();
        assertThat(error.has("code")).isTrue();
        assertThat(error.path("param").isNull() ? null : error.path("param").asText())
                .isEqualTo(param);
        assertThat(error.path("code").isNull() ? null : error.path("code").asText())
                .isEqualTo(code);
    }
}
