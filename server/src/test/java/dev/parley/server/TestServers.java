package dev.parley.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * What a test of the Responses API opens, closed when it ends, the last opened first: servers of the demo model (as
 * {@code demo}, 2 slots of 512 tokens), OpenAI SDK clients of them, and one HTTP client for requests as sent.
 */
public final class TestServers implements AutoCloseable {
    private final List<AutoCloseable> open = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    /** {@code closeable}, to be closed with the rest. */
    public <T extends AutoCloseable> T add(T closeable) {
        open.add(closeable);
        return closeable;
    }

    /** A server of the demo model to the holders of {@code keys}, run as {@code options} say, on {@code clock}. */
    public ParleyServer demo(ApiKeys keys, ServerOptions options, Clock clock) {
        return add(ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(512)),
                keys,
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                options,
                clock));
    }

    /** OpenAI's own client of {@code server}, sending {@code key}, retrying nothing. */
    public OpenAIClient sdk(ParleyServer server, String key) {
        var client = OpenAIOkHttpClient.builder()
                .baseUrl(server.baseUrl("127.0.0.1"))
                .apiKey(key)
                .maxRetries(0)
                .build();
        open.add(client::close);
        return client;
    }

    /** {@code body} (JSON, or none when null) sent to {@code url} with {@code method} and {@code key} (when not null). */
    public HttpResponse<String> send(String method, String url, String key, String body) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(url))
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (key != null) request.header("Authorization", "Bearer " + key);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Closes all it opened, the last first; the first failure is thrown once all are closed. */
    @Override
    public void close() {
        RuntimeException failed = null;
        for (AutoCloseable closeable : open.reversed()) {
            try {
                closeable.close();
            } catch (Exception e) {
                if (failed == null) failed = new IllegalStateException("closing " + closeable + " failed", e);
            }
        }
        http.close();
        if (failed != null) throw failed;
    }
}
