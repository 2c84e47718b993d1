package dev.parley.cli;

import dev.parley.server.ParleyServer;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.KvCacheType;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code parley serve}: the OpenAI-compatible server over a local GGUF model. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = "Serve a GGUF model over an OpenAI-compatible HTTP API (without --model: the bundled demo model).")
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE", description = "GGUF model file (default: the bundled stories260K demo model).")
    Path model;

    @Option(names = "--model-id", paramLabel = "ID", description = "Model id clients use (default: the file's base name).")
    String modelId;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port to listen on; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--parallel", defaultValue = "4", description = "Sequences generated together (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--context", defaultValue = "0", paramLabel = "TOKENS",
            description = "Context per sequence, prompt and answer together; 0: the model's own, capped at 4096.")
    int context;

    @Option(names = "--threads", defaultValue = "1", description = "llama.cpp threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--kv-cache", defaultValue = "f32", paramLabel = "f32|f16",
            description = "KV cache precision: f32 keeps batched and solo answers identical, f16 halves its memory (default: ${DEFAULT-VALUE}).")
    KvCacheType kvCache;

    @Option(names = "--queue", defaultValue = "64", description = "Sequences that may wait for a slot before 503 (default: ${DEFAULT-VALUE}).")
    int queue;

    @Override
    public Integer call() throws InterruptedException {
        var err = spec.commandLine().getErr();
        Path path = model == null ? DemoModel.path() : model;
        if (!Files.isRegularFile(path)) {
            err.println("parley serve: no model file at " + path);
            return 1;
        }
        // The bundled model is unpacked to a temporary file; its id stays its own name.
        String id = modelId == null && model == null ? DemoModel.ID : modelId;
        var options = new LlamaEngineOptions(path, id, parallel, context, threads, kvCache, queue);
        ParleyServer server;
        try {
            server = ParleyServer.start(LlamaEngine.open(options), host, port);
        } catch (RuntimeException e) {
            err.println("parley serve: " + e.getMessage());
            return 1;
        }
        var out = spec.commandLine().getOut();
        out.printf("Serving %s at %s (no API keys: loopback use only)%n", options.id(), server.baseUrl(host));
        out.flush();
        var stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }
}
