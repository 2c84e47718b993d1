package dev.parley.server.engine.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link PlainHttp} against a loopback server that writes its answers byte for byte. */
class PlainHttpTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final byte[] BODY = "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8);

    @Test
    void keepsAConnectionAliveFromOneRequestToTheNext() throws Exception {
        try (var server = RawServer.start((connection, in, out) -> {
                    while (RawServer.request(in) != null)
                        answer(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
                });
                var http = new PlainHttp(TIMEOUT)) {
            for (int i = 0; i < 3; i++) {
                var answer = post(http, server, Map.of("Authorization", "Bearer k"));
                assertThat(answer.status()).isEqualTo(200);
                assertThat(read(answer)).isEqualTo("hello");
            }
            assertThat(http.connectionsOpened()).isEqualTo(1);
            assertThat(server.requests).hasSize(3);
            assertThat(server.requests.getFirst())
                    .startsWith("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + server.port() + "\r\n")
                    .contains("Authorization: Bearer k\r\n", "Content-Length: " + BODY.length + "\r\n")
                    .endsWith("\r\n\r\n" + new String(BODY, StandardCharsets.UTF_8));
        }
    }

    @Test
    void readsChunkedAndCloseDelimitedBodiesAndSkipsInterimAnswers() throws Exception {
        try (var server = RawServer.start((connection, in, out) -> {
                    RawServer.request(in);
                    if (connection == 1) {
                        answer(
                                out,
                                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                        + "X-Ratelimit-Remaining-Requests: 7\r\nx-ratelimit-remaining-requests: 6\r\n\r\n"
                                        + "5;ext=1\r\ndata:\r\nA\r\n [DONE]\n\n\n\r\n0\r\nTrailer: t\r\n\r\n");
                        RawServer.request(in);
                    }
                    answer(out, "HTTP/1.1 201 Created\r\nConnection: close\r\n\r\nuntil the end");
                });
                var http = new PlainHttp(TIMEOUT)) {
            var chunked = post(http, server, Map.of());
            assertThat(chunked.status()).isEqualTo(200);
            assertThat(chunked.headers().get("x-ratelimit-remaining-requests")).containsExactly("7", "6");
            assertThat(read(chunked)).isEqualTo("data: [DONE]\n\n\n");
            var closing = post(http, server, Map.of()); // the kept connection, which the server then closes
            assertThat(closing.status()).isEqualTo(201);
            assertThat(read(closing)).isEqualTo("until the end");
            var next = post(http, server, Map.of()); // on a new connection
            assertThat(read(next)).isEqualTo("until the end");
            assertThat(http.connectionsOpened()).isEqualTo(2);
        }
    }

    @Test
    void aHeaderLongerThanOneReadIsReadWhole() throws Exception {
        // 20,000 characters of one line: more than the 16 KiB a read can take, so the line ends in a later read.
        String value = "y".repeat(19_990) + "\u00e9";
        try (var server = RawServer.start((connection, in, out) -> {
                    RawServer.request(in);
                    out.write(("HTTP/1.1 200 OK\r\nX-Long: " + value + "\r\nContent-Length: 2\r\n\r\nok")
                            .getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                });
                var http = new PlainHttp(TIMEOUT)) {
            var answer = post(http, server, Map.of());
            assertThat(answer.headers().get("x-long")).containsExactly(value);
            assertThat(read(answer)).isEqualTo("ok");
        }
    }

    @Test
    void aReadReturnsWhatHasArrivedAcrossChunksAndWaitsForNoMore() throws Exception {
        var more = new CountDownLatch(1);
        try (var server = RawServer.start((connection, in, out) -> {
                    while (RawServer.request(in) != null) {
                        // the head and two chunks in one write, then a pause until the client has read them
                        answer(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n");
                        await(more);
                        answer(out, "1\r\nd\r\n0\r\n\r\n");
                    }
                });
                var http = new PlainHttp(TIMEOUT)) {
            var answer = post(http, server, Map.of());
            byte[] buffer = new byte[64];
            int n = assertTimeoutPreemptively(
                    Duration.ofSeconds(30), () -> answer.body().read(buffer));
            assertThat(new String(buffer, 0, n, StandardCharsets.UTF_8)).isEqualTo("abc");
            more.countDown();
            assertThat(read(answer)).isEqualTo("d");
            assertThat(read(post(http, server, Map.of()))).isEqualTo("abcd"); // on the same connection
            assertThat(http.connectionsOpened()).isEqualTo(1);
        }
    }

    @Test
    void aKeptConnectionTheServerClosedIsReplacedAndTheRequestSentOnce() throws Exception {
        try (var server = RawServer.start((connection, in, out) -> {
                    RawServer.request(in);
                    answer(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    // and closes it, as a server closes a connection idle too long
                });
                var http = new PlainHttp(TIMEOUT)) {
            assertThat(read(post(http, server, Map.of()))).isEqualTo("ok");
            server.awaitClosed(1);
            assertThat(read(post(http, server, Map.of()))).isEqualTo("ok");
            assertThat(http.connectionsOpened()).isEqualTo(2);
            assertThat(server.requests).hasSize(2); // the first connection's end read no request
        }
    }

    @Test
    void aRequestWhoseAnswerDoesNotComeInTimeIsNotSentAgain() throws Exception {
        var release = new CountDownLatch(1);
        try (var server = RawServer.start((connection, in, out) -> {
                    RawServer.request(in);
                    answer(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    if (connection == 1 && RawServer.request(in) != null) await(release); // no answer to the second
                });
                var http = new PlainHttp(TIMEOUT)) {
            assertThat(read(post(http, server, Map.of()))).isEqualTo("ok");
            assertThatThrownBy(() -> http.send("POST", server.uri(), Map.of(), BODY, Duration.ofMillis(200)))
                    .isInstanceOf(SocketTimeoutException.class);
            release.countDown();
            assertThat(http.connectionsOpened()).isEqualTo(1); // not sent again on another
            assertThat(read(post(http, server, Map.of()))).isEqualTo("ok"); // the timed-out one was not kept
        }
    }

    @Test
    void aBodyClosedBeforeItsEndClosesItsConnection() throws Exception {
        var hungUp = new CountDownLatch(1);
        try (var server = RawServer.start((connection, in, out) -> {
                    RawServer.request(in);
                    if (connection == 1) {
                        answer(out, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
                        awaitHangUp(in, hungUp);
                    } else {
                        answer(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    }
                });
                var http = new PlainHttp(TIMEOUT)) {
            var answer = post(http, server, Map.of());
            assertThat(new String(answer.body().readNBytes(10), StandardCharsets.UTF_8))
                    .isEqualTo("only ten b");
            answer.body().close();
            assertThat(hungUp.await(30, TimeUnit.SECONDS)).isTrue(); // the answer is aborted upstream
            assertThat(read(post(http, server, Map.of()))).isEqualTo("ok");
            assertThat(http.connectionsOpened()).isEqualTo(2);
        }
    }

    @Test
    void closingTheClientFailsTheReadOfAnAnswerInProgress() throws Exception {
        var hungUp = new CountDownLatch(1);
        try (var server = RawServer.start((connection, in, out) -> {
                    RawServer.request(in);
                    answer(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
                    awaitHangUp(in, hungUp);
                });
                var http = new PlainHttp(TIMEOUT)) {
            var answer = post(http, server, Map.of());
            assertThat(new String(answer.body().readNBytes(3), StandardCharsets.UTF_8))
                    .isEqualTo("abc");
            http.close();
            assertThatThrownBy(() -> answer.body().read()).isInstanceOf(IOException.class);
            assertThat(hungUp.await(30, TimeUnit.SECONDS)).isTrue();
            assertThatThrownBy(() -> post(http, server, Map.of())).hasMessage("the gateway is closing");
        }
    }

    @Test
    void whatIsNotHttpIsAnErrorThatSaysWhat() throws Exception {
        String longHead = "HTTP/1.1 200 OK\r\n" + ("X-Filler: " + "x".repeat(1000) + "\r\n").repeat(70) + "\r\n";
        List<String> answers = List.of(
                "SSH-2.0-OpenSSH_9.6\r\n",
                "HTTP/1.1 2xx OK\r\n\r\n",
                longHead,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok",
                "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
        try (var server = RawServer.start((connection, in, out) -> {
                    RawServer.request(in);
                    answer(out, answers.get(connection - 1));
                });
                var http = new PlainHttp(TIMEOUT)) {
            assertThatThrownBy(() -> post(http, server, Map.of()))
                    .hasMessage("the answer is not HTTP/1.x: SSH-2.0-OpenSSH_9.6");
            assertThatThrownBy(() -> post(http, server, Map.of()))
                    .hasMessage("the answer's status line is malformed: HTTP/1.1 2xx OK");
            assertThatThrownBy(() -> post(http, server, Map.of()))
                    .hasMessage("the answer's head is longer than 65536 bytes");
            assertThatThrownBy(() -> read(post(http, server, Map.of()))).hasMessage("a chunk's size is malformed: zz");
            assertThatThrownBy(() -> post(http, server, Map.of()))
                    .hasMessageStartingWith("the answer's Content-Length is invalid");
            assertThatThrownBy(() -> read(post(http, server, Map.of())))
                    .hasMessage("the connection closed in the answer's body");
            assertThatThrownBy(() -> post(http, server, Map.of("X-Injected", "a\r\nHost: elsewhere")))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThat(http.connectionsOpened()).isEqualTo(answers.size());
        }
    }

    private static PlainHttp.Answer post(PlainHttp http, RawServer server, Map<String, String> headers)
            throws IOException {
        return http.send("POST", server.uri(), headers, BODY, TIMEOUT);
    }

    private static String read(PlainHttp.Answer answer) throws IOException {
        try (InputStream body = answer.body()) {
            return new String(body.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void answer(OutputStream out, String bytes) throws IOException {
        out.write(bytes.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Reads until the client closes the connection, then counts {@code hungUp} down. */
    private static void awaitHangUp(InputStream in, CountDownLatch hungUp) {
        try {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            // reset: closed all the same
        }
        hungUp.countDown();
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A loopback server that hands each connection (numbered from 1) to a script; records every request. */
    private static final class RawServer implements AutoCloseable {
        interface Script {
            void serve(int connection, InputStream in, OutputStream out) throws IOException;
        }

        final List<String> requests = new CopyOnWriteArrayList<>();
        private final ServerSocket socket;
        private final Script script;
        private final AtomicInteger closed = new AtomicInteger();
        private int accepted; // by the acceptor thread alone
        private final Thread acceptor;

        private RawServer(Script script) throws IOException {
            this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.script = script;
            this.acceptor = Thread.ofVirtual().start(this::accept);
        }

        static RawServer start(Script script) throws IOException {
            return new RawServer(script);
        }

        int port() {
            return socket.getLocalPort();
        }

        URI uri() {
            return URI.create("http://127.0.0.1:" + port() + "/v1/chat/completions");
        }

        private void accept() {
            while (!socket.isClosed()) {
                try {
                    Socket connection = socket.accept();
                    int number = ++accepted;
                    Thread.ofVirtual().start(() -> serve(number, connection));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(int number, Socket connection) {
            try (connection) {
                script.serve(number, new Recording(connection.getInputStream()), connection.getOutputStream());
            } catch (IOException e) {
                // the client closed first
            } finally {
                synchronized (closed) {
                    closed.incrementAndGet();
                    closed.notifyAll();
                }
            }
        }

        /** Waits until the server has closed {@code count} connections. */
        void awaitClosed(int count) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            synchronized (closed) {
                while (closed.get() < count && System.nanoTime() < deadline) closed.wait(100);
            }
            assertThat(closed.get()).isGreaterThanOrEqualTo(count);
        }

        /** The next request on a connection (head and a Content-Length body), recorded; null at its end. */
        static String request(InputStream in) throws IOException {
            var head = new ByteArrayOutputStream();
            int matched = 0;
            while (matched < 4) {
                int b = in.read();
                if (b < 0) return null;
                head.write(b);
                matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
            }
            String text = head.toString(StandardCharsets.ISO_8859_1);
            int length = 0;
            for (String line : text.split("\r\n"))
                if (line.regionMatches(true, 0, "content-length:", 0, 15))
                    length = Integer.parseInt(line.substring(15).strip());
            String request = text + new String(in.readNBytes(length), StandardCharsets.UTF_8);
            ((Recording) in).server().requests.add(request);
            return request;
        }

        @Override
        public void close() throws IOException {
            socket.close();
            acceptor.interrupt();
        }

        /** The connection's input, knowing its server, so that {@link #request} can record what it reads. */
        private final class Recording extends java.io.FilterInputStream {
            Recording(InputStream in) {
                super(in);
            }

            RawServer server() {
                return RawServer.this;
            }
        }
    }
}
