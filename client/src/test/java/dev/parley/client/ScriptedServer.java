package dev.parley.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A loopback HTTP/1.1 server on 127.0.0.1, port 0, that answers each connection with the next scripted
 * {@link Reply}, byte for byte, then closes it: so a test can send 429s with any headers, drop a
 * connection, cut a stream mid-way, or hold one open to see the client cancel it. Records every request.
 * Answers 500 "no scripted reply" when the script has run out. Shared with the CLI's tests.
 */
public final class ScriptedServer implements AutoCloseable {

    /** One scripted answer. */
    public sealed interface Reply {
        /** Writes these bytes as the whole response, then closes (or holds until the client closes). */
        record Raw(String bytes, boolean holdOpen) implements Reply {}

        /** Closes the connection without answering. */
        record Drop() implements Reply {}

        /**
         * Writes these pieces of a response one at a time, each flushed and followed by a pause of a millisecond, so
         * that the reader gets them in separate reads (cut anywhere: inside a line, or a character's bytes); then
         * closes.
         */
        record Pieces(List<byte[]> pieces) implements Reply {}

        /** A JSON response with a Content-Length; {@code headers} are name, value pairs. */
        static Reply json(int status, String body, String... headers) {
            return new Raw(
                    head(status, "application/json", headers) + "Content-Length: "
                            + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body,
                    false);
        }

        /** A response of any type with a Content-Length. */
        static Reply text(int status, String contentType, String body, String... headers) {
            return new Raw(
                    head(status, contentType, headers) + "Content-Length: "
                            + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body,
                    false);
        }

        /** A 200 event stream with exactly {@code body}, ended by closing the connection. */
        static Reply sse(String body, String... headers) {
            return new Raw(head(200, "text/event-stream", headers) + "\r\n" + body, false);
        }

        /** A 200 event stream that sends {@code body} and then waits until the client hangs up. */
        static Reply sseHeldOpen(String body, String... headers) {
            return new Raw(head(200, "text/event-stream", headers) + "\r\n" + body, true);
        }

        static Reply drop() {
            return new Drop();
        }

        /** Reads the request and answers nothing until the client hangs up. */
        static Reply silence() {
            return new Raw("", true);
        }

        private static String head(int status, String contentType, String... headers) {
            var head = new StringBuilder("HTTP/1.1 ")
                    .append(status)
                    .append(" Scripted\r\n")
                    .append("Content-Type: ")
                    .append(contentType)
                    .append("\r\n")
                    .append("Connection: close\r\n");
            for (int i = 0; i < headers.length; i += 2)
                head.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
            return head.toString();
        }
    }

    /** A request as the server read it; header names are lower case. */
    public record Recorded(String method, String path, Map<String, String> headers, String body) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private final ServerSocket socket;
    private final ConcurrentLinkedQueue<Reply> script = new ConcurrentLinkedQueue<>();
    private final List<Recorded> requests = Collections.synchronizedList(new ArrayList<>());
    private final CountDownLatch clientHungUp = new CountDownLatch(1);
    private final Thread acceptor;

    private final java.util.Set<Socket> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Answers every request when set, instead of the script. */
    private final Function<Recorded, Reply> responder;

    private ScriptedServer(Function<Recorded, Reply> responder) throws IOException {
        this.responder = responder;
        socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofVirtual().start(this::acceptAll);
    }

    public static ScriptedServer start() {
        return start(null);
    }

    /** A server that answers each request with what {@code responder} makes of it, rather than from a script. */
    public static ScriptedServer answering(Function<Recorded, Reply> responder) {
        return start(responder);
    }

    private static ScriptedServer start(Function<Recorded, Reply> responder) {
        try {
            return new ScriptedServer(responder);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code http://127.0.0.1:PORT/v1}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + socket.getLocalPort() + "/v1";
    }

    public ScriptedServer enqueue(Reply... replies) {
        script.addAll(List.of(replies));
        return this;
    }

    public List<Recorded> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    public Recorded lastRequest() {
        List<Recorded> all = requests();
        return all.getLast();
    }

    /** Waits until {@code count} requests have arrived; false if they did not within 30 s. */
    public boolean awaitRequests(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (requests().size() < count) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(5);
        }
        return true;
    }

    /** Waits until the client closed a connection held open by {@link Reply#sseHeldOpen}. */
    public boolean awaitClientHangUp(Duration timeout) throws InterruptedException {
        return clientHungUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Stops listening and closes the connections still open, held ones included. */
    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a server socket that is already closed
        }
        acceptor.interrupt();
        for (Socket connection : open) {
            try {
                connection.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
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
        open.add(connection);
        try (connection) {
            InputStream in = connection.getInputStream();
            Recorded request = read(in);
            if (request == null) return;
            requests.add(request);
            Reply reply = responder != null ? responder.apply(request) : script.poll();
            if (reply == null)
                reply = Reply.json(
                        500,
                        "{\"error\":{\"message\":\"no scripted reply\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
            switch (reply) {
                case Reply.Drop() -> {}
                case Reply.Pieces(var pieces) -> {
                    OutputStream out = connection.getOutputStream();
                    for (byte[] piece : pieces) {
                        out.write(piece);
                        out.flush();
                        Thread.sleep(1);
                    }
                }
                case Reply.Raw(var bytes, var holdOpen) -> {
                    OutputStream out = connection.getOutputStream();
                    out.write(bytes.getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    if (holdOpen) {
                        // The client sends nothing more: read() returns -1 or fails once it hangs up.
                        try {
                            while (in.read() >= 0) {}
                        } catch (IOException hungUp) {
                            // a reset is a hang-up too
                        }
                        clientHungUp.countDown();
                    }
                }
            }
        } catch (IOException e) {
            // The client went away mid-answer: nothing to do for a scripted server.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // closing: the answer stops where it is
        } finally {
            open.remove(connection);
        }
    }

    /** Reads one HTTP/1.1 request (line, headers, Content-Length body); null when the connection closed first. */
    public static Recorded read(InputStream in) throws IOException {
        String requestLine = line(in);
        if (requestLine == null || requestLine.isEmpty()) return null;
        Map<String, String> headers = new TreeMap<>();
        for (String line = line(in); line != null && !line.isEmpty(); line = line(in)) {
            int colon = line.indexOf(':');
            if (colon > 0)
                headers.put(
                        line.substring(0, colon).strip().toLowerCase(Locale.ROOT),
                        line.substring(colon + 1).strip());
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        byte[] body = in.readNBytes(length);
        String[] parts = requestLine.split(" ");
        return new Recorded(parts[0], parts[1], headers, new String(body, StandardCharsets.UTF_8));
    }

    private static String line(InputStream in) throws IOException {
        var bytes = new ByteArrayOutputStream();
        for (int b = in.read(); b >= 0; b = in.read()) {
            if (b == '\n') return bytes.toString(StandardCharsets.ISO_8859_1).stripTrailing();
            bytes.write(b);
        }
        return bytes.size() == 0 ? null : bytes.toString(StandardCharsets.ISO_8859_1);
    }
}
