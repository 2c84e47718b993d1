package dev.parley.bench;

import dev.parley.bench.StreamClient.Mode;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.ChatTurn;
import dev.parley.server.engine.llama.ContextOptions;
import dev.parley.server.engine.llama.KvCacheType;
import dev.parley.server.engine.llama.LlamaModel;
import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code parley serve} costs over the llama.cpp library it runs, and over llama.cpp's own server. Not a
 * test: it prints numbers. One run prints:
 *
 * <ol>
 *   <li>aggregate generated tokens/s of 1, 4, 8 and 16 concurrent streams, greedy and sampling
 *       (temperature 1, seeded), at 1 and 2 llama.cpp threads, through a real {@code parley serve} on
 *       loopback; beside each, the same number of tokens decoded straight through the binding (one token
 *       per sequence per step, argmax over the logits, no HTTP, no sampler), and the ratio of the two;
 *   <li>time to first token on an idle server (request sent to first chunk with text, p50 of
 *       {@code --ttft-runs}) beside the library reading the same prompt tokens (less those the server kept from an
 *       earlier request, as its usage reports them cached: the same decoding) and choosing the first one, and the
 *       overhead: the median (p10–p90) of the two's difference run by run; and Parley's time less the
 *       decodes its engine ran for the request (from its {@code /metrics}), which is what serving it cost besides
 *       the model, without the run-to-run spread of a decode's own time (llama-server's likewise, less the
 *       {@code prompt_ms} it reports);
 *   <li>conversations taking turns: later turns' time to first token, the share of their prompt tokens the server
 *       kept from the conversation's last turn, and the library reading each whole prompt;
 *   <li>new conversations after a system prompt that only a running answer holds: their time to first token and the
 *       share of their prompt tokens the server kept, beside the library reading each whole prompt;
 *   <li>the server's resident memory after the runs beside model file + KV cache, and the time from
 *       process start to the first {@code /health} 200 serving the bundled demo model, with the processor time
 *       the process had used by then, and a second later the time of its first request and of the next;
 *   <li>with {@code --llama-server PATH}, the same rounds and measurements against llama.cpp's
 *       {@code llama-server}, and Parley/llama-server ratios. It is started with Parley's settings: the same
 *       slots, cells, threads and KV cache type, a cache per slot (llama-server's default too), no flash
 *       attention, no prompt reuse.
 *       It keeps its host-memory cache of finished slots ({@code --cache-ram}, up to 8 GiB), which Parley
 *       does not have: that grows its RSS over a run (by about 450 MB here; with {@code -cram 0} it stays
 *       near 400 MB, but its streams were no faster).
 * </ol>
 *
 * <p>The servers are child processes ({@code java -jar cli/target/parley.jar serve}, as the {@code parley}
 * launcher runs it), so their memory and start time are their own; the library loop runs in this JVM with
 * a context of the server's shape. Every measurement is repeated {@code --rounds} times, interleaved
 * (server, library, llama-server, then the next row; the reverse every other round), and reported as median (min–max), since a shared
 * machine drifts; the load average is printed before and after. The model is {@link BenchModel}'s.
 *
 * <pre>
 * ./mvnw -B -q -Pbench -pl bench -am package -DskipTests
 * java --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar dev.parley.bench.EngineBenchmark \
 *     [--tokens 64] [--rounds 3] [--streams 1,4,8,16] [--threads 1,2] [--modes greedy,sampling]
 *     [--parts throughput,ttft,turns,newcomers,memory,start] [--ttft-runs 30] [--start-runs 10] [--context 256]
 *     [--conversations 3] [--cache-ram MB] [--kv-cache f32|f16] [--endpoint completions|chat] [--model FILE] [--parley-jar FILE] [--llama-server PATH]
 * </pre>
 */
public final class EngineBenchmark {

    /** One: the only decodes a time-to-first-token request waits for are then its prompt's. */
    private static final int TTFT_TOKENS = 1;

    private static final int WARM_UP_TOKENS = 8;
    private static final long SEED = 1234;

    private final EngineSettings settings;
    private final LlamaModel library;
    private final Map<Integer, Side> sides = new LinkedHashMap<>(); // by llama.cpp threads
    private final List<ServerProcess> servers = new ArrayList<>(); // stopped at the end, whatever happened
    private final List<DecodeLoop> loops = new ArrayList<>();

    /** Everything measured at one thread count: its servers and library loop. */
    private record Side(
            int threads,
            ServerProcess parley,
            StreamClient parleyClient,
            ServerProcess llamaServer,
            StreamClient llamaServerClient,
            DecodeLoop loop) {}

    private EngineBenchmark(EngineSettings settings, LlamaModel library) {
        this.settings = settings;
        this.library = library;
    }

    public static void main(String[] args) throws Exception {
        EngineSettings settings = EngineSettings.parse(args);
        System.out.printf(
                "%d cores; load average %s; %s%n", Runtime.getRuntime().availableProcessors(), load(), settings);
        Path model = BenchModel.fromArgs(args);
        try (LlamaModel library = LlamaModel.open(model)) {
            var bench = new EngineBenchmark(settings, library);
            try {
                bench.startServers(model);
                if (settings.has("throughput")) bench.throughput();
                if (settings.has("ttft")) bench.timeToFirstToken();
                if (settings.has("turns")) bench.conversationsTakingTurns();
                if (settings.has("newcomers")) bench.newConversations();
                if (settings.has("memory")) bench.memory(model);
            } finally {
                bench.stopServers();
            }
        }
        if (settings.has("start")) startTimes(settings);
        System.out.printf("%nload average at the end: %s%n", load());
    }

    /** A Parley server (and a llama-server) per thread count, one after another, each timed to its first /health 200. */
    private void startServers(Path model) throws Exception {
        int cells = settings.context() * settings.parallel();
        System.out.printf(
                "%nstart to /health 200 with this model (--parallel %d, %d KV cells):%n", settings.parallel(), cells);
        for (int threads : settings.threads()) {
            ServerProcess parley = started(ServerProcess.parley(
                    "parley, %d thread(s)".formatted(threads),
                    settings.parleyJar(),
                    List.of(
                            "--model",
                            model.toString(),
                            "--model-id",
                            "bench",
                            "--parallel",
                            String.valueOf(settings.parallel()),
                            "--context",
                            String.valueOf(settings.context()),
                            "--threads",
                            String.valueOf(threads),
                            "--kv-cache",
                            settings.kvCache().name().toLowerCase(),
                            "--queue",
                            "64",
                            "--cache-ram",
                            String.valueOf(settings.cacheRam()))));
            parley.awaitLine(line -> line.contains("Calibrated decode costs"), Duration.ofMinutes(2));
            ServerProcess llamaServer = null;
            if (settings.llamaServer() != null) {
                String kv = settings.kvCache().name().toLowerCase();
                llamaServer = started(ServerProcess.llamaServer(
                        "llama-server, %d thread(s)".formatted(threads),
                        settings.llamaServer(),
                        List.of(
                                "-m",
                                model.toString(),
                                "-np",
                                String.valueOf(settings.parallel()),
                                "-t",
                                String.valueOf(threads),
                                "-c",
                                String.valueOf(cells),
                                "-ctk",
                                kv,
                                "-ctv",
                                kv,
                                "-fa",
                                "off",
                                "--no-cache-prompt")));
            }
            var loop = new DecodeLoop(
                    library,
                    ContextOptions.defaults()
                            .withContextLength(cells)
                            .withMaxSequences(settings.parallel())
                            .withThreads(threads)
                            .withKvCache(settings.kvCache()));
            loops.add(loop);
            sides.put(
                    threads,
                    new Side(
                            threads,
                            parley,
                            client(parley, false),
                            llamaServer,
                            llamaServer == null ? null : client(llamaServer, true),
                            loop));
        }
    }

    /** Keeps a just-started server to be stopped at the end, and waits for its first /health 200. */
    private ServerProcess started(ServerProcess server) throws InterruptedException {
        servers.add(server);
        System.out.printf(
                "  %-26s %5.2f s%n", server.name(), server.awaitHealthy().toNanos() / 1e9);
        return server;
    }

    private StreamClient client(ServerProcess server, boolean llamaServer) {
        return new StreamClient(server.baseUrl(), "bench", settings.endpoint(), llamaServer);
    }

    /** Part 1: the rounds, interleaved row by row, then the table. */
    private void throughput() throws Exception {
        List<int[]> tokenized =
                prompts(settings.parallel()).stream().map(this::promptTokens).toList();
        for (Side side : sides.values()) { // warm-up: JIT, connections, the scheduler's first cost estimates
            for (Mode mode : settings.modes()) {
                if (side.llamaServerClient() != null) {
                    side.llamaServerClient().concurrent(prompts(settings.parallel()), WARM_UP_TOKENS, mode, SEED);
                }
            }
            warmUp(side, tokenized);
        }
        Map<Row, Cell> cells = new LinkedHashMap<>();
        int endedEarly = 0;
        for (int round = 1; round <= settings.rounds(); round++) {
            for (Side side : sides.values()) {
                for (int streams : settings.streams()) {
                    for (Mode mode : settings.modes()) {
                        Cell cell = cells.computeIfAbsent(new Row(streams, side.threads(), mode), row -> new Cell());
                        endedEarly += measure(side, streams, mode, round, tokenized, cell);
                    }
                }
            }
            System.out.printf("round %d/%d done, load average %s%n", round, settings.rounds(), load());
        }
        printThroughput(cells, endedEarly);
    }

    /**
     * Runs every row of a side, unmeasured, until the JIT compilers are nearly idle ({@link #untilCompiled}).
     * Seen: after one short request per mode, the server's C2 compiler was still busy through the first half of
     * twelve rounds, and those rounds' 2-thread ratios were 0.62–0.75 against 0.93–1.0 after it.
     */
    private void warmUp(Side side, List<int[]> tokenized) throws Exception {
        untilCompiled(side, "throughput", () -> {
            for (int streams : settings.streams()) {
                for (Mode mode : settings.modes()) {
                    side.parleyClient().concurrent(prompts(streams), settings.tokens(), mode, SEED);
                }
                side.loop().generate(tokenized.subList(0, streams), settings.tokens());
            }
        });
    }

    private interface Pass {
        void run() throws Exception;
    }

    /**
     * Repeats an unmeasured pass until one leaves the server's JIT compilers and this JVM's nearly idle (under 2%
     * of the pass's time): on 2 cores a compiler thread still at work takes a core from a 2-thread decode.
     */
    private static void untilCompiled(Side side, String part, Pass pass) throws Exception {
        for (int passes = 1; passes <= WARM_UP_PASSES; passes++) {
            long compiling = compilingNanos(side);
            long started = System.nanoTime();
            pass.run();
            long elapsed = System.nanoTime() - started;
            double share = (compilingNanos(side) - compiling) / (double) elapsed;
            if (share < 0.02) {
                System.out.printf(
                        "%s, %d thread(s): warmed up after %d passes (%.1f%% compiling in the last)%n",
                        part, side.threads(), passes, share * 100);
                return;
            }
        }
        System.out.printf(
                "%s, %d thread(s): warning: the JIT compilers were still busy after %d warm-up passes%n",
                part, side.threads(), WARM_UP_PASSES);
    }

    private static final int WARM_UP_PASSES = 20;

    /** Time the server's compiler threads and this JVM's compilers have taken so far, in nanoseconds. */
    private static long compilingNanos(Side side) {
        CompilationMXBean here = ManagementFactory.getCompilationMXBean();
        return side.parley().compilerNanos() + here.getTotalCompilationTime() * 1_000_000L;
    }

    /**
     * One row of one round; returns how many streams ended before {@code --tokens}. The three are measured in turn,
     * in reverse order every other round: seen with a fixed order, the library's greedy and sampling rows (the same
     * work) differed by 11–16% in every round of a run.
     */
    private int measure(Side side, int streams, Mode mode, int round, List<int[]> tokenized, Cell cell)
            throws Exception {
        List<String> prompts = prompts(streams);
        long seed = SEED + 100L * round;
        StreamClient.Round[] parley = new StreamClient.Round[1];
        StreamClient.Round[] llamaServer = new StreamClient.Round[1];
        double[] library = new double[1];
        List<Pass> turns = new ArrayList<>(List.of(
                () -> parley[0] = side.parleyClient().concurrent(prompts, settings.tokens(), mode, seed),
                () -> library[0] = streams
                        * settings.tokens()
                        / (side.loop().generate(tokenized.subList(0, streams), settings.tokens()) / 1e9)));
        if (side.llamaServerClient() != null) {
            turns.add(
                    () -> llamaServer[0] = side.llamaServerClient().concurrent(prompts, settings.tokens(), mode, seed));
        }
        if (round % 2 == 0) Collections.reverse(turns);
        for (Pass turn : turns) turn.run();
        double served = parley[0].tokensPerSecond();
        cell.parley.add(served);
        cell.library.add(library[0]);
        cell.ratio.add(served / library[0]);
        cell.stepOverhead.add((streams / served - streams / library[0]) * 1e3);
        int endedEarly = parley[0].endedEarly();
        String progress = "  round %d, %2d streams, %d thread(s), %-8s: parley %6.1f, library %6.1f"
                .formatted(round, streams, side.threads(), mode.label(), served, library[0]);
        if (llamaServer[0] != null) {
            cell.llamaServer.add(llamaServer[0].tokensPerSecond());
            cell.nativeRatio.add(served / llamaServer[0].tokensPerSecond());
            endedEarly += llamaServer[0].endedEarly();
            progress += ", llama-server %6.1f".formatted(llamaServer[0].tokensPerSecond());
        }
        System.out.println(progress + " tok/s");
        return endedEarly;
    }

    private record Row(int streams, int threads, Mode mode) {}

    /** One row's measurements over the rounds; ratios are taken per round, of measurements made side by side. */
    private static final class Cell {
        final Samples parley = new Samples();
        final Samples library = new Samples();
        final Samples ratio = new Samples();
        final Samples stepOverhead = new Samples(); // ms per step (one token of every stream) the server adds
        final Samples llamaServer = new Samples();
        final Samples nativeRatio = new Samples();
    }

    private void printThroughput(Map<Row, Cell> cells, int endedEarly) {
        boolean withNative = settings.llamaServer() != null;
        System.out.printf(
                "%nAggregate generated tokens/s, %d tokens per stream, median (min–max) of %d rounds;"
                        + " ratio = parley / library per round; +ms/step = time per step (one token of every stream) the server adds%n",
                settings.tokens(), settings.rounds());
        String header = "%-7s | %-7s | %-8s | %-22s | %-22s | %-19s | %-19s"
                .formatted("streams", "threads", "mode", "parley tok/s", "library tok/s", "ratio", "+ms/step");
        if (withNative) header += " | %-22s | %-19s".formatted("llama-server tok/s", "parley/llama-server");
        System.out.println(header);
        System.out.println("-".repeat(header.length()));
        cells.forEach((row, cell) -> {
            String line = "%-7d | %-7d | %-8s | %-22s | %-22s | %-19s | %-19s"
                    .formatted(
                            row.streams(),
                            row.threads(),
                            row.mode().label(),
                            cell.parley.summary("%.1f"),
                            cell.library.summary("%.1f"),
                            cell.ratio.summary("%.2f"),
                            cell.stepOverhead.summary("%.1f"));
            if (withNative)
                line += " | %-22s | %-19s"
                        .formatted(cell.llamaServer.summary("%.1f"), cell.nativeRatio.summary("%.2f"));
            System.out.println(line);
        });
        if (endedEarly > 0)
            System.out.printf(
                    "(%d streams ended before %d tokens; their tokens are counted as generated)%n",
                    endedEarly, settings.tokens());
    }

    /**
     * Part 2: TTFT on the idle servers beside the library's prefill + first token, interleaved run by run: once with
     * the same prompt every run (a server that keeps a slot's cells reads only its last token), once with a prompt
     * that differs from its first word on (little to reuse: a slot may still hold the same opening words from an
     * earlier run). The library reads what the server read, so the overhead is the server's alone.
     */
    private void timeToFirstToken() throws Exception {
        timeToFirstToken(false);
        timeToFirstToken(true);
    }

    /**
     * Unmeasured runs first, in passes of this many, until the JIT compilers are nearly idle
     * ({@link #untilCompiled}): seen, 5 warm-up runs left 3–4 ms of compiling in the 2-thread fresh-prompt median,
     * 200 runs 1.7 ms.
     */
    private static final int TTFT_WARM_UP = 20;

    /**
     * Short requests before the first TTFT table. Once the compilers are idle, code run once a request has still not
     * run often enough to be compiled at the top tier (the JIT's threshold for that is 5,000 calls): seen on this
     * model at 1 thread, the server's own part of a first token (its TTFT less its decodes) took 2.8 ms after 800
     * requests, 2.0 ms after 2,000, 1.7 ms after 4,800 and 1.4–1.5 ms from 6,000 on.
     */
    private static final int TTFT_SHORT_REQUESTS = 6000;

    private void timeToFirstToken(boolean fresh) throws Exception {
        String prompt = BenchModel.PROMPTS.getFirst();
        int[] tokens = promptTokens(prompt);
        System.out.printf(
                "%nTime to first token, %s \"%s\" (%d tokens), max_tokens %d, %d runs after warm-up runs;"
                        + " ms p50 (p10–p90)%n",
                fresh ? "a fresh prompt each run, e.g." : "the same prompt each run,",
                fresh ? fresh(0, prompt) : prompt,
                fresh ? promptTokens(fresh(0, prompt)).length : tokens.length,
                TTFT_TOKENS,
                settings.ttftRuns());
        List<String> lines = new ArrayList<>();
        for (Side side : sides.values()) {
            var times = new TtftTimes();
            if (!fresh) {
                // Before the first table, requests as short as they come (one token to read, one to write), so
                // that the server's per-request code is compiled as a server's that has served a while.
                for (int i = 0; i < TTFT_SHORT_REQUESTS; i++)
                    side.parleyClient().timeToFirstContent(prompt, 1);
            }
            int[] asked = {0}; // runs so far, each with its own fresh prompt
            Pass runs = () -> {
                for (int run = 0; run < TTFT_WARM_UP; run++) ttftRun(side, prompt, tokens, fresh, asked[0]++, null);
            };
            untilCompiled(side, "time to first token", runs);
            for (int run = 0; run < settings.ttftRuns(); run++) {
                ttftRun(side, prompt, tokens, fresh, asked[0]++, times);
            }
            String line = "%-7d | %-22s | %-22s | %-22s | %-22s"
                    .formatted(
                            side.threads(),
                            percentiles(times.parley),
                            percentiles(times.library),
                            percentiles(times.parleyOver),
                            percentiles(times.parleyOwn));
            if (!times.llamaServer.isEmpty())
                line += " | %-22s | %-22s | %-22s"
                        .formatted(
                                percentiles(times.llamaServer),
                                percentiles(times.llamaServerOver),
                                times.llamaServerOwn.isEmpty() ? "-" : percentiles(times.llamaServerOwn));
            lines.add(line);
        }
        String header = "%-7s | %-22s | %-22s | %-22s | %-22s"
                .formatted("threads", "parley TTFT", "library prefill+1st", "overhead", "parley less its decodes");
        if (settings.llamaServer() != null)
            header += " | %-22s | %-22s | %-22s"
                    .formatted("llama-server TTFT", "overhead", "llama-server less prompt_ms");
        System.out.println(header);
        System.out.println("-".repeat(header.length()));
        lines.forEach(System.out::println);
    }

    /**
     * Milliseconds to a first token, run by run: each server's, the library's, and each server's less the library's
     * in the same run. The overheads are taken run by run, so that the machine's drift from one run to the next (its
     * p10–p90 spans tens of milliseconds here) moves both sides alike instead of the difference of two medians taken
     * at different moments.
     */
    private record TtftTimes(
            Samples parley,
            Samples library,
            Samples llamaServer,
            Samples parleyOver,
            Samples llamaServerOver,
            Samples parleyOwn,
            Samples llamaServerOwn) {
        TtftTimes() {
            this(
                    new Samples(),
                    new Samples(),
                    new Samples(),
                    new Samples(),
                    new Samples(),
                    new Samples(),
                    new Samples());
        }
    }

    /**
     * One run: the prompt (or the {@code run}th fresh one) through Parley, then through the library reading what Parley
     * read: the prompt's tokens less those Parley kept from an earlier request (its usage reports them as cached), so
     * that the two did the same decoding; then the same for llama-server. The two pairs swap order every run: in a fixed
     * order, whatever one leaves running on the two cores (llama.cpp's threads polling for work a while after a decode,
     * a server's own work after its answer) would always fall on the same one. Each library run starts after a pause
     * for the same reason. The times go to {@code into} unless it is null.
     */
    private void ttftRun(Side side, String prompt, int[] tokens, boolean fresh, int run, TtftTimes into)
            throws Exception {
        String asked = fresh ? fresh(run, prompt) : prompt;
        int[] read = fresh ? promptTokens(asked) : tokens;
        StreamClient.FirstContent p = null;
        StreamClient.FirstContent n = null;
        long l = 0; // the library, reading what Parley read
        long ln = 0; // the library, reading what llama-server read
        double decoded = 0;
        for (int turn = 0; turn < 2; turn++) {
            if ((run + turn) % 2 == 0) {
                double before = into == null ? 0 : decodeSeconds(side.parley()); // no scrape for a warm-up run
                p = side.parleyClient().timeToFirstContent(asked, TTFT_TOKENS);
                decoded = into == null ? 0 : decodeSeconds(side.parley()) - before;
                l = libraryAfterServer(side, read, p.cachedTokens());
            } else if (side.llamaServerClient() != null) {
                n = side.llamaServerClient().timeToFirstContent(asked, TTFT_TOKENS);
                ln = libraryAfterServer(side, read, n.cachedTokens());
            }
        }
        if (into == null) return;
        into.parley.add(p.nanos() / 1e6);
        into.library.add(l / 1e6);
        into.parleyOver.add((p.nanos() - l) / 1e6);
        into.parleyOwn.add(p.nanos() / 1e6 - decoded * 1e3);
        if (n != null) {
            into.llamaServer.add(n.nanos() / 1e6);
            into.llamaServerOver.add((n.nanos() - ln) / 1e6);
            if (!Double.isNaN(n.promptMillis())) into.llamaServerOwn.add(n.nanos() / 1e6 - n.promptMillis());
        }
    }

    /** How long a library run waits for a server's work after its answer to end. */
    private static final long SETTLE_MILLIS = 20;

    /** The library reading {@code read} with its first {@code cached} tokens already in its cache, after a pause. */
    private static long libraryAfterServer(Side side, int[] read, int cached) throws InterruptedException {
        Thread.sleep(SETTLE_MILLIS);
        return side.loop().firstToken(read, cached);
    }

    /**
     * Seconds the server's engine has spent in decodes so far ({@code parley_engine_decode_seconds_sum} in its
     * {@code /metrics}): read before and after a request, their difference is the decodes that request waited for.
     */
    private static double decodeSeconds(ServerProcess server) throws IOException {
        URI base = URI.create(server.baseUrl());
        try (var connection = new HttpConnection(base)) {
            if (connection.get("/metrics") != 200) throw new IllegalStateException(base + "/metrics failed");
            for (String line; (line = connection.nextLine()) != null; ) {
                if (line.startsWith("parley_engine_decode_seconds_sum"))
                    return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new IllegalStateException(base + "/metrics has no parley_engine_decode_seconds_sum");
    }

    /** A prompt no run before asked for, differing from its first word on. */
    private static String fresh(int run, String prompt) {
        String[] openings = {"Yesterday", "Today", "Tomorrow", "Once", "Later", "Soon", "Then", "Now"};
        return openings[run % openings.length] + " " + (run / openings.length) + ": " + prompt;
    }

    private static String percentiles(Samples samples) {
        return "%.2f (%.2f–%.2f)".formatted(samples.median(), samples.quantile(0.1), samples.quantile(0.9));
    }

    /** Turns each conversation of the turns part takes at most ({@code --conversations} of them). */
    private static final int TURNS = 6;

    private static final int ANSWER_TOKENS = 16;

    /**
     * Part 2b: conversations taking turns, as users of one server do: each turn is the conversation so far, its answers
     * included, and a new question, sent when the other conversations have had theirs (legacy completions, greedy,
     * 16-token answers; a conversation stops before it would outgrow the context). For the turns after the first: the
     * time to the first token, the share of their prompt tokens the server kept from the conversation's last turn, and
     * beside it the library reading each whole prompt, as a server that keeps nothing would.
     */
    private void conversationsTakingTurns() throws Exception {
        int conversations = settings.conversations();
        String[] topics = new String[conversations];
        String[] first = {"Lily and her dog went to the park", "Tom had a little red boat", "The cat sat by the fire"};
        for (int c = 0; c < conversations; c++)
            topics[c] = c < first.length ? first[c] : "Child number %d found a shiny toy".formatted(c + 1);
        String opening = "A storyteller tells short happy stories to small children.\n";
        System.out.printf(
                "%nConversations taking turns: %d conversations, up to %d turns each, %d-token answers;"
                        + " later turns, ms p50 (p10–p90)%n",
                conversations, TURNS, ANSWER_TOKENS);
        String header = "%-7s | %-22s | %-14s | %-28s"
                .formatted("threads", "parley TTFT", "cached share", "library reading it all");
        List<String> lines = new ArrayList<>();
        for (Side side : sides.values()) {
            var kept = new Kept();
            String[] conversation = new String[conversations]; // each one so far
            for (int c = 0; c < conversations; c++) conversation[c] = opening;
            for (int turn = 0; turn < TURNS; turn++) {
                for (int c = 0; c < conversations; c++) {
                    String prompt =
                            conversation[c] + "Q: %s. What happened next, part %d?\nA:".formatted(topics[c], turn);
                    int[] tokens = promptTokens(prompt);
                    if (tokens.length + ANSWER_TOKENS > settings.context()) continue;
                    StreamClient.FirstContent answer = side.parleyClient().timeToFirstContent(prompt, ANSWER_TOKENS);
                    conversation[c] = prompt + answer.text() + "\n";
                    if (turn > 0) kept.add(side, answer, tokens);
                }
            }
            if (kept.parley.isEmpty()) {
                lines.add("%-7d | no later turn fits in --context %d".formatted(side.threads(), settings.context()));
                continue;
            }
            lines.add("%-7d | %s".formatted(side.threads(), kept.columns()));
        }
        printTable(header, lines);
    }

    /**
     * What the turns and newcomers parts gather: each answer's time to first token beside the library reading its whole
     * prompt, and how many of those prompts' tokens the server kept.
     */
    private static final class Kept {
        final Samples parley = new Samples();
        final Samples whole = new Samples();
        long cached;
        long read;

        void add(Side side, StreamClient.FirstContent answer, int[] tokens) throws InterruptedException {
            parley.add(answer.nanos() / 1e6);
            cached += answer.cachedTokens();
            read += tokens.length;
            whole.add(libraryAfterServer(side, tokens, 0) / 1e6);
        }

        /** Time to first token, the share kept, the library's time. */
        String columns() {
            return "%-22s | %-14s | %-28s"
                    .formatted(percentiles(parley), "%.0f%%".formatted(100.0 * cached / read), percentiles(whole));
        }
    }

    private static void printTable(String header, List<String> lines) {
        System.out.println(header);
        System.out.println("-".repeat(header.length()));
        lines.forEach(System.out::println);
    }

    /**
     * Part 2c: new conversations after a system prompt that only a running answer holds, as when a new system prompt
     * goes live on a busy server: for each, a stream after that system prompt is started and, once it writes, a new
     * conversation (the same system prompt and a question of its own) is sent; its time to first token and the share of
     * its prompt the server kept, beside the library reading each whole prompt. Each conversation has a system prompt
     * of its own (about half of {@code --context}, at most 512 tokens), so nothing else holds it. Parley only:
     * llama-server runs without prompt reuse here.
     */
    private void newConversations() throws Exception {
        int conversations = settings.conversations();
        int target = Math.min(512, settings.context() / 2);
        String[] questions = {"Where did the fox go?", "Who found the key?", "What did the bird sing?"};
        System.out.printf(
                "%nNew conversations after a system prompt only a running stream holds: %d, %d-token answers;"
                        + " ms p50 (p10–p90)%n",
                conversations, ANSWER_TOKENS);
        String header = "%-7s | %-15s | %-22s | %-14s | %-28s"
                .formatted("threads", "prompt tokens", "parley TTFT", "cached share", "library reading it all");
        List<String> lines = new ArrayList<>();
        for (Side side : sides.values()) {
            var kept = new Kept();
            for (int c = 0; c < conversations; c++) {
                StringBuilder system = new StringBuilder("Guide %d of %d threads. ".formatted(c, side.threads()));
                while (promptTokens(system.toString()).length < target)
                    system.append("A guide tells short, kind stories about the hills, the lake and the woods. ");
                String streamed = system + "Q: Tell the longest story you know.\nA:";
                int room = settings.context() - promptTokens(streamed).length;
                StreamClient.Background running = side.parleyClient().background(streamed, room);
                running.awaitFirstContent();
                String prompt = system + "Q: %s\nA:".formatted(questions[c % questions.length]);
                int[] tokens = promptTokens(prompt);
                StreamClient.FirstContent answer = side.parleyClient().timeToFirstContent(prompt, ANSWER_TOKENS);
                running.awaitEnd();
                kept.add(side, answer, tokens);
            }
            lines.add("%-7d | %-15d | %s".formatted(side.threads(), kept.read / conversations, kept.columns()));
        }
        printTable(header, lines);
    }

    /** Part 3: resident memory of each server now, beside what the model and its KV cache take by arithmetic. */
    private void memory(Path model) throws Exception {
        long file = Files.size(model);
        long kv = kvCacheBytes(settings.context() * settings.parallel());
        System.out.printf(
                "%nMemory after the runs: model file %.0f MB + KV cache %.0f MB (%d cells x %s) = %.0f MB%n",
                mb(file), mb(kv), settings.context() * settings.parallel(), kvShape(), mb(file + kv));
        String header =
                "%-26s | %-12s | %-12s | %-18s".formatted("server", "VmRSS MB", "VmHWM MB", "RSS - (file+KV) MB");
        System.out.println(header);
        System.out.println("-".repeat(header.length()));
        for (Side side : sides.values()) {
            for (ServerProcess server : new ServerProcess[] {side.parley(), side.llamaServer()}) {
                if (server == null) continue;
                long[] resident = server.residentBytes();
                System.out.printf(
                        "%-26s | %-12.0f | %-12.0f | %-18.0f%n",
                        server.name(), mb(resident[0]), mb(resident[1]), mb(resident[0] - file - kv));
            }
        }
    }

    /** n_ctx × n_layer × n_embd_kv × 2 (K and V) × bytes per element, from the model's metadata. */
    private long kvCacheBytes(int cells) {
        int[] shape = kvShapeNumbers();
        return (long) cells * shape[0] * shape[1] * 2 * (settings.kvCache() == KvCacheType.F32 ? 4 : 2);
    }

    private String kvShape() {
        int[] shape = kvShapeNumbers();
        return "%d layers x %d n_embd_kv x 2 x %s".formatted(shape[0], shape[1], settings.kvCache());
    }

    /** {n_layer, n_embd_kv}: the KV heads' width, from {@code <arch>.attention.*}. */
    private int[] kvShapeNumbers() {
        String arch = library.metadata("general.architecture").orElseThrow();
        int layers = metadataInt(arch + ".block_count", -1);
        int embedding = metadataInt(arch + ".embedding_length", -1);
        int heads = metadataInt(arch + ".attention.head_count", -1);
        int kvHeads = metadataInt(arch + ".attention.head_count_kv", heads);
        int keyLength = metadataInt(arch + ".attention.key_length", embedding / heads);
        return new int[] {layers, kvHeads * keyLength};
    }

    private int metadataInt(String key, int fallback) {
        return library.metadata(key).map(Integer::parseInt).orElse(fallback);
    }

    /** Stops every server, then prints what they logged about decode costs. */
    private void stopServers() throws Exception {
        loops.forEach(DecodeLoop::close);
        for (ServerProcess server : servers) {
            server.close();
            System.out.printf("%n%s said:%n", server.name());
            server.kept().forEach(line -> System.out.println("  " + line));
        }
    }

    /**
     * Part 4: process start to the first /health 200 on the bundled demo model, default settings, interleaved; then
     * the first request and the next.
     */
    private static void startTimes(EngineSettings settings) throws Exception {
        Path demo = DemoModel.path();
        var parley = new Started();
        var llamaServer = new Started();
        for (int run = 0; run < settings.startRuns(); run++) {
            try (var server = ServerProcess.parley("parley", settings.parleyJar(), List.of())) {
                parley.measure(server);
            }
            if (settings.llamaServer() != null) {
                try (var server = ServerProcess.llamaServer(
                        "llama-server", settings.llamaServer(), List.of("-m", demo.toString()))) {
                    llamaServer.measure(server);
                }
            }
        }
        System.out.printf(
                "%nStart to first /health 200 on the demo model (%s), median (min–max) of %d; CPU: the processor"
                        + " time all the process's threads had used by then (a start that keeps %d cores busy is"
                        + " bound by them)%n",
                DemoModel.ID, settings.startRuns(), Runtime.getRuntime().availableProcessors());
        System.out.printf(
                "  parley serve  %s%s%n",
                parley.startLine(),
                ServerProcess.aotCache(settings.parleyJar()).isPresent()
                        ? " (with the launcher's class cache)"
                        : " (no class cache: run ./parley once to make it)");
        if (!llamaServer.seconds.isEmpty()) System.out.printf("  llama-server  %s%n", llamaServer.startLine());
        System.out.printf(
                "Then, a second later, the first request (a %d-token completion, whole) and the next, in ms%n",
                FIRST_REQUEST_TOKENS);
        System.out.printf("  parley serve  %s%n", parley.requestsLine());
        if (!llamaServer.seconds.isEmpty()) System.out.printf("  llama-server  %s%n", llamaServer.requestsLine());
    }

    private static final int FIRST_REQUEST_TOKENS = 16;

    /** One server's starts: seconds to the first /health 200, CPU seconds by then, its first and next request's ms. */
    private record Started(Samples seconds, Samples cpuSeconds, Samples first, Samples next) {
        Started() {
            this(new Samples(), new Samples(), new Samples(), new Samples());
        }

        /**
         * Waits for {@code server}'s first /health 200; then, a second later (what follows a readiness check in a
         * deployment), times its first request and the next, each on a new connection, from sending it to the last
         * byte of its answer: what the first caller waits for while classes load and code runs interpreted, beside
         * what the next one does.
         */
        void measure(ServerProcess server) throws IOException, InterruptedException {
            seconds.add(server.awaitHealthy().toNanos() / 1e9);
            server.cpuTime().ifPresent(cpu -> cpuSeconds.add(cpu.toNanos() / 1e9));
            Thread.sleep(1000);
            String body = "{\"model\":\"%s\",\"prompt\":\"Once upon a time\",\"max_tokens\":%d,\"temperature\":0}"
                    .formatted(DemoModel.ID, FIRST_REQUEST_TOKENS);
            for (Samples samples : List.of(first, next)) {
                long start = System.nanoTime();
                try (var connection = new HttpConnection(URI.create(server.baseUrl()))) {
                    int status = connection.post("/v1/completions", body);
                    while (connection.nextLine() != null) {} // to the answer's end
                    if (status != 200) throw new IllegalStateException(server.name() + " answered " + status);
                }
                samples.add((System.nanoTime() - start) / 1e6);
            }
        }

        String startLine() {
            return "%s s, CPU %s s".formatted(seconds.summary("%.2f"), cpuSeconds.summary("%.2f"));
        }

        String requestsLine() {
            return "%s, next %s".formatted(first.summary("%.1f"), next.summary("%.1f"));
        }
    }

    /** One prompt per stream, the list repeated past its sixteen. */
    private static List<String> prompts(int streams) {
        List<String> prompts = new ArrayList<>(streams);
        for (int i = 0; i < streams; i++) prompts.add(BenchModel.PROMPTS.get(i % BenchModel.PROMPTS.size()));
        return prompts;
    }

    /** The prompt's tokens as the server reads them at the chosen endpoint. */
    private int[] promptTokens(String prompt) {
        return switch (settings.endpoint()) {
            case COMPLETIONS -> library.tokenize(prompt, true, false);
            case CHAT ->
                library.tokenize(library.applyChatTemplate(List.of(new ChatTurn("user", prompt)), true), true, true);
        };
    }

    private static double mb(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    private static String load() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return String.join(" ", Arrays.copyOf(fields, 3));
        } catch (Exception e) {
            return "unknown";
        }
    }
}
