package dev.parley.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A load generator for one OpenAI-compatible server on loopback: streaming requests over HTTP/1.1, each on a
 * platform thread of its own reading a plain socket ({@link HttpConnection}: the lightest reader there is, since it
 * shares the cores with the server it measures). Concurrent streams each open a connection; the time to a first
 * token is measured on a connection kept from one request to the next, as a client's pool keeps it, so that
 * accepting a connection is not counted.
 *
 * <p>Thread-safe. Counts a stream's tokens from its usage chunk ({@code stream_options.include_usage}), so
 * a stream that ends early counts what it generated.
 */
final class StreamClient {
    private final URI base;
    private final String model;
    private final Endpoint endpoint;
    private final boolean llamaServer;
    private HttpConnection kept; // for timeToFirstContent; guarded by this

    /**
     * @param llamaServer whether the server is llama.cpp's: it then gets {@code ignore_eos} and, for sampling,
     *     {@code top_k 0, min_p 0} so that it samples from the whole distribution as Parley does at top_p 1
     */
    StreamClient(String baseUrl, String model, Endpoint endpoint, boolean llamaServer) {
        this.base = URI.create(baseUrl);
        this.model = model;
        this.endpoint = endpoint;
        this.llamaServer = llamaServer;
    }

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

    /** Streams every prompt at once, {@code maxTokens} each; the clock runs from the first send to the last byte. */
    Round concurrent(List<String> prompts, int maxTokens, Mode mode, long seed) throws Exception {
        try (var pool = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().factory())) {
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

    /**
     * A first token: nanoseconds from sending the request to its first chunk with text; the milliseconds the server
     * says it took to read the prompt ({@code timings.prompt_ms} in llama-server's last chunk), or NaN when it says
     * nothing; and how many of the prompt's tokens it kept from an earlier request instead of reading them (Parley's
     * {@code usage.prompt_tokens_details.cached_tokens}, llama-server's {@code timings.cache_n}), 0 when it says
     * nothing; and the text the stream wrote.
     */
    record FirstContent(long nanos, double promptMillis, int cachedTokens, String text) {}

    /** Sends one greedy stream and times its first chunk with text; reads the stream to its end. */
    synchronized FirstContent timeToFirstContent(String prompt, int maxTokens) throws IOException {
        String body = body(prompt, maxTokens, Mode.GREEDY, 0);
        if (kept == null || !kept.reusable()) {
            if (kept != null) kept.close();
            kept = new HttpConnection(base);
        }
        long start = System.nanoTime();
        requireOk(kept.post(endpoint.path, body));
        long first = -1;
        double promptMillis = Double.NaN;
        int cached = 0;
        StringBuilder text = new StringBuilder();
        for (String line; (line = kept.nextLine()) != null; ) {
            if (!line.startsWith("data: {")) continue;
            JsonNode chunk = Json.tree(line.substring(6));
            String piece = text(chunk);
            if (first < 0 && !piece.isEmpty()) first = System.nanoTime() - start;
            text.append(piece);
            JsonNode timings = chunk.path("timings");
            if (timings.path("prompt_ms").isNumber())
                promptMillis = timings.path("prompt_ms").asDouble();
            cached = Math.max(cached, timings.path("cache_n").asInt(0));
            JsonNode details = chunk.path("usage").path("prompt_tokens_details");
            cached = Math.max(cached, details.path("cached_tokens").asInt(0));
        }
        if (first < 0) throw new IllegalStateException(base + " streamed no text");
        return new FirstContent(first, promptMillis, cached, text.toString());
    }

    /**
     * Starts a greedy stream on a connection of its own, read to its end on a thread of its own; {@link
     * Background#awaitFirstContent} returns once its first chunk with text came (its prompt has been read).
     */
    Background background(String prompt, int maxTokens) {
        String body = body(prompt, maxTokens, Mode.GREEDY, 0);
        var first = new CountDownLatch(1);
        var done = new CompletableFuture<Void>();
        Thread.ofPlatform().daemon().start(() -> {
            try (var connection = new HttpConnection(base)) {
                requireOk(connection.post(endpoint.path, body));
                for (String line; (line = connection.nextLine()) != null; )
                    if (line.startsWith("data: {")
                            && !text(Json.tree(line.substring(6))).isEmpty()) first.countDown();
                done.complete(null);
            } catch (Exception | Error e) {
                done.completeExceptionally(e);
            } finally {
                first.countDown();
            }
        });
        return new Background(first, done);
    }

    /** A stream read on a thread of its own ({@link #background}). */
    record Background(CountDownLatch first, CompletableFuture<Void> done) {
        void awaitFirstContent() throws Exception {
            first.await();
            if (done.isCompletedExceptionally()) done.get();
        }

        void awaitEnd() throws Exception {
            done.get();
        }
    }

    /** Streams one request to its end; returns its completion tokens. */
    private int stream(String body) throws IOException {
        try (var connection = new HttpConnection(base)) {
            requireOk(connection.post(endpoint.path, body));
            int completion = -1;
            for (String line; (line = connection.nextLine()) != null; ) {
                // Only the usage chunk is parsed: the load generator shares the CPU with the server.
                if (line.startsWith("data: {") && line.contains("\"usage\"")) {
                    JsonNode usage = Json.tree(line.substring(6)).path("usage");
                    if (usage.isObject())
                        completion = usage.path("completion_tokens").asInt();
                }
            }
            if (completion < 0) throw new IllegalStateException(base + ": the stream had no usage chunk");
            return completion;
        }
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

    private void requireOk(int status) {
        if (status != 200) throw new IllegalStateException(base + " answered HTTP " + status);
    }
}
