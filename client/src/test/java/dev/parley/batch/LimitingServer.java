package dev.parley.batch;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.Json;
import dev.parley.client.ScriptedServer;
import dev.parley.limits.RateLimitSnapshot;
import dev.parley.limits.RetryAfter;
import dev.parley.tokens.TokenCounter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A loopback chat server that enforces requests and tokens per minute as OpenAI does: continuously
 * refilled buckets holding one second's worth (OpenAI quantises its per-minute limits), a request costing
 * its prompt plus {@code max_tokens}, a rejected request still spending a request. Every answer carries
 * {@code x-ratelimit-*}; a 429 adds {@code retry-after} and {@code retry-after-ms}. Each answer's
 * completion is {@code max_tokens} tokens long. Raw sockets, one request per connection; time is the
 * given clock's (in nanoseconds), real time unless a test steps it.
 */
final class LimitingServer implements AutoCloseable {
    private final ServerSocket socket;
    private final double rpm;
    private final double tpm;
    private double requests;
    private double tokens;
    private final LongSupplier clock;
    private long updated;
    final AtomicLong admitted = new AtomicLong();
    final AtomicLong rejected = new AtomicLong();

    LimitingServer(double rpm, double tpm) {
        this(rpm, tpm, System::nanoTime);
    }

    LimitingServer(double rpm, double tpm, LongSupplier clock) {
        this.clock = clock;
        this.updated = clock.getAsLong();
        this.rpm = rpm;
        this.tpm = tpm;
        this.requests = rpm / 60;
        this.tokens = tpm / 60;
        // A real server has its tokenizer loaded before the first request; loading it then would hold
        // early requests in transit while the full buckets lose their refill.
        TokenCounter.forModel("gpt-4o-mini").count("warm up");
        try {
            socket = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread.ofVirtual().start(this::acceptAll);
    }

    String baseUrl() {
        return "http://127.0.0.1:" + socket.getLocalPort() + "/v1";
    }

    /** Admits or rejects a request costing {@code cost} tokens; answers the wait when rejected, else null. */
    private synchronized Duration admit(long cost, Map<String, String> headers) {
        long now = clock.getAsLong();
        double seconds = (now - updated) / 1e9;
        updated = now;
        requests = Math.min(rpm / 60, requests + rpm / 60 * seconds);
        tokens = Math.min(tpm / 60, tokens + tpm / 60 * seconds);
        double neededTokens = Math.min(cost, tpm / 60);
        Duration wait = null;
        if (requests >= 1 && tokens >= neededTokens) {
            requests -= 1;
            tokens -= cost;
            admitted.incrementAndGet();
        } else {
            double waitSeconds = Math.max((1 - requests) / (rpm / 60), (neededTokens - tokens) / (tpm / 60));
            wait = Duration.ofNanos((long) (Math.max(waitSeconds, 0.001) * 1e9));
            if (requests >= 1) requests -= 1; // a rejected request spends a request too
            rejected.incrementAndGet();
        }
        var snapshot = new RateLimitSnapshot(
                (long) rpm,
                (long) tpm,
                (long) Math.max(0, requests),
                (long) Math.max(0, tokens),
                Duration.ofNanos((long) ((rpm / 60 - requests) / (rpm / 60) * 1e9)),
                Duration.ofNanos((long) (Math.max(0, tpm / 60 - tokens) / (tpm / 60) * 1e9)));
        headers.putAll(snapshot.toHeaders());
        if (wait != null) headers.putAll(RetryAfter.toHeaders(wait));
        return wait;
    }

    private void acceptAll() {
        while (!socket.isClosed()) {
            try {
                Socket connection = socket.accept();
                Thread.ofVirtual().start(() -> answer(connection));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void answer(Socket connection) {
        try (connection) {
            var received = ScriptedServer.read(connection.getInputStream());
            if (received == null) return;
            ChatCompletionRequest request = Json.read(received.body(), ChatCompletionRequest.class);
            int prompt = TokenCounter.forModel(request.model()).count(request.messages());
            int completion = request.maxTokens() == null ? 16 : request.maxTokens();
            Map<String, String> headers = new LinkedHashMap<>();
            Duration wait = admit(prompt + (long) completion * request.choices(), headers);
            String json = wait != null
                    ? "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}"
                    : "{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion\",\"created\":1,\"model\":\""
                            + request.model()
                            + "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"length\"}],"
                            + "\"usage\":{\"prompt_tokens\":" + prompt + ",\"completion_tokens\":" + completion
                            + ",\"total_tokens\":" + (prompt + completion) + "}}";
            byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
            var head = new StringBuilder("HTTP/1.1 ")
                    .append(wait != null ? "429 Too Many Requests" : "200 OK")
                    .append("\r\n")
                    .append("Content-Type: application/json\r\nConnection: close\r\nContent-Length: ")
                    .append(bytes.length)
                    .append("\r\n");
            headers.forEach((name, value) ->
                    head.append(name).append(": ").append(value).append("\r\n"));
            OutputStream out = connection.getOutputStream();
            out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            // the client went away
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
