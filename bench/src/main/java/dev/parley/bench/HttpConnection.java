package dev.parley.bench;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * An HTTP/1.1 connection over a plain blocking socket: one request at a time, its response body read line by line on
 * the calling thread as the bytes arrive, then the next request on the same connection (as a client's pool keeps
 * it) unless the server said it closes.
 *
 * <p>A load generator that shares two cores with the server it measures: the JDK's HTTP client hands every chunk of a
 * stream from its selector thread to an executor and on to the reading thread, three wake-ups a token, and that work
 * ran beside the decode it was measuring. Here a platform thread blocked in {@code read} is woken by the kernel once
 * for whatever has arrived. Understands what the servers measured send: a status line, headers, and a body that is
 * chunked, sized by {@code Content-Length}, or ended by the close.
 *
 * <p>Not thread-safe: one thread per connection.
 */
final class HttpConnection implements Closeable {
    private final URI base;
    private final Socket socket;
    private final InputStream in;
    private final byte[] buffer = new byte[16 * 1024];
    private int position;
    private int limit;

    private final Line line = new Line(); // of the body
    private final Line framing = new Line(); // of the head and of chunk sizes
    // The response being read:
    private boolean chunked;
    private long left; // bytes left of this chunk, or of a sized body; -1: a body read to the close
    private boolean firstChunk;
    private boolean ended = true;
    private boolean closing; // the server closes the connection after this response

    /** Connects to {@code base}'s host and port; nothing is sent yet. */
    HttpConnection(URI base) throws IOException {
        this.base = base;
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(base.getHost(), base.getPort()), 10_000);
        socket.setSoTimeout(600_000);
        in = socket.getInputStream();
    }

    /** Sends a POST of {@code json} and reads the status line and headers; returns the status. */
    int post(String path, String json) throws IOException {
        return send("POST", path, json.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends a GET and reads the status line and headers; returns the status. */
    int get(String path) throws IOException {
        return send("GET", path, null);
    }

    /**
     * Whether another request may be sent: the last response was read to its end, its server did not say it closes,
     * and has not closed since (a server's idle timeout). Waits a millisecond to see that no end of stream is waiting.
     */
    boolean reusable() throws IOException {
        if (!ended || closing || left < 0 || socket.isClosed()) return false;
        socket.setSoTimeout(1);
        try {
            // Returns only with a byte between responses or at the end of the stream: either way, not reusable.
            rawByte();
            return false;
        } catch (SocketTimeoutException quiet) {
            return true;
        } finally {
            socket.setSoTimeout(600_000);
        }
    }

    private int send(String method, String path, byte[] json) throws IOException {
        if (!ended) throw new IllegalStateException("the last response has not been read to its end");
        byte[] body = json == null ? new byte[0] : json;
        String head = method + " " + path + " HTTP/1.1\r\nHost: " + base.getHost() + ":" + base.getPort()
                + (json == null ? "" : "\r\nContent-Type: application/json\r\nContent-Length: " + body.length)
                + "\r\n\r\n";
        OutputStream out = socket.getOutputStream();
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        byte[] request = new byte[headBytes.length + body.length];
        System.arraycopy(headBytes, 0, request, 0, headBytes.length);
        System.arraycopy(body, 0, request, headBytes.length, body.length);
        out.write(request);
        out.flush();

        String statusLine = rawLine();
        if (statusLine == null || !statusLine.startsWith("HTTP/1.")) throw new IOException("no HTTP status line");
        int status = Integer.parseInt(statusLine.substring(9, 12));
        chunked = false;
        left = -1;
        firstChunk = true;
        ended = false;
        closing = false;
        for (String header; (header = rawLine()) != null && !header.isEmpty(); ) {
            int colon = header.indexOf(':');
            if (colon < 0) continue;
            String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = header.substring(colon + 1).trim();
            if (name.equals("transfer-encoding")
                    && value.toLowerCase(Locale.ROOT).contains("chunked")) chunked = true;
            if (name.equals("content-length") && !chunked) left = Long.parseLong(value);
            if (name.equals("connection") && value.equalsIgnoreCase("close")) closing = true;
        }
        if (chunked) left = 0;
        return status;
    }

    /** The body's next line without its line end (CR LF or LF), or null once the body has ended. */
    String nextLine() throws IOException {
        return line.read(this::bodyByte);
    }

    private int bodyByte() throws IOException {
        if (ended) return -1;
        if (chunked && left == 0 && !nextChunk()) return -1;
        if (!chunked && left == 0) {
            ended = true;
            return -1;
        }
        int b = rawByte();
        if (b < 0) {
            if (chunked || left > 0) throw new IOException("the response ended in the middle of its body");
            ended = true;
            return -1;
        }
        if (left > 0) left--;
        return b;
    }

    /**
     * Reads the next chunk's size line (after the line end that closes the chunk before it, which some servers send
     * only with the next chunk: reading it eagerly would wait for that chunk). False after the last chunk.
     */
    private boolean nextChunk() throws IOException {
        if (!firstChunk && !"".equals(rawLine())) throw new IOException("a chunk did not end with CR LF");
        firstChunk = false;
        String size = rawLine();
        if (size == null) throw new IOException("the response ended before its last chunk");
        int extension = size.indexOf(';');
        left = Long.parseLong((extension < 0 ? size : size.substring(0, extension)).trim(), 16);
        if (left == 0) {
            while (true) { // trailers, up to the empty line
                String trailer = rawLine();
                if (trailer == null || trailer.isEmpty()) break;
            }
            ended = true;
            return false;
        }
        return true;
    }

    /** A line of the head or of chunk framing, without its line end; null at the end of the stream. */
    private String rawLine() throws IOException {
        return framing.read(this::rawByte);
    }

    private int rawByte() throws IOException {
        if (position == limit) {
            int read = in.read(buffer);
            if (read <= 0) return -1;
            position = 0;
            limit = read;
        }
        return buffer[position++] & 0xff;
    }

    /** Where a line's bytes come from: the next one, or -1 at the end. */
    private interface Bytes {
        int next() throws IOException;
    }

    /** The bytes of a line being read (no lock per byte, unlike {@code ByteArrayOutputStream}). */
    private static final class Line {
        private byte[] bytes = new byte[256];
        private int size;

        /** The next line from {@code from} as text, without its CR LF or LF; null when it has none left. */
        String read(Bytes from) throws IOException {
            size = 0;
            for (int b; (b = from.next()) >= 0; ) {
                if (b == '\n') return text();
                if (size == bytes.length) bytes = Arrays.copyOf(bytes, size * 2);
                bytes[size++] = (byte) b;
            }
            return size == 0 ? null : text();
        }

        private String text() {
            int end = size > 0 && bytes[size - 1] == '\r' ? size - 1 : size;
            return new String(bytes, 0, end, StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
