package dev.parley.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.Json;
import dev.parley.api.check.RequestReader;
import dev.parley.server.ParleyServer;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.llama.KvCacheType;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Throughput of {@code parley serve} under concurrent streams, against the same requests served one after
 * another, and the HTTP layer's own cost per request. Not a test: it prints numbers.
 *
 * <p>It writes a random-weight model of a 135M-parameter Llama's shape (dim 576, 30 layers, 9 heads, 3 KV
 * heads, FFN 1536, 49152 tokens, Q8_0) with the testkit's GgufWriter, starts the real server on loopback,
 * and for 1, 4 and 8 concurrent greedy streams of {@code --tokens} tokens reports aggregate tokens per
 * second, side by side with the same requests sent one by one. Then it times a {@code max_tokens=1}
 * request through HTTP and the same request straight through the engine, and reports the medians'
 * difference.
 *
 * <pre>
 * ./mvnw -B -q -Pbench -pl bench -am package -DskipTests
 * java --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar dev.parley.bench.ServeBenchmark [--tokens 64] [--threads 1] [--model FILE]
 * </pre>
 */
public final class ServeBenchmark {
    private final HttpClient http = HttpClient.newHttpClient();
    private final String base;
    private final int tokens;

    private ServeBenchmark(String base, int tokens) {
        this.base = base;
        this.tokens = tokens;
    }

    public static void main(String[] args) throws Exception {
        int tokens = intArg(args, "--tokens", 64);
        int threads = intArg(args, "--threads", 1);
        int overheadRuns = intArg(args, "--overhead-runs", 41);
        Path model = BenchModel.fromArgs(args);
        var options = LlamaEngineOptions.of(model)
                .withModelId("bench")
                .withParallel(8)
                .withContextPerSequence(256)
                .withThreads(threads)
                .withKvCache(KvCacheType.F32)
                .withQueue(64);
        long opened = System.nanoTime();
        Engine engine = LlamaEngine.open(options);
        System.out.printf(
                "engine open (load; decode costs calibrate once the server listens and the scheduler is idle): %.1f s%n",
                (System.nanoTime() - opened) / 1e9);
        try (ParleyServer server = ParleyServer.start(engine, "127.0.0.1", 0)) {
            var bench = new ServeBenchmark("http://127.0.0.1:" + server.port(), tokens);
            bench.stream(BenchModel.PROMPTS.getFirst()); // warm-up: JIT, HTTP connection
            System.out.printf("%n%-8s %16s %16s %8s%n", "streams", "concurrent tok/s", "one-by-one tok/s", "ratio");
            for (int streams : new int[] {1, 4, 8}) {
                List<String> prompts = BenchModel.PROMPTS.subList(0, streams);
                double sequential = bench.sequential(prompts);
                double concurrent = bench.concurrent(prompts);
                System.out.printf(
                        "%-8d %16.1f %16.1f %7.2fx%n", streams, concurrent, sequential, concurrent / sequential);
            }
            bench.overhead(engine, overheadRuns);
        }
    }

    /** Tokens per second serving every prompt in turn. */
    private double sequential(List<String> prompts) throws Exception {
        long start = System.nanoTime();
        int total = 0;
        for (String prompt : prompts) total += stream(prompt);
        return total / ((System.nanoTime() - start) / 1e9);
    }

    /** Tokens per second serving every prompt at once, one stream each. */
    private double concurrent(List<String> prompts) throws Exception {
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            long start = System.nanoTime();
            List<Future<Integer>> streams = new ArrayList<>();
            for (String prompt : prompts) streams.add(pool.submit(() -> stream(prompt)));
            int total = 0;
            for (Future<Integer> stream : streams) total += stream.get();
            return total / ((System.nanoTime() - start) / 1e9);
        }
    }

    /** Streams one greedy answer of up to {@link #tokens} tokens; returns its completion tokens (from the usage chunk). */
    private int stream(String prompt) throws Exception {
        String body = request(prompt, tokens, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
        var response = http.send(post(body), HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) throw new IllegalStateException("HTTP " + response.statusCode());
        int completion = -1;
        for (String line : (Iterable<String>) response.body()::iterator) {
            if (!line.startsWith("data: {")) continue;
            JsonNode usage = Json.tree(line.substring(6)).path("usage");
            if (usage.isObject()) completion = usage.path("completion_tokens").asInt();
        }
        if (completion < 0) throw new IllegalStateException("the stream had no usage chunk");
        return completion;
    }

    /** Median time of a max_tokens=1 request through HTTP minus the same straight through the engine. */
    private void overhead(Engine engine, int runs) throws Exception {
        String body = request(BenchModel.PROMPTS.getFirst(), 1, "");
        ChatCompletionRequest direct = RequestReader.chat(body.getBytes(StandardCharsets.UTF_8));
        long[] viaHttp = new long[runs];
        long[] viaEngine = new long[runs];
        for (int i = 0; i < runs; i++) { // interleaved, so that drift in the machine's load hits both alike
            long start = System.nanoTime();
            var response = http.send(post(body), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) throw new IllegalStateException("HTTP " + response.statusCode());
            viaHttp[i] = System.nanoTime() - start;
            start = System.nanoTime();
            try (Generation generation = engine.chat(direct).start()) {
                while (generation.next() != null) {
                    // drain
                }
            }
            viaEngine[i] = System.nanoTime() - start;
        }
        double http = median(viaHttp) / 1e6;
        double local = median(viaEngine) / 1e6;
        System.out.printf(
                "%nmax_tokens=1, median of %d: through HTTP %.2f ms, through the engine %.2f ms, HTTP layer %.2f ms%n",
                runs, http, local, http - local);
    }

    private String request(String prompt, int maxTokens, String extra) {
        return "{\"model\":\"bench\",\"messages\":[{\"role\":\"user\",\"content\":" + Json.write(prompt)
                + "}],\"temperature\":0,\"max_tokens\":" + maxTokens + extra + "}";
    }

    private HttpRequest post(String body) {
        return HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    private static double median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static int intArg(String[] args, String name, int fallback) {
        for (int i = 0; i + 1 < args.length; i++) if (args[i].equals(name)) return Integer.parseInt(args[i + 1]);
        return fallback;
    }
}
