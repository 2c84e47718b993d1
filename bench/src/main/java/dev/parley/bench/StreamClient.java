package dev.parley.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A load generator for one OpenAI-compatible server on loopback: streaming requests over HTTP/1.1, every
 * stream on a connection and a virtual thread of its own.
 *
 * <p>Thread-safe. Counts a stream's tokens from its usage chunk ({@code stream_options.include_usage}), so
 * a stream that ends early counts what it generated.
 *
 * @param llamaServer whether the server is llama.cpp's: it then gets {@code ignore_eos} and, for sampling,
 *     {@code top_k 0, min_p 0} so that it samples from the whole distribution as Parley does at top_p 1
 */
record StreamClient(HttpClient http, String baseUrl, String model, Endpoint endpoint, boolean llamaServer) {

    /** The endpoint the streams use; completions feed both servers the same prompt tokens. */
    enum Endpoint {
        COMPLETIONS("/v1/completions"),
        CHAT("/v1/chat/completions");

        final String path;

        Endpoint(String path) {
            this.path = path;
        }
    }

    /** Greedy (temperature 0) or sampling (temperature 1, top_p 1, seeded per stream). */
    enum Mode {
        GREEDY,
        SAMPLING;

        String label() {
            return name().toLowerCase();
        }
    }

    /** Completion tokens of a round of streams, how long it took, and how many streams ended before the limit. */
    record Round(int tokens, long nanos, int endedEarly) {
        double tokensPerSecond() {
            return tokens / (nanos / 1e9);
        }
    }

    static HttpClient newHttp() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    /** Streams every prompt at once, {@code maxTokens} each; the clock runs from the first send to the last byte. */
    Round concurrent(List<String> prompts, int maxTokens, Mode mode, long seed) throws Exception {
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            long start = System.nanoTime();
            List<Future<Integer>> streams = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i++) {
                String body = body(prompts.get(i), maxTokens, mode, seed + i);
                streams.add(pool.submit(() -> stream(body)));
            }
            int tokens = 0;
            int ended = 0;
            for (Future<Integer> stream : streams) {
                int generated = stream.get();
                tokens += generated;
                if (generated < maxTokens) ended++;
            }
            return new Round(tokens, System.nanoTime() - start, ended);
        }
    }

    /** Nanoseconds from sending one greedy stream until its first chunk with text; reads the stream to its end. */
    long timeToFirstContent(String prompt, int maxTokens) throws IOException, InterruptedException {
        long start = System.nanoTime();
        var response = http.send(post(body(prompt, maxTokens, Mode.GREEDY, 0)), HttpResponse.BodyHandlers.ofLines());
        requireOk(response);
        long first = -1;
        for (String line : (Iterable<String>) response.body()::iterator) {
            if (first < 0
                    && line.startsWith("data: {")
                    && !text(Json.tree(line.substring(6))).isEmpty()) {
                first = System.nanoTime() - start;
            }
        }
        if (first < 0) throw new IllegalStateException(baseUrl + " streamed no text");
        return first;
    }

    /** Streams one greedy request for {@code prompt} to its end; returns its completion tokens. */
    int stream(String prompt, int maxTokens) throws IOException, InterruptedException {
        return stream(body(prompt, maxTokens, Mode.GREEDY, 0));
    }

    /** Streams one request to its end; returns its completion tokens. */
    private int stream(String body) throws IOException, InterruptedException {
        var response = http.send(post(body), HttpResponse.BodyHandlers.ofLines());
        requireOk(response);
        int completion = -1;
        for (String line : (Iterable<String>) response.body()::iterator) {
            // Only the usage chunk is parsed: the load generator shares the CPU with the server.
            if (line.startsWith("data: {") && line.contains("\"usage\"")) {
                JsonNode usage = Json.tree(line.substring(6)).path("usage");
                if (usage.isObject())
                    completion = usage.path("completion_tokens").asInt();
            }
        }
        if (completion < 0) throw new IllegalStateException(baseUrl + ": the stream had no usage chunk");
        return completion;
    }

    private String body(String prompt, int maxTokens, Mode mode, long seed) {
        var body =
                Json.object().put("model", model).put("max_tokens", maxTokens).put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        switch (endpoint) {
            case COMPLETIONS -> body.put("prompt", prompt);
            case CHAT ->
                body.putArray("messages").addObject().put("role", "user").put("content", prompt);
        }
        switch (mode) {
            case GREEDY -> body.put("temperature", 0);
            case SAMPLING -> body.put("temperature", 1).put("top_p", 1).put("seed", seed);
        }
        if (llamaServer) {
            body.put("ignore_eos", true).put("cache_prompt", false);
            if (mode == Mode.SAMPLING) body.put("top_k", 0).put("min_p", 0);
        }
        return Json.write(body);
    }

    private String text(JsonNode chunk) {
        JsonNode choice = chunk.path("choices").path(0);
        return switch (endpoint) {
            case COMPLETIONS -> choice.path("text").asText("");
            case CHAT -> choice.path("delta").path("content").asText("");
        };
    }

    private HttpRequest post(String body) {
        return HttpRequest.newBuilder(URI.create(baseUrl + endpoint.path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    private void requireOk(HttpResponse<?> response) {
        if (response.statusCode() != 200)
            throw new IllegalStateException(baseUrl + " answered HTTP " + response.statusCode());
    }
}
