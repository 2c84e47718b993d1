package dev.parley.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.testkit.GgufVocabulary;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Test helper: a GGUF model served on loopback by a real server (2 sequences), with plain HTTP to it; and the
 * test resources written models are made of (real vocabularies, published chat templates).
 */
record Served(ParleyServer server, Loopback loopback, Path model) implements AutoCloseable {

    static Served of(Path model, String id, int contextPerSequence) {
        return of(model, id, contextPerSequence, 0);
    }

    /** As {@link #of(Path, String, int)}, with a prompt cache of {@code cacheMb} ({@code --cache-ram}). */
    static Served of(Path model, String id, int contextPerSequence, int cacheMb) {
        var server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(model)
                        .withModelId(id)
                        .withParallel(2)
                        .withContextPerSequence(contextPerSequence)
                        .withCacheMb(cacheMb)),
                "127.0.0.1",
                0);
        return new Served(server, Loopback.to(server), model);
    }

    /** The demo model, served as {@code demo}. */
    static Served demo(int contextPerSequence) {
        return of(DemoModel.path(), "demo", contextPerSequence);
    }

    /** OpenAI's own Java SDK pointed at this server, without retries; the caller closes it. */
    OpenAIClient sdk() {
        return OpenAIOkHttpClient.builder()
                .baseUrl(server.baseUrl("127.0.0.1"))
                .apiKey("not-needed")
                .maxRetries(0)
                .build();
    }

    @Override
    public void close() {
        loopback.close();
        server.close();
    }

    /** A real tokenizer from {@code vocab/} (see its README). */
    static GgufVocabulary vocabulary(String file) {
        try (InputStream in = resource("vocab/" + file)) {
            return GgufVocabulary.read(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A published chat template from {@code engine/template/templates/}. */
    static String template(String file) {
        try (InputStream in = resource("engine/template/templates/" + file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InputStream resource(String name) {
        InputStream in = Served.class.getResourceAsStream(name);
        if (in == null) throw new IllegalStateException("no test resource " + name);
        return in;
    }
}
