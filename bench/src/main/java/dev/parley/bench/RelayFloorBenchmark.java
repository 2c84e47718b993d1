package dev.parley.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The least a relay of paced streams can cost on this machine, whatever the relay does with the bytes: a paced
 * upstream, callers, and in between nothing but a thread per stream that reads a chunk and writes it on (a platform
 * thread or a virtual one), or one thread relaying every stream from a selector, as an event loop does; beside the
 * same callers reading the upstream directly. It prints the process's CPU time per chunk for each (medians of
 * interleaved rounds) and what each relay adds to the direct one: the floor under the gateway's own "CPU added" per
 * chunk in {@code GatewayBenchmark}'s paced tables, and what the way of waiting for the upstream costs on its own.
 * Not a test: it prints numbers.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.parley.bench.RelayFloorBenchmark [--streams 64] [--chunks 100]
 *     [--token-ms 5] [--rounds 5]
 * </pre>
 */
public final class RelayFloorBenchmark {
    private static final byte[] CHUNK =
            ("data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                            + "\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok\"},"
                            + "\"finish_reason\":null}]}\n\n")
                    .getBytes(StandardCharsets.UTF_8);

    public static void main(String[] args) throws Exception {
        int streams = GatewayBenchmark.intArg(args, "--streams", 64);
        int chunks = GatewayBenchmark.intArg(args, "--chunks", 100);
        int tokenMillis = GatewayBenchmark.intArg(args, "--token-ms", 5);
        int rounds = GatewayBenchmark.intArg(args, "--rounds", 5);
        try (ServerSocket upstream = listen();
                ServerSocket platform = listen();
                ServerSocket virtual = listen();
                ServerSocketChannel looped = ServerSocketChannel.open()) {
            looped.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
            serve(upstream, Thread.ofPlatform().daemon(), client -> {
                OutputStream out = client.getOutputStream();
                for (int i = 0; i < chunks; i++) {
                    Thread.sleep(tokenMillis);
                    out.write(CHUNK);
                    out.flush();
                }
            });
            Connection relay = client -> {
                try (Socket up = connect(upstream)) {
                    InputStream in = up.getInputStream();
                    OutputStream out = client.getOutputStream();
                    byte[] buffer = new byte[16 * 1024];
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        out.write(buffer, 0, n);
                        out.flush();
                    }
                }
            };
            serve(platform, Thread.ofPlatform().daemon(), relay);
            serve(virtual, Thread.ofVirtual(), relay);
            eventLoop(looped, upstream);
            Map<String, ServerSocket> ways = new LinkedHashMap<>();
            ways.put("direct", upstream);
            ways.put("platform-thread relay", platform);
            ways.put("virtual-thread relay", virtual);
            ways.put("event-loop relay", looped.socket());
            Map<String, double[]> perChunk = new LinkedHashMap<>();
            ways.keySet().forEach(way -> perChunk.put(way, new double[rounds]));
            for (ServerSocket way : ways.values()) run(way, streams, chunks, tokenMillis); // warm-up
            for (int round = 0; round < rounds; round++) {
                for (var way : ways.entrySet()) {
                    long nanos = run(way.getValue(), streams, chunks, tokenMillis);
                    perChunk.get(way.getKey())[round] = nanos / 1e3 / ((long) streams * chunks);
                }
            }
            System.out.printf(
                    "%d streams of %d chunks, %d ms apart; process CPU per chunk, median of %d rounds (min-max)%n",
                    streams, chunks, tokenMillis, rounds);
            double direct = TokensBenchmark.median(perChunk.get("direct"));
            for (var way : perChunk.entrySet()) {
                double[] values = way.getValue();
                System.out.printf(
                        "%-22s %s us%s%n",
                        way.getKey(),
                        TokensBenchmark.spread(values),
                        way.getKey().equals("direct")
                                ? ""
                                : "   added %.1f us".formatted(TokensBenchmark.median(values) - direct));
            }
        }
    }

    private interface Connection {
        void serve(Socket client) throws Exception;
    }

    /**
     * A relay of every stream on one platform thread, as an event loop relays: a selector wakes it when any
     * upstream has bytes, it reads them and writes them to that stream's caller (a blocking write, which a caller
     * reading as fast as the upstream writes never makes wait).
     */
    private static void eventLoop(ServerSocketChannel server, ServerSocket upstream) throws IOException {
        Selector selector = Selector.open();
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
        Thread.ofPlatform().daemon().start(() -> {
            ByteBuffer buffer = ByteBuffer.allocateDirect(16 * 1024);
            try (selector) {
                while (server.isOpen()) {
                    selector.select();
                    for (SelectionKey key : selector.selectedKeys()) {
                        if (key.isAcceptable()) {
                            SocketChannel client = server.accept();
                            if (client == null) continue;
                            client.setOption(StandardSocketOptions.TCP_NODELAY, true);
                            SocketChannel up = SocketChannel.open(upstream.getLocalSocketAddress());
                            up.setOption(StandardSocketOptions.TCP_NODELAY, true);
                            up.configureBlocking(false);
                            up.register(selector, SelectionKey.OP_READ, client);
                        } else if (key.isReadable()) {
                            SocketChannel up = (SocketChannel) key.channel();
                            SocketChannel client = (SocketChannel) key.attachment();
                            buffer.clear();
                            int n = up.read(buffer);
                            if (n < 0) {
                                key.cancel();
                                up.close();
                                client.close();
                                continue;
                            }
                            buffer.flip();
                            while (buffer.hasRemaining()) client.write(buffer);
                        }
                    }
                    selector.selectedKeys().clear();
                }
            } catch (IOException closed) {
                // the benchmark is over
            }
        });
    }

    private static ServerSocket listen() throws IOException {
        return new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
    }

    private static Socket connect(ServerSocket server) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        socket.setTcpNoDelay(true);
        return socket;
    }

    /** Accepts connections for ever, each served on a thread of its own made by {@code threads}. */
    private static void serve(ServerSocket server, Thread.Builder threads, Connection connection) {
        Thread.ofPlatform().daemon().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket client = server.accept();
                    client.setTcpNoDelay(true);
                    threads.start(() -> {
                        try (client) {
                            connection.serve(client);
                        } catch (Exception ignored) {
                            // the caller or the upstream went: this stream ends
                        }
                    });
                } catch (IOException closed) {
                    return;
                }
            }
        });
    }

    /**
     * {@code streams} callers on platform threads, their starts spread over one chunk's time, each reading one
     * stream to its end through {@code server}; the process's CPU time over the whole, in nanoseconds.
     */
    private static long run(ServerSocket server, int streams, int chunks, int tokenMillis) throws Exception {
        long before = GatewayBenchmark.processCpuNanos();
        List<Thread> callers = new ArrayList<>();
        List<Exception> failures = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            long delayNanos = tokenMillis * 1_000_000L * i / streams;
            callers.add(Thread.ofPlatform().start(() -> {
                byte[] buffer = new byte[16 * 1024];
                long read = 0;
                try {
                    Thread.sleep(java.time.Duration.ofNanos(delayNanos));
                    try (Socket socket = connect(server)) {
                        InputStream in = socket.getInputStream();
                        for (int n; (n = in.read(buffer)) > 0; ) read += n;
                    }
                    if (read != (long) CHUNK.length * chunks) throw new IOException("read " + read + " bytes");
                } catch (Exception e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            }));
        }
        for (Thread caller : callers) caller.join();
        if (!failures.isEmpty()) throw failures.getFirst();
        return GatewayBenchmark.processCpuNanos() - before;
    }
}
