package dev.parley.server.limits;

import dev.parley.api.CompletionRequest;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** Helpers of the keyed-server tests: the demo engine, keys files, a hand-stepped clock, real HTTP. */
final class Keyed {
    static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final String PROMPT = "Once upon a time";

    private Keyed() {}

    static LlamaEngine engine() {
        return LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(2)
                .withContextPerSequence(512));
    }

    /** The tokens of {@link #PROMPT} as a legacy prompt, counted by the engine itself. */
    static int promptTokens(LlamaEngine engine) {
        return engine.complete(CompletionRequest.of("demo", PROMPT).withMaxTokens(0))
                .promptTokens();
    }

    /** Key {@code name}'s secret in these tests. */
    static String secret(String name) {
        return "sk-test-" + name;
    }

    static KeyEntry key(String name, long rpm, long tpm, Long rpd, Long tpd, List<String> models) {
        return new KeyEntry(name, KeysFile.sha256(secret(name)), rpm, tpm, rpd, tpd, models);
    }

    static Path keysFile(Path dir, KeyEntry... keys) {
        Path file = dir.resolve("keys.json");
        for (KeyEntry key : keys) KeysFile.add(file, key);
        return file;
    }

    /** A clock that moves only when told. */
    static final class StepClock implements InstantSource {
        private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));

        @Override
        public Instant instant() {
            return now.get();
        }

        void advance(Duration duration) {
            now.updateAndGet(t -> t.plus(duration));
        }
    }

    static HttpResponse<String> post(String base, String key, String path, String body) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) request.header("Authorization", "Bearer " + secret(key));
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String base, String key, String path) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(base + path)).GET();
        if (key != null) request.header("Authorization", "Bearer " + secret(key));
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A legacy completion that generates nothing: it costs exactly its prompt's tokens. */
    static String promptOnly() {
        return "{\"model\":\"demo\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":0}";
    }

    static String chat(int maxTokens) {
        return "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT
                + "\"}],\"temperature\":0,\"max_tokens\":" + maxTokens + "}";
    }

    static String completion(int maxTokens) {
        return "{\"model\":\"demo\",\"prompt\":\"" + PROMPT + "\",\"temperature\":0,\"max_tokens\":" + maxTokens + "}";
    }
}
