package dev.parley.server.engine.proxy;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * HTTP/1.1 exchanges with replicas served over plain http, on blocking sockets (the caller's virtual thread waits
 * in the read), each replica's connections kept alive between requests. The JDK's client hands every answer
 * through its selector thread and a chain of asynchronous stages; a gateway does nothing but exchanges. Against
 * an instant upstream at 64 callers ({@code GatewayBenchmark}, interleaved runs), this took the gateway's CPU per
 * request from 0.44–0.68 to 0.33–0.38 ms for whole answers and from 0.58–0.89 to 0.43–0.44 ms for 64-chunk
 * streams. A body's read returns what has arrived, across chunks: events that came together leave together
 * (returning one chunk a read, the first version flushed every event on its own and cost more than the JDK's).
 *
 * <p>A connection goes back to its replica's pool only once its answer's body has been read to its end; a body
 * closed before that closes the connection, which aborts the answer upstream. A request on a kept connection that
 * the replica closed meanwhile (servers close idle connections after a while) fails before any byte of the answer
 * arrives: it is sent once more on a new connection, as the replica cannot have read it. Nothing else is retried.
 *
 * <p>Thread-safe; an answer's body is read by one thread, and may be closed from another.
 */
final class PlainHttp implements AutoCloseable {

    /** An answer's status and headers (names case-insensitive); its body must be closed. */
    record Answer(int status, Map<String, List<String>> headers, InputStream body) {}

    /** The most an answer's status line and headers may take; a longer head is a broken peer. */
    static final int MAX_HEAD_BYTES = 64 * 1024;

    /** Connections kept per replica beyond those in use; more are closed when their answer ends. */
    static final int MAX_KEPT = 256;

    /** A kept connection unused this long is closed rather than used: its replica has most likely closed it. */
    static final Duration MAX_IDLE = Duration.ofSeconds(60);

    private final Duration connectTimeout;
    private final Map<String, BlockingDeque<Connection>> kept = new ConcurrentHashMap<>();
    private final Set<Connection> open = ConcurrentHashMap.newKeySet(); // kept and in use
    private final AtomicInteger opened = new AtomicInteger();
    private volatile boolean closed;

    PlainHttp(Duration connectTimeout) {
        this.connectTimeout = connectTimeout;
    }

    /**
     * Sends a request and returns its answer once its head has arrived; {@code timeout} bounds the wait for it, as
     * the JDK client's request timeout does.
     *
     * @param body the request's body, or null for none
     * @throws IOException when the replica cannot be reached, closes the connection before answering, does not
     *     answer in time, or answers with something that is not HTTP/1.x
     */
    Answer send(String method, URI uri, Map<String, String> headers, byte[] body, Duration timeout) throws IOException {
        String authority = authority(uri);
        byte[] request = request(method, uri, authority, headers, body);
        Connection connection = take(authority);
        if (connection != null) {
            try {
                return connection.exchange(request, timeout);
            } catch (IOException e) {
                connection.close();
                if (connection.answering
                        || e instanceof SocketTimeoutException
                        || Thread.currentThread().isInterrupted()) throw e;
                discard(authority); // kept as long as this one or longer: likely closed as well
            }
        }
        if (closed) throw new IOException("the gateway is closing");
        connection = connect(uri, authority);
        try {
            return connection.exchange(request, timeout);
        } catch (IOException e) {
            connection.close();
            throw e;
        }
    }

    /** Closes every connection, those of answers still being read included: their reads fail. */
    @Override
    public void close() {
        closed = true;
        kept.keySet().forEach(this::discard);
        List.copyOf(open).forEach(Connection::close);
    }

    /** How many connections have been opened so far. */
    int connectionsOpened() {
        return opened.get();
    }

    private Connection take(String authority) {
        BlockingDeque<Connection> pool = kept.get(authority);
        if (pool == null) return null;
        long now = System.nanoTime();
        for (Connection connection; (connection = pool.pollFirst()) != null; ) {
            if (now - connection.idleSince < MAX_IDLE.toNanos()) return connection;
            connection.close();
        }
        return null;
    }

    private void discard(String authority) {
        BlockingDeque<Connection> pool = kept.get(authority);
        if (pool == null) return;
        for (Connection connection; (connection = pool.pollFirst()) != null; ) connection.close();
    }

    /** Back to its pool, most recently used first (the least likely to have been closed by the replica). */
    private void keep(Connection connection) {
        connection.idleSince = System.nanoTime();
        var pool = kept.computeIfAbsent(connection.authority, key -> new LinkedBlockingDeque<>(MAX_KEPT));
        if (closed || !pool.offerFirst(connection)) connection.close();
        else if (closed) discard(connection.authority); // close() may have emptied the pool before the offer
    }

    private Connection connect(URI uri, String authority) throws IOException {
        String host = uri.getHost();
        if (host == null) throw new IOException("no host in " + uri);
        if (host.startsWith("[")) host = host.substring(1, host.length() - 1); // an IPv6 literal
        int port = uri.getPort() < 0 ? 80 : uri.getPort();
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), millis(connectTimeout));
            var connection = new Connection(authority, socket);
            open.add(connection);
            opened.incrementAndGet();
            if (closed) connection.close(); // close() may have run before the add
            return connection;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    private static String authority(URI uri) {
        String host = uri.getHost();
        return uri.getPort() < 0 ? host : host + ":" + uri.getPort();
    }

    /** The request's head and body, in one array: one write. */
    private static byte[] request(String method, URI uri, String authority, Map<String, String> headers, byte[] body) {
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        if (uri.getRawQuery() != null) path += "?" + uri.getRawQuery();
        var head = new StringBuilder(256)
                .append(method)
                .append(' ')
                .append(path)
                .append(" HTTP/1.1\r\nHost: ")
                .append(authority)
                .append("\r\n");
        headers.forEach((name, value) -> {
            if (!safe(name) || !safe(value))
                throw new IllegalArgumentException("header " + name + " holds a line break");
            head.append(name).append(": ").append(value).append("\r\n");
        });
        if (body != null) head.append("Content-Length: ").append(body.length).append("\r\n");
        head.append("\r\n");
        byte[] bytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
        if (body == null || body.length == 0) return bytes;
        byte[] whole = new byte[bytes.length + body.length];
        System.arraycopy(bytes, 0, whole, 0, bytes.length);
        System.arraycopy(body, 0, whole, bytes.length, body.length);
        return whole;
    }

    private static boolean safe(String text) {
        return text.indexOf('\r') < 0 && text.indexOf('\n') < 0;
    }

    private static int millis(Duration duration) {
        long millis = duration.toMillis();
        return millis <= 0 ? 1 : (int) Math.min(Integer.MAX_VALUE, millis);
    }

    /**
     * One connection to a replica: one exchange at a time. It reads through its own buffer, so that a body can tell
     * what has arrived from what it would wait for.
     */
    private final class Connection {
        final String authority;
        final Socket socket;
        final InputStream in;
        final OutputStream out;
        final byte[] buffer = new byte[16 * 1024];
        int position; // of the next byte in buffer
        int limit; // of the bytes read into buffer
        volatile long idleSince;
        boolean answering; // a byte of the current answer has arrived

        Connection(String authority, Socket socket) throws IOException {
            this.authority = authority;
            this.socket = socket;
            this.in = socket.getInputStream();
            this.out = socket.getOutputStream();
        }

        Answer exchange(byte[] request, Duration timeout) throws IOException {
            answering = false;
            out.write(request);
            out.flush();
            socket.setSoTimeout(millis(timeout));
            int[] budget = {MAX_HEAD_BYTES};
            int status;
            Map<String, List<String>> headers;
            boolean http11;
            do { // 1xx answers come before the real one and have no body
                String line;
                try {
                    line = line(budget);
                } catch (SocketTimeoutException e) {
                    throw new SocketTimeoutException("no answer within " + timeout.toMillis() + " ms");
                }
                if (!line.startsWith("HTTP/1.") || line.length() < 12 || line.charAt(8) != ' ')
                    throw new IOException("the answer is not HTTP/1.x: " + ProxyEngine.quoted(line));
                http11 = line.charAt(7) == '1';
                try {
                    status = Integer.parseInt(line.substring(9, 12));
                } catch (NumberFormatException e) {
                    throw new IOException("the answer's status line is malformed: " + ProxyEngine.quoted(line));
                }
                headers = fields(budget);
            } while (status / 100 == 1 && status != 101);
            socket.setSoTimeout(0); // the body's reads wait as long as the answer takes, as a stream may
            boolean reusable = http11 && !hasToken(headers, "connection", "close");
            InputStream body;
            if (status == 204 || status == 304) {
                body = new Body(this, 0, reusable);
            } else if (headers.containsKey("transfer-encoding")) {
                if (!hasToken(headers, "transfer-encoding", "chunked")) {
                    throw new IOException(
                            "the answer's transfer encoding is not chunked: " + headers.get("transfer-encoding"));
                }
                body = new Body(this, Body.CHUNKED, reusable);
            } else if (headers.containsKey("content-length")) {
                body = new Body(this, contentLength(headers.get("content-length")), reusable);
            } else {
                body = new Body(this, Body.TO_CLOSE, false);
            }
            return new Answer(status, Collections.unmodifiableMap(headers), body);
        }

        /** Bytes read and not yet taken. */
        int buffered() {
            return limit - position;
        }

        /** With every byte read taken, waits for more; false at the connection's end. */
        boolean fill() throws IOException {
            int n = in.read(buffer, 0, buffer.length);
            position = 0;
            limit = Math.max(n, 0);
            return n >= 0;
        }

        /** Whether {@code lines} whole lines have arrived, so that reading them would not wait. */
        boolean linesBuffered(int lines) {
            for (int i = position; i < limit; i++) if (buffer[i] == '\n' && --lines == 0) return true;
            return false;
        }

        /** The next byte, waiting for it if need be. */
        int next() throws IOException {
            if (position == limit && !fill()) throw new EOFException("the connection closed in the answer's body");
            return buffer[position++] & 0xff;
        }

        /** One line of the head, without its line break; ISO-8859-1, as HTTP's head is. */
        String line(int[] budget) throws IOException {
            StringBuilder started = null; // the part of a line that the buffer held before its end was read
            while (true) {
                if (position == limit && !fill()) {
                    throw new EOFException(
                            answering
                                    ? "the connection closed in the answer's head"
                                    : "the connection closed before an answer");
                }
                answering = true;
                int from = position;
                int end = from;
                while (end < limit && buffer[end] != '\n') end++;
                boolean whole = end < limit;
                position = whole ? end + 1 : end;
                budget[0] -= position - from;
                if (budget[0] < 0)
                    throw new IOException("the answer's head is longer than " + MAX_HEAD_BYTES + " bytes");
                String piece = new String(buffer, from, end - from, StandardCharsets.ISO_8859_1);
                if (!whole) {
                    if (started == null) started = new StringBuilder(64);
                    started.append(piece);
                    continue;
                }
                String line = started == null ? piece : started.append(piece).toString();
                return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
            }
        }

        Map<String, List<String>> fields(int[] budget) throws IOException {
            Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            String last = null;
            for (String line; !(line = line(budget)).isEmpty(); ) {
                if ((line.charAt(0) == ' ' || line.charAt(0) == '\t') && last != null) { // a folded line continues
                    List<String> values = headers.get(last);
                    values.set(values.size() - 1, values.getLast() + " " + line.strip());
                    continue;
                }
                int colon = line.indexOf(':');
                if (colon <= 0) throw new IOException("a header line is malformed: " + ProxyEngine.quoted(line));
                last = line.substring(0, colon).strip();
                headers.computeIfAbsent(last, name -> new ArrayList<>(1))
                        .add(line.substring(colon + 1).strip());
            }
            return headers;
        }

        void close() {
            open.remove(this);
            try {
                socket.close();
            } catch (IOException e) {
                // closing: nothing to do about it
            }
        }
    }

    private static boolean hasToken(Map<String, List<String>> headers, String name, String token) {
        List<String> values = headers.get(name);
        if (values == null) return false;
        for (String value : values) {
            for (String part : value.split(",")) if (part.strip().equalsIgnoreCase(token)) return true;
        }
        return false;
    }

    private static long contentLength(List<String> values) throws IOException {
        long length = -1;
        for (String value : values) {
            for (String part : value.split(",")) {
                long one;
                try {
                    one = Long.parseLong(part.strip());
                } catch (NumberFormatException e) {
                    throw new IOException("the answer's Content-Length is not a number: " + value);
                }
                if (one < 0 || (length >= 0 && one != length))
                    throw new IOException("the answer's Content-Length is invalid: " + values);
                length = one;
            }
        }
        return length;
    }

    /**
     * An answer's body as its framing delimits it: a length, chunks, or the connection's end. A read returns what
     * has arrived, across chunks, and waits only when nothing has: a stream's events that came together are read
     * together. At its end the connection goes back to the pool (when the answer allows); closed before, the
     * connection closes.
     */
    private final class Body extends InputStream {
        static final long CHUNKED = -1;
        static final long TO_CLOSE = -2;

        private final Connection connection;
        private final boolean chunked;
        private final boolean toClose;
        private final boolean reusable;
        private final AtomicBoolean over = new AtomicBoolean(); // kept or closed: the connection is no longer ours
        private long left; // bytes left of the body (fixed length) or of the current chunk
        private boolean chunkEnding; // a chunk's data has been read, its line break not yet
        private boolean lastChunk; // the last chunk's size (0) has been read, its trailer not yet
        private boolean ended;

        Body(Connection connection, long length, boolean reusable) {
            this.connection = connection;
            this.chunked = length == CHUNKED;
            this.toClose = length == TO_CLOSE;
            this.reusable = reusable;
            this.left = length < 0 ? 0 : length;
            if (!chunked && !toClose && left == 0) end();
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] into, int offset, int length) throws IOException {
            Objects.checkFromIndexSize(offset, length, into.length);
            if (ended) return -1;
            if (length == 0) return 0;
            int taken = 0;
            while (taken < length) {
                if (chunked && left == 0 && !nextChunk(taken > 0)) break;
                if (ended) break;
                if (connection.buffered() == 0) {
                    if (taken > 0) break; // what has arrived goes now
                    if (!connection.fill()) {
                        if (!toClose) throw new EOFException("the connection closed in the answer's body");
                        end();
                        return -1;
                    }
                }
                int n = connection.buffered();
                if (!toClose) n = (int) Math.min(n, left);
                n = Math.min(n, length - taken);
                System.arraycopy(connection.buffer, connection.position, into, offset + taken, n);
                connection.position += n;
                taken += n;
                if (toClose) continue;
                left -= n;
                if (left == 0 && chunked) chunkEnding = true;
                else if (left == 0) end();
            }
            return taken == 0 && ended ? -1 : taken;
        }

        @Override
        public int available() {
            if (ended) return 0;
            return toClose ? connection.buffered() : (int) Math.min(connection.buffered(), left);
        }

        /**
         * Reads the line break ending the last chunk and the next chunk's size (and, after the last chunk, the
         * trailer); false, having read nothing, when that would wait and {@code holding} bytes already read.
         */
        private boolean nextChunk(boolean holding) throws IOException {
            if (!lastChunk) {
                if (holding && !connection.linesBuffered(chunkEnding ? 2 : 1)) return false;
                if (chunkEnding) {
                    int b = connection.next();
                    if (b == '\r') b = connection.next();
                    if (b != '\n') throw new IOException("a chunk's data is longer than its size");
                    chunkEnding = false;
                }
                String line = connection.line(new int[] {MAX_HEAD_BYTES});
                int extensions = line.indexOf(';'); // ignored
                String size = (extensions < 0 ? line : line.substring(0, extensions)).strip();
                try {
                    left = Long.parseLong(size, 16);
                    if (left < 0) throw new NumberFormatException();
                } catch (NumberFormatException e) {
                    throw new IOException("a chunk's size is malformed: " + ProxyEngine.quoted(line));
                }
                if (left > 0) return true;
                lastChunk = true;
            }
            if (holding && !trailerBuffered()) return false; // read at the next call
            int[] budget = {MAX_HEAD_BYTES};
            while (!connection.line(budget).isEmpty()) {
                // trailer fields: nothing here uses them
            }
            end();
            return true;
        }

        /** Whether the trailer (lines up to an empty one) has arrived whole. */
        private boolean trailerBuffered() {
            int lineStart = connection.position;
            for (int i = connection.position; i < connection.limit; i++) {
                if (connection.buffer[i] != '\n') continue;
                int length = i - lineStart;
                if (length == 0 || (length == 1 && connection.buffer[lineStart] == '\r')) return true;
                lineStart = i + 1;
            }
            return false;
        }

        private void end() {
            ended = true;
            if (!over.compareAndSet(false, true)) return;
            if (reusable) keep(connection);
            else connection.close();
        }

        @Override
        public void close() {
            ended = true;
            if (over.compareAndSet(false, true)) connection.close(); // read to its end, it went back already
        }
    }
}
