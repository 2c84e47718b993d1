package dev.parley.server.http;

import io.javalin.http.Context;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.SocketChannelEndPoint;

/**
 * Notices a client that closes its connection while its non-streaming answer is still being generated, so
 * that the generation can be cancelled instead of running to its cap. A stream notices by its failing
 * writes; a JSON answer writes nothing until the end, and Jetty does not read an HTTP/1.1 connection while
 * its request is being handled, so nobody would see the close.
 *
 * <p>How: one thread for the whole process wakes every {@link #PERIOD_MILLIS} and reads, without blocking, the
 * socket of each connection watched for at least that long. End of stream means the client has gone (a client that
 * only shut down its sending side looks the same and is treated as gone; HTTP clients do not do that while they
 * wait for an answer). Bytes mean the client sent its next request before this answer (pipelining); they cannot be
 * put back, so watching stops and the answer closes the connection ({@code Connection: close}), which tells such a
 * client to send that request again. Only plain HTTP/1.1 connections are watched: a TLS or HTTP/2 connection's
 * socket carries more than this request. (A virtual thread per watch, started and joined by every JSON answer,
 * was 3% of a relayed request's processor time at 64 callers.)
 *
 * <p>Thread-safe. {@link #stop} is idempotent, and once it returns the socket is not read again and what the
 * client's going set in motion has run; the watching thread is never interrupted, since interrupting a thread in a
 * channel read closes the channel.
 */
final class ClientWatch {
    static final long PERIOD_MILLIS = 100;
    private static final long PERIOD_NANOS = PERIOD_MILLIS * 1_000_000;
    private static final ClientWatch NONE = new ClientWatch(null, null);

    private final SocketChannel channel;
    private final Runnable onGone;
    private final long since = System.nanoTime();
    private boolean stopped; // guarded by this
    private volatile boolean gone;
    private volatile boolean consumedInput;

    private ClientWatch(SocketChannel channel, Runnable onGone) {
        this.channel = channel;
        this.onGone = onGone;
    }

    /** Watches the connection of {@code ctx}; runs {@code onGone} once if the client goes. */
    static ClientWatch start(Context ctx, Runnable onGone) {
        SocketChannel channel = plainChannel(ctx);
        if (channel == null) return NONE;
        ClientWatch watch = new ClientWatch(channel, onGone);
        Watcher.INSTANCE.add(watch);
        return watch;
    }

    /** The socket of a plain HTTP/1.1 connection, or null. */
    private static SocketChannel plainChannel(Context ctx) {
        try {
            EndPoint endPoint = ServletContextRequest.getServletContextRequest(ctx.req())
                    .getConnectionMetaData()
                    .getConnection()
                    .getEndPoint();
            if (endPoint instanceof SocketChannelEndPoint socket
                    && socket.getChannel() instanceof SocketChannel channel
                    && "HTTP/1.1".equals(ctx.req().getProtocol())) {
                return channel;
            }
        } catch (RuntimeException e) {
            // not a Jetty servlet request: nothing to watch
        }
        return null;
    }

    /** One look at the socket, on the watching thread; whether to keep watching. */
    private synchronized boolean poll(ByteBuffer one) {
        if (stopped) return false;
        int read;
        try {
            read = channel.read(one.clear());
        } catch (IOException e) {
            read = -1; // reset by the peer: gone as well
        }
        if (read < 0) {
            gone = true;
            stopped = true;
            onGone.run(); // under the lock: stop() returns only after it
            return false;
        }
        if (read > 0) {
            consumedInput = true;
            stopped = true;
            return false;
        }
        return true;
    }

    /** A watch of nothing, for replies that notice a gone client by themselves. */
    static ClientWatch none() {
        return NONE;
    }

    /** Stops watching (waiting, never long, for a look in progress); returns whether the client had gone. */
    boolean stop() {
        if (this == NONE) return false;
        synchronized (this) {
            stopped = true;
        }
        Watcher.INSTANCE.remove(this);
        return gone;
    }

    /** Whether watching read bytes of a next request, so the connection must close after this answer. */
    boolean consumedInput() {
        return consumedInput;
    }

    /** The thread that looks at every watched socket, parked while nothing is watched. */
    private static final class Watcher {
        static final Watcher INSTANCE = new Watcher();

        private final Set<ClientWatch> watches = ConcurrentHashMap.newKeySet();
        private final Thread thread =
                Thread.ofPlatform().daemon().name("parley-client-watch").unstarted(this::run);
        private volatile boolean idle; // parked until a watch comes

        private Watcher() {
            thread.start();
        }

        void add(ClientWatch watch) {
            watches.add(watch);
            if (idle) LockSupport.unpark(thread);
        }

        void remove(ClientWatch watch) {
            watches.remove(watch);
        }

        private void run() {
            ByteBuffer one = ByteBuffer.allocate(1);
            while (true) {
                if (watches.isEmpty()) {
                    idle = true;
                    if (watches.isEmpty()) LockSupport.park(this);
                    idle = false;
                    continue;
                }
                LockSupport.parkNanos(this, PERIOD_NANOS);
                long now = System.nanoTime();
                for (ClientWatch watch : watches) {
                    if (now - watch.since < PERIOD_NANOS) continue; // its answer may well come first
                    try {
                        if (!watch.poll(one)) watches.remove(watch);
                    } catch (RuntimeException e) {
                        watches.remove(watch); // its reply's own failure to handle; the other watches go on
                    }
                }
            }
        }
    }
}
