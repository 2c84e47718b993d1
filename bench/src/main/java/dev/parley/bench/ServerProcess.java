package dev.parley.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * An HTTP server in a child process on a loopback port: Parley's {@code serve} from its runnable jar, or
 * llama.cpp's {@code llama-server}. Started with the port chosen here, so that the time from process start
 * to the first {@code /health} 200 can be measured by polling.
 *
 * <p>Not thread-safe. {@link #close} stops the process (SIGTERM, then SIGKILL after 20 s) and waits for it;
 * the lines it kept ({@link #kept}) are complete only after that.
 */
final class ServerProcess implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

    private final String name;
    private final Process process;
    private final int port;
    private final long startNanos;
    private final Deque<String> tail = new ArrayDeque<>(); // last lines of output, for errors; guarded by itself
    private final List<String> kept = new ArrayList<>(); // guarded by tail
    private final Thread drain;

    private ServerProcess(String name, List<String> command, int port, Predicate<String> keep) throws IOException {
        this.name = name;
        this.port = port;
        this.startNanos = System.nanoTime();
        this.process = new ProcessBuilder(command).redirectErrorStream(true).start();
        var lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        // A platform thread: a virtual one would pin a carrier in the blocking pipe read, and a few quiet
        // servers would then hold every carrier while the streams' virtual threads wait to run.
        this.drain = Thread.ofPlatform().daemon().start(() -> {
            try {
                for (String line; (line = lines.readLine()) != null; ) {
                    synchronized (tail) {
                        if (tail.size() == 40) tail.removeFirst();
                        tail.addLast(line);
                        if (keep.test(line)) kept.add(line);
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        });
    }

    /**
     * {@code java @cli/jvm.options -jar parley.jar serve ARGS --port P}: the command the {@code parley} launcher
     * runs.
     */
    static ServerProcess parley(String name, Path jar, List<String> args) throws IOException {
        requireFile(jar, "Parley's runnable jar");
        int port = freePort();
        var command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED"));
        launcherOptions(jar).ifPresent(options -> command.add("@" + options));
        aotCache(jar)
                .ifPresent(cache -> command.addAll(List.of("-XX:AOTCache=" + cache, "-Xlog:aot=off", "-Xlog:cds=off")));
        command.addAll(List.of("-jar", jar.toString(), "serve", "--port", String.valueOf(port)));
        command.addAll(args);
        return new ServerProcess(name, command, port, line -> line.toLowerCase().contains("decode costs"));
    }

    /** The JVM options file the launcher passes, {@code cli/jvm.options} beside the jar's {@code target}. */
    static Optional<Path> launcherOptions(Path jar) {
        Path options = jar.toAbsolutePath().getParent().resolveSibling("jvm.options");
        return Files.isRegularFile(options) ? Optional.of(options) : Optional.empty();
    }

    /**
     * The ahead-of-time class cache the launcher made beside the jar for this JDK ({@code parley-<runtime
     * version>.aot}, the launcher's naming), when there is one and it is newer than the jar: the launcher starts
     * the server with it. An older cache is left out, as the launcher remakes it: the JVM does not notice that
     * the jar changed and would run the classes of the build the cache was made from.
     */
    static Optional<Path> aotCache(Path jar) throws IOException {
        String version = System.getProperty("java.runtime.version", "").replaceAll("[^A-Za-z0-9.]", "_");
        Path cache = jar.toAbsolutePath().resolveSibling("parley-" + version + ".aot");
        if (!Files.isRegularFile(cache)) return Optional.empty();
        if (Files.getLastModifiedTime(cache).compareTo(Files.getLastModifiedTime(jar)) < 0) {
            System.err.println("Not using " + cache + ": older than the jar (run ./parley once to remake it)");
            return Optional.empty();
        }
        return Optional.of(cache);
    }

    /**
     * Waits until the server has printed a line that {@code done} accepts (Parley: its calibrated decode
     * costs, measured in its first idle moments: nothing else may run meanwhile, or they are skewed).
     */
    void awaitLine(Predicate<String> done, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            synchronized (tail) {
                if (kept.stream().anyMatch(done)) return;
            }
            if (!process.isAlive()) throw new IllegalStateException(name + " ended:\n" + tail());
            Thread.sleep(20);
        }
        throw new IllegalStateException(name + " printed no such line within " + timeout + ":\n" + tail());
    }

    /** {@code llama-server ARGS --host 127.0.0.1 --port P}. */
    static ServerProcess llamaServer(String name, Path binary, List<String> args) throws IOException {
        requireFile(binary, "llama-server");
        int port = freePort();
        var command = new ArrayList<>(List.of(binary.toString()));
        command.addAll(args);
        command.addAll(List.of("--host", "127.0.0.1", "--port", String.valueOf(port)));
        return new ServerProcess(name, command, port, line -> line.contains("load_model:"));
    }

    /**
     * Polls {@code /health} every 5 ms until it answers 200; returns the time since the process was started. Each
     * poll is a plain socket ({@link HttpConnection}): the JDK's HTTP client failing to connect every 5 ms took
     * enough of a 2-core machine to slow the server it timed (measured: the demo model's start read 0.3–0.5 s longer
     * than with a plain socket).
     *
     * @throws IllegalStateException when the process ends first or does not answer within two minutes
     */
    Duration awaitHealthy() throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        URI base = URI.create(baseUrl());
        while (System.nanoTime() < deadline) {
            if (!process.isAlive())
                throw new IllegalStateException(name + " ended before answering /health:\n" + tail());
            try (var connection = new HttpConnection(base)) {
                if (connection.get("/health") == 200) return Duration.ofNanos(System.nanoTime() - startNanos);
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException(name + " did not answer /health within " + START_TIMEOUT + ":\n" + tail());
    }

    /**
     * The processor time all the process's threads have used so far, where the operating system tells it (Linux,
     * macOS, Windows); empty elsewhere.
     */
    Optional<Duration> cpuTime() {
        return process.toHandle().info().totalCpuDuration();
    }

    String name() {
        return name;
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    /** Resident set size now, and its peak so far, in bytes ({@code VmRSS}, {@code VmHWM} of /proc/PID/status). */
    long[] residentBytes() {
        try {
            long rss = 0;
            long peak = 0;
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) rss = kilobytes(line);
                if (line.startsWith("VmHWM:")) peak = kilobytes(line);
            }
            return new long[] {rss, peak};
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the memory of " + name, e);
        }
    }

    /**
     * CPU time the process's JIT compiler threads have taken so far, in nanoseconds, from the {@code stat} of each
     * thread in /proc/PID/task named like HotSpot's compiler threads; 0 for a process that has none (llama-server),
     * or where /proc cannot tell. Clock ticks are taken as 100 a second, Linux's {@code USER_HZ} everywhere.
     */
    long compilerNanos() {
        long ticks = 0;
        try (var tasks = Files.list(Path.of("/proc", String.valueOf(process.pid()), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String comm = Files.readString(task.resolve("comm")).strip();
                    if (!comm.startsWith("C1 Compiler") && !comm.startsWith("C2 Compiler")) continue;
                    String stat = Files.readString(task.resolve("stat"));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
                } catch (IOException | RuntimeException e) {
                    // a thread that ended meanwhile
                }
            }
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
        return ticks * 10_000_000L;
    }

    /** Lines of output worth reporting (Parley's decode costs, llama-server's slots); complete after {@link #close}. */
    List<String> kept() {
        synchronized (tail) {
            return List.copyOf(kept);
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.toHandle().destroy(); // SIGTERM; Process.destroy would also close the pipe before its last lines
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        drain.join(Duration.ofSeconds(5));
    }

    private String tail() {
        synchronized (tail) {
            return String.join("\n", tail);
        }
    }

    private static long kilobytes(String statusLine) {
        return Long.parseLong(statusLine.replaceAll("[^0-9]", "")) * 1024;
    }

    private static int freePort() throws IOException {
        // The port may be taken again between this close and the child's bind; on loopback that is rare,
        // and the child then fails visibly.
        try (var socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void requireFile(Path file, String what) {
        if (!Files.isRegularFile(file))
            throw new IllegalArgumentException("no " + what + " at " + file.toAbsolutePath());
    }
}
