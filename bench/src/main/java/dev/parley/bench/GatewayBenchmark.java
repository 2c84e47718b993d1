package dev.parley.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.parley.client.ClientOptions;
import dev.parley.server.ParleyServer;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.engine.proxy.ProxyEngine;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

/**
 * What the gateway adds to a request: the same requests sent straight to an upstream and through a Parley server
 * relaying to it ({@code --upstream}, behind a key with limits, so admission and settlement are counted), at 1 and
 * at 64 concurrent callers, whole answers and streams. Not a test: it prints numbers.
 *
 * <p>The upstream is a minimal OpenAI-compatible server in this process that answers at once (a fixed chat
 * completion, or a stream of {@code --chunks} chunks, a usage chunk and {@code [DONE]}), so what is measured is the
 * gateway and not a model; at 64 callers on a small machine that measures how much CPU the gateway takes per request,
 * since every caller waits for the cores. Then the same with an upstream paced like a model ({@code --token-ms} per
 * token), what a caller of a real fleet waits for: once with the 64 callers starting together, so that their
 * requests arrive (and their answers return) in bursts of 64 that queue for the cores as at once; once with their
 * starts spread over one answer's time, so that 64 answers are in flight but arrive at their own times, as the
 * callers of a fleet do. The paced upstream writes each token at its own time from the request's start, as a model
 * on another machine does, so a token it writes late because this machine's cores were busy does not put off the
 * rest. Every answer and chunk carries the times the upstream began to handle its request and wrote it (in {@code
 * system_fingerprint}, which the gateway passes on unchanged), so a request's time splits where its caller reads
 * them: out (sent to the upstream's handler), each chunk's transit, back (the upstream's last write to the answer's
 * end). Rounds alternate direct and gateway; it prints the median and 99th percentile of each, the median added per
 * request, out and back, for streams the median transit of a chunk each way and the median added, and the CPU time
 * (all of this process's threads) the gateway rounds took per request beyond the direct ones: the gateway's own
 * cost, which is what 64 callers on 2 cores queue for.
 *
 * <pre>
 * ./mvnw -B -q -Pbench -pl bench -am package -DskipTests
 * java -cp bench/target/benchmarks.jar dev.parley.bench.GatewayBenchmark [--requests 400] [--chunks 64] [--rounds 3]
 *     [--token-ms 5] [--paced-requests 30] [--tables instant,paced,spread]
 *     [--upstream-port 18080 --reference http://127.0.0.1:18081/v1[,URL...] [--reference-pids PID[,PID...]]]
 * </pre>
 *
 * <p>{@code --reference} measures other proxies in the same rounds (ones the caller starts, relaying to the
 * upstream on {@code --upstream-port}: nginx as a plain reverse proxy, say, or a {@code parley serve} of another
 * build), so the gateway's figures can be read beside what any proxy costs on the same machine; with their process
 * ids, their CPU time per request too. {@code --tables} picks the tables to print; the
 * instant upstream's warm-up runs first either way.
 */
public final class GatewayBenchmark {
    private static final String KEY = "sk-bench";
    private static final String ANSWER = """
            {"id":"chatcmpl-b","object":"chat.completion","created":1,"model":"bench","choices":[{"index":0,\
            "message":{"role":"assistant","content":"Once upon a time there was a benchmark."},"finish_reason":"stop"}],\
            "usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}""";
    private static final String MODELS =
            "{\"object\":\"list\",\"data\":[{\"id\":\"bench\",\"object\":\"model\",\"created\":1,\"owned_by\":\"bench\"}]}";

    private final HttpClient http = HttpClient.newBuilder()
            .executor(Executors.newVirtualThreadPerTaskExecutor())
            .build();

    public static void main(String[] args) throws Exception {
        int requests = intArg(args, "--requests", 400);
        int chunks = intArg(args, "--chunks", 64);
        int rounds = intArg(args, "--rounds", 3);
        int tokenMillis = intArg(args, "--token-ms", 5);
        int pacedRequests = intArg(args, "--paced-requests", 30);
        int upstreamPort = intArg(args, "--upstream-port", 0);
        var references = new References(
                listArg(args, "--reference"),
                listArg(args, "--reference-pids").stream().map(Long::parseLong).toList());
        List<String> tables =
                List.of(stringArg(args, "--tables", "instant,paced,spread").split(","));
        Path keys = Files.createTempFile("parley-bench-keys", ".yaml");
        Files.delete(keys);
        KeysFile.add(keys, new KeyEntry("bench", KeysFile.sha256(KEY), 1L << 40, 1L << 40, null, null, List.of()));
        try {
            // The instant upstream's load is what warms the gateway's code up: a paced table's warm-up passes spend
            // so little of their time compiling that they end with much of it still unoptimised (seen: a paced
            // table run alone read 4-5 times the added time it reads after the instant table).
            boolean instant = tables.contains("instant");
            if (instant)
                System.out.printf(
                        "%nAn upstream that answers at once: the gateway's own cost, all callers on 2 shared cores%n");
            compare(keys, chunks, 0, false, instant ? rounds : 0, requests, requests, upstreamPort, references);
            if (tables.contains("paced")) {
                System.out.printf(
                        "%nAn upstream paced like a model, %d ms a token (a stream's chunks %d ms apart, a whole answer"
                                + " after %d ms): what a caller waits for%n",
                        tokenMillis, tokenMillis, tokenMillis * chunks);
                compare(keys, chunks, tokenMillis, false, rounds, pacedRequests, 4 * 64, upstreamPort, references);
            }
            if (tables.contains("spread")) {
                System.out.printf(
                        "%nThe same, the 64 callers' first requests spread over one answer's time (%d ms) instead of sent"
                                + " in the same instant: 64 answers in flight, as callers arriving at their own times"
                                + " keep them%n",
                        tokenMillis * (chunks + 1));
                compare(keys, chunks, tokenMillis, true, rounds, pacedRequests, 8 * 64, upstreamPort, references);
            }
        } finally {
            Files.deleteIfExists(keys);
        }
    }

    /**
     * One table: the same requests straight to an upstream and through a gateway relaying to it, rounds alternating;
     * {@code requests} in all for one caller, {@code crowd} for 64.
     */
    private static void compare(
            Path keys,
            int chunks,
            int tokenMillis,
            boolean spread,
            int rounds,
            int requests,
            int crowd,
            int upstreamPort,
            References references)
            throws Exception {
        HttpServer upstream = upstream(chunks, tokenMillis, upstreamPort);
        String direct = "http://127.0.0.1:" + upstream.getAddress().getPort() + "/v1";
        ProxyEngine proxy = ProxyEngine.connect(
                ClientOptions.builder(name -> null)
                        .baseUrl(direct)
                        .apiKey("upstream")
                        .build(),
                List.of());
        try (ParleyServer gateway = ParleyServer.start(
                proxy,
                ApiKeys.load(keys),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0)) {
            String through = gateway.baseUrl("127.0.0.1");
            var bench = new GatewayBenchmark();
            bench.warmUp(direct, through, tokenMillis == 0 ? 256 : 64);
            for (String reference : references.urls()) bench.warmUp(direct, reference, tokenMillis == 0 ? 256 : 64);
            if (rounds == 0) return; // a warm-up alone
            System.out.printf(
                    "%-8s %-7s %18s %18s %12s %11s %18s %12s %11s %11s%s%n",
                    "callers",
                    "answer",
                    "direct p50/p99 ms",
                    "gateway p50/p99 ms",
                    "added p50",
                    "out added",
                    "chunk p50 d/g ms",
                    "chunk added",
                    "back added",
                    "CPU added",
                    references.urls().stream()
                            .map(r -> "  reference p50/p99 ms  added p50  chunk added"
                                    + (references.withCpu() ? "  CPU/request" : ""))
                            .collect(Collectors.joining()));
            long spreadNanos = spread ? tokenMillis * (chunks + 1) * 1_000_000L : 0; // one paced stream's time
            for (boolean stream : new boolean[] {false, true}) {
                for (int callers : spread ? new int[] {64} : new int[] {1, 64}) {
                    int count = callers == 1 ? requests : crowd;
                    Run[] direct_ = new Run[rounds];
                    Run[] gateway_ = new Run[rounds];
                    Run[][] reference_ = new Run[references.urls().size()][rounds];
                    long[] referenceCpu = new long[references.urls().size()]; // each one's process CPU, all rounds
                    long cpuAdded = 0; // CPU time of the gateway rounds beyond the direct ones
                    for (int round = 0; round < rounds; round++) {
                        direct_[round] = bench.run(direct, stream, callers, count, spreadNanos);
                        cpuAdded -= bench.lastCpuNanos;
                        gateway_[round] = bench.run(through, stream, callers, count, spreadNanos);
                        cpuAdded += bench.lastCpuNanos;
                        for (int i = 0; i < reference_.length; i++) {
                            long before = references.cpuNanos(i);
                            reference_[i][round] =
                                    bench.run(references.urls().get(i), stream, callers, count, spreadNanos);
                            referenceCpu[i] += references.cpuNanos(i) - before;
                        }
                    }
                    Run d = merged(direct_);
                    Run g = merged(gateway_);
                    System.out.printf(
                            "%-8d %-7s %8.3f / %7.3f %8.3f / %7.3f %9.3f ms %8.3f ms %18s %12s %8.3f ms %8.3f ms%s%n",
                            callers,
                            stream ? "stream" : "whole",
                            percentile(d.requests(), 50) / 1e6,
                            percentile(d.requests(), 99) / 1e6,
                            percentile(g.requests(), 50) / 1e6,
                            percentile(g.requests(), 99) / 1e6,
                            added(g.requests(), d.requests()),
                            added(g.out(), d.out()),
                            stream
                                    ? "%7.3f / %7.3f"
                                            .formatted(
                                                    percentile(d.chunks(), 50) / 1e6, percentile(g.chunks(), 50) / 1e6)
                                    : "",
                            stream ? "%9.3f ms".formatted(added(g.chunks(), d.chunks())) : "",
                            added(g.back(), d.back()),
                            cpuAdded / 1e6 / ((long) rounds * count),
                            referenceColumns(reference_, referenceCpu, references.withCpu(), d, rounds * count));
                }
            }
        } finally {
            upstream.stop(0);
        }
    }

    /**
     * Each reference's p50 / p99, its added p50 a request and a streamed chunk, and (with its process id) its CPU
     * time per request.
     */
    private static String referenceColumns(
            Run[][] rounds, long[] cpuNanos, boolean withCpu, Run direct, long requests) {
        StringBuilder columns = new StringBuilder();
        for (int i = 0; i < rounds.length; i++) {
            Run r = merged(rounds[i]);
            columns.append("  %8.3f / %7.3f %9.3f ms %9s"
                    .formatted(
                            percentile(r.requests(), 50) / 1e6,
                            percentile(r.requests(), 99) / 1e6,
                            added(r.requests(), direct.requests()),
                            r.chunks().length == 0 ? "" : "%6.3f ms".formatted(added(r.chunks(), direct.chunks()))));
            if (withCpu) columns.append("  %8.3f ms".formatted(cpuNanos[i] / 1e6 / requests));
        }
        return columns.toString();
    }

    /** Other proxies measured in the same rounds, and their process ids (none, or one each) for their CPU time. */
    private record References(List<String> urls, List<Long> pids) {
        References {
            if (!pids.isEmpty() && pids.size() != urls.size())
                throw new IllegalArgumentException("--reference-pids needs a process id for each --reference");
        }

        boolean withCpu() {
            return !pids.isEmpty();
        }

        /** Reference {@code i}'s process CPU time so far, all its threads; 0 without process ids. */
        long cpuNanos(int i) {
            if (!withCpu()) return 0;
            return ProcessHandle.of(pids.get(i))
                    .flatMap(process -> process.info().totalCpuDuration())
                    .orElseThrow(() -> new IllegalStateException("no CPU time for process " + pids.get(i)))
                    .toNanos();
        }
    }

    private long lastCpuNanos; // the process's CPU time (all threads) over the last run

    /** This process's CPU time so far, all its threads. */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /**
     * Runs every shape, direct and through the gateway, until a whole pass leaves the JIT compilers nearly idle
     * (under 2% of its time spent compiling): the gateway's code is far larger than the upstream's, and a C2
     * compiler still busy during the rounds takes one of the machine's cores from the gateway alone (seen: a third
     * of the CPU for 30 s after a 200-request warm-up).
     */
    private void warmUp(String direct, String through, int requests) throws InterruptedException {
        CompilationMXBean compiler = ManagementFactory.getCompilationMXBean();
        for (int pass = 1; pass <= 30; pass++) {
            long compiling = compiler.getTotalCompilationTime();
            long started = System.nanoTime();
            for (boolean stream : new boolean[] {false, true}) {
                for (int callers : new int[] {1, 64}) {
                    run(direct, stream, callers, requests, 0);
                    run(through, stream, callers, requests, 0);
                }
            }
            double elapsed = (System.nanoTime() - started) / 1e6;
            double share = (compiler.getTotalCompilationTime() - compiling) / elapsed;
            if (share < 0.02) {
                System.out.printf("warmed up after %d passes (%.1f%% compiling in the last)%n", pass, share * 100);
                return;
            }
        }
        System.out.println("warning: the JIT compilers were still busy after 30 warm-up passes");
    }

    /**
     * What one run measured, each sorted: every request's time; every request's time from its sending to its upstream
     * handler's start ({@code out}); every streamed chunk's time from the upstream writing it to its caller reading
     * it; every answer's time from the upstream's last write to its caller reading its end ({@code back}).
     */
    private record Run(long[] requests, long[] out, long[] chunks, long[] back) {}

    /**
     * Marks the stamp in an answer's or a chunk's {@code system_fingerprint}: {@code fp_START_WRITTEN}, the times
     * ({@code System.nanoTime()}) at which the upstream began to handle the request and wrote that answer or chunk.
     */
    private static final String STAMP = "fp_";

    private static final byte[] STAMP_KEY = ("\"system_fingerprint\":\"" + STAMP).getBytes(StandardCharsets.US_ASCII);

    /** One caller's measurements from its answers' stamps, added to as they are read. */
    private static final class Transits {
        final LongStream.Builder out = LongStream.builder();
        final LongStream.Builder chunks = LongStream.builder();
        final LongStream.Builder back = LongStream.builder();
    }

    /**
     * Sends {@code requests} requests from {@code callers} concurrent callers, each waiting for its answer before
     * the next, caller {@code c} starting {@code c / callers} of {@code spreadNanos} after the first; measures each
     * request's time from sending to the answer's last byte, and from the stamps in its answer (both ends are in
     * this process, so their clocks are one) the times its parts took on the way.
     */
    private Run run(String base, boolean stream, int callers, int requests, long spreadNanos)
            throws InterruptedException {
        String body = "{\"model\":\"bench\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                + "\"max_tokens\":64,\"stream\":" + stream
                // The usage chunk, which the upstream always sends, is the stream's last stamp either way.
                + (stream ? ",\"stream_options\":{\"include_usage\":true}}" : "}");
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/chat/completions"))
                .header("Authorization", "Bearer " + KEY)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        long[] times = new long[requests];
        Transits[] transits = new Transits[callers];
        long cpuBefore = processCpuNanos();
        var done = new CountDownLatch(callers);
        var failures = new ArrayList<String>();
        for (int c = 0; c < callers; c++) {
            int caller = c;
            transits[caller] = new Transits();
            Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(java.time.Duration.ofNanos(spreadNanos * caller / callers));
                    for (int i = caller; i < requests; i += callers) {
                        long start = System.nanoTime();
                        HttpResponse<InputStream> response =
                                http.send(request, HttpResponse.BodyHandlers.ofInputStream());
                        try (InputStream in = response.body()) {
                            if (response.statusCode() == 200) {
                                readStamped(in, start, stream, transits[caller]);
                            } else {
                                String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                                synchronized (failures) {
                                    failures.add(response.statusCode() + " " + answer);
                                }
                            }
                        }
                        times[i] = System.nanoTime() - start;
                    }
                } catch (IOException | InterruptedException e) {
                    synchronized (failures) {
                        failures.add(e.toString());
                    }
                } finally {
                    done.countDown();
                }
            });
        }
        done.await();
        lastCpuNanos = processCpuNanos() - cpuBefore;
        if (!failures.isEmpty()) throw new IllegalStateException(failures.size() + " failed: " + failures.getFirst());
        Arrays.sort(times);
        return new Run(
                times,
                merged(transits, t -> t.out.build().toArray()),
                merged(transits, t -> t.chunks.build().toArray()),
                merged(transits, t -> t.back.build().toArray()));
    }

    /**
     * Reads an answer to its end, adding to {@code transits} the time from {@code sent} to the upstream handler's
     * start, each streamed chunk's time from its writing to the read that brought its stamp, and the time from the
     * last stamp's writing to the answer's end.
     */
    private static void readStamped(InputStream in, long sent, boolean stream, Transits transits) throws IOException {
        byte[] buffer = new byte[16 * 1024];
        int kept = 0; // bytes at the buffer's start that may begin a stamp cut by the last read
        boolean stamped = false; // a stamp has been read
        long written = 0; // the last stamp's time of writing
        for (int read; (read = in.read(buffer, kept, buffer.length - kept)) >= 0; ) {
            long now = System.nanoTime();
            int end = kept + read;
            int from = 0;
            for (int at; (at = indexOf(buffer, STAMP_KEY, from, end)) >= 0; ) {
                int digits = at + STAMP_KEY.length;
                int quote = digits;
                while (quote < end && buffer[quote] != '"') quote++;
                if (quote == end) break; // the stamp's end has not arrived yet
                String[] times = new String(buffer, digits, quote - digits, StandardCharsets.US_ASCII).split("_");
                if (!stamped) transits.out.add(Long.parseLong(times[0]) - sent);
                stamped = true;
                written = Long.parseLong(times[1]);
                if (stream) transits.chunks.add(now - written);
                from = quote;
            }
            kept = Math.min(end - from, STAMP_KEY.length + 48);
            System.arraycopy(buffer, end - kept, buffer, 0, kept);
        }
        if (stamped) transits.back.add(System.nanoTime() - written);
    }

    private static int indexOf(byte[] bytes, byte[] key, int from, int end) {
        outer:
        for (int i = from; i + key.length <= end; i++) {
            for (int j = 0; j < key.length; j++) if (bytes[i + j] != key[j]) continue outer;
            return i;
        }
        return -1;
    }

    /**
     * An upstream serving the model list, a chat completion, or a stream of chunks: at once, or paced like a model
     * writing a token every {@code tokenMillis} (a whole answer after all its tokens).
     */
    private static HttpServer upstream(int chunks, int tokenMillis, int port) throws IOException {
        // The JDK's server leaves Nagle's algorithm on unless told: each small event would wait up to 40 ms for the
        // caller's delayed acknowledgement, in the direct rounds as much as through the gateway.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        List<String[]> events = new ArrayList<>(); // each event's text before and after its stamp
        for (int i = 0; i < chunks; i++) {
            events.add(new String[] {
                "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                        + "\"model\":\"bench\",\"system_fingerprint\":\"" + STAMP,
                "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok" + i + "\"},\"finish_reason\":null}]}\n\n"
            });
        }
        events.add(new String[] {
            "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                    + "\"model\":\"bench\",\"system_fingerprint\":\"" + STAMP,
            "\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":" + chunks + ",\"total_tokens\":"
                    + (12 + chunks) + "}}\n\ndata: [DONE]\n\n"
        });
        int choices = ANSWER.indexOf("\"choices\"");
        String[] whole = { // the answer before and after its stamp
            ANSWER.substring(0, choices) + "\"system_fingerprint\":\"" + STAMP, "\"," + ANSWER.substring(choices)
        };
        byte[] models = MODELS.getBytes(StandardCharsets.UTF_8);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 256);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/models", exchange -> reply(exchange, "application/json", models));
        server.createContext("/v1/chat/completions", exchange -> {
            long start = System.nanoTime();
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            long tokenNanos = tokenMillis * 1_000_000L;
            if (!new String(body, StandardCharsets.UTF_8).contains("\"stream\":true")) {
                pauseUntil(start + tokenNanos * chunks);
                reply(
                        exchange,
                        "application/json",
                        (whole[0] + start + "_" + System.nanoTime() + whole[1]).getBytes(StandardCharsets.UTF_8));
                return;
            }
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            try (OutputStream out = exchange.getResponseBody()) {
                // Each token at its own time from the start, as a model on another machine writes them: a token
                // written late here (this machine's cores busy) does not put off the ones after it.
                for (int i = 0; i < events.size(); i++) {
                    if (tokenNanos > 0) pauseUntil(start + tokenNanos * (i + 1));
                    String[] event = events.get(i);
                    out.write((event[0] + start + "_" + System.nanoTime() + event[1]).getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            }
        });
        server.start();
        return server;
    }

    private static void pauseUntil(long nanoTime) {
        long wait = nanoTime - System.nanoTime();
        if (wait <= 0) return;
        try {
            Thread.sleep(java.time.Duration.ofNanos(wait));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void reply(HttpExchange exchange, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** How much later than {@code direct}'s median {@code through}'s median is, in milliseconds. */
    private static double added(long[] through, long[] direct) {
        return (percentile(through, 50) - percentile(direct, 50)) / 1e6;
    }

    private static Run merged(Run[] rounds) {
        return new Run(
                merged(rounds, Run::requests),
                merged(rounds, Run::out),
                merged(rounds, Run::chunks),
                merged(rounds, Run::back));
    }

    /** One part of every one of {@code wholes}, in one sorted array. */
    private static <T> long[] merged(T[] wholes, Function<T, long[]> part) {
        long[] all =
                Arrays.stream(wholes).map(part).flatMapToLong(Arrays::stream).toArray();
        Arrays.sort(all);
        return all;
    }

    private static double percentile(long[] sorted, int percent) {
        int index = (int) Math.ceil(percent / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    /** A comma-separated list, empty when the option is absent. */
    private static List<String> listArg(String[] args, String name) {
        String value = stringArg(args, name, null);
        return value == null ? List.of() : List.of(value.split(","));
    }

    private static String stringArg(String[] args, String name, String fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) return args[i + 1];
        }
        return fallback;
    }

    static int intArg(String[] args, String name, int fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) return Integer.parseInt(args[i + 1]);
        }
        return fallback;
    }
}
