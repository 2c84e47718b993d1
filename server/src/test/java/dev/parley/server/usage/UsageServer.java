package dev.parley.server.usage;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.server.ParleyServer;
import dev.parley.server.ServerOptions;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;

/** Test helper: a real keyed server over the demo model, as {@code demo}, with plain HTTP to it. */
record UsageServer(ParleyServer server, String base) implements AutoCloseable {
    static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static UsageServer start(Path keys, ServerOptions options) {
        var server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(256)),
                ApiKeys.load(keys),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                options);
        return of(server);
    }

    /** A server already started, reached on loopback; closed with this. */
    static UsageServer of(ParleyServer server) {
        return new UsageServer(server, "http://127.0.0.1:" + server.port());
    }

    /** A keys file of {@code keys}; each key's secret is {@code sk-NAME}. */
    static Path keysFile(Path dir, KeyEntry... keys) {
        Path file = dir.resolve("keys.json");
        for (KeyEntry key : keys) KeysFile.add(file, key);
        return file;
    }

    static KeyEntry key(String name) {
        return new KeyEntry(name, KeysFile.sha256("sk-" + name), 10_000, 10_000_000, null, null, List.of());
    }

    HttpResponse<String> post(String key, String path, String body) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(base + path))
                        .header("Content-Type", "application/json")
                        .header("Authorization", "Bearer sk-" + key)
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String key, String path) throws Exception {
        var request = HttpRequest.newBuilder(URI.create(base + path)).GET();
        if (key != null) request.header("Authorization", "Bearer sk-" + key);
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The organization usage of today, grouped by key and model, as the admin key {@code admin} reads it. */
    JsonNode usageToday(String admin) throws Exception {
        long midnight = LocalDate.now(ZoneOffset.UTC).toEpochDay() * 86_400;
        var response = get(
                admin,
                "/v1/organization/usage/completions?start_time=" + midnight + "&group_by=model&group_by=api_key_id");
        if (response.statusCode() != 200) throw new AssertionError(response.statusCode() + " " + response.body());
        return Json.tree(response.body());
    }

    /** The usage the answer of {@code body} (JSON, or an SSE stream whose last data chunk has usage) reports. */
    static Counts reported(HttpResponse<String> response) {
        if (response.statusCode() != 200) throw new AssertionError(response.statusCode() + " " + response.body());
        String body = response.body();
        JsonNode usage = null;
        if (body.startsWith("data:") || body.startsWith(": keep-alive")) {
            for (String line : body.split("\n")) {
                if (!line.startsWith("data: {")) continue;
                JsonNode chunk = Json.tree(line.substring(6));
                if (chunk.hasNonNull("usage")) usage = chunk.get("usage");
            }
        } else {
            usage = Json.tree(body).get("usage");
        }
        if (usage == null) throw new AssertionError("no usage in " + body);
        return Counts.ofRequest(
                usage.get("prompt_tokens").asLong(),
                usage.get("completion_tokens").asLong());
    }

    @Override
    public void close() {
        server.close();
    }
}
