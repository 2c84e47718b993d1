package dev.parley.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real {@code redis-server} for a test: a child process on a free loopback port, without persistence,
 * ready once it answers {@code PING}. {@link #stop} and {@link #start} take it down and bring it back on
 * the same port (with no data), to test what happens while Redis is away. Close it when done.
 *
 * <p>When no {@code redis-server} is installed (tools/test-deps.sh installs Debian's), {@link #start()}
 * skips the calling test with a JUnit assumption.
 */
public final class RedisServer implements AutoCloseable {
    private static final List<String> PLACES = List.of("/usr/bin", "/usr/sbin", "/usr/local/bin", "/opt/homebrew/bin");

    private final Path executable;
    private final int port;
    private Process process;

    private RedisServer(Path executable, int port) {
        this.executable = executable;
        this.port = port;
    }

    /** Starts a redis-server on a free loopback port; skips the test when there is none installed. */
    public static RedisServer start() {
        Path executable = find();
        Assumptions.assumeTrue(
                executable != null,
                "redis-server is not installed (tools/test-deps.sh installs it): skipping the Redis test");
        RedisServer server = new RedisServer(executable, freePort());
        server.startAgain();
        return server;
    }

    public int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:PORT}. */
    public URI uri() {
        return URI.create("redis://127.0.0.1:" + port);
    }

    /** Starts it again on the same port, empty, after {@link #stop}; returns once it answers PING. */
    public synchronized void startAgain() {
        if (process != null && process.isAlive()) return;
        try {
            process = new ProcessBuilder(
                            executable.toString(),
                            "--port",
                            Integer.toString(port),
                            "--bind",
                            "127.0.0.1",
                            "--save",
                            "",
                            "--appendonly",
                            "no")
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + executable, e);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!answersPing()) {
            if (!process.isAlive()) throw new IllegalStateException("redis-server exited with " + process.exitValue());
            if (System.nanoTime() > deadline)
                throw new IllegalStateException("redis-server did not answer PING on port " + port);
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** Stops it and waits until it has exited: connections to it fail from now on. */
    public synchronized void stop() {
        if (process == null) return;
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    @Override
    public void close() {
        stop();
    }

    private boolean answersPing() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
            socket.setSoTimeout(500);
            OutputStream out = socket.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] reply = new byte[7];
            int read = in.readNBytes(reply, 0, 7);
            return new String(reply, 0, read, StandardCharsets.US_ASCII).startsWith("+PONG");
        } catch (IOException e) {
            return false;
        }
    }

    private static Path find() {
        String path = System.getenv("PATH");
        var places = new java.util.ArrayList<String>();
        if (path != null) places.addAll(List.of(path.split(java.io.File.pathSeparator)));
        places.addAll(PLACES);
        for (String place : places) {
            Path candidate = Path.of(place, "redis-server");
            if (Files.isExecutable(candidate)) return candidate;
        }
        return null;
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
