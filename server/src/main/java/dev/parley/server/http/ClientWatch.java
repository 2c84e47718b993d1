package dev.parley.server.http;

import io.javalin.http.Context;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.SocketChannelEndPoint;

/**
 * Notices a client that closes its connection while its non-streaming answer is still being generated, so
 * that the generation can be cancelled instead of running to its cap. A stream notices by its failing
 * writes; a JSON answer writes nothing until the end, and Jetty does not read an HTTP/1.1 connection while
 * its request is being handled, so nobody would see the close.
 *
 * <p>How: every {@link #PERIOD_MILLIS}, a virtual thread reads the connection's socket without blocking.
 * End of stream means the client has gone (a client that only shut down its sending side looks the same and
 * is treated as gone; HTTP clients do not do that while they wait for an answer). Bytes mean the client sent its next request before this answer
 * (pipelining); they cannot be put back, so watching stops and the answer closes the connection
 * ({@code Connection: close}), which tells such a client to send that request again. Only plain HTTP/1.1
 * connections are watched: a TLS or HTTP/2 connection's socket carries more than this request.
 *
 * <p>Thread-safe. {@link #stop} is idempotent; the watching thread is never interrupted, since interrupting
 * a thread in a channel read closes the channel.
 */
final class ClientWatch {
    static final long PERIOD_MILLIS = 100;
    private static final ClientWatch NONE = new ClientWatch(null, null);

    private final SocketChannel channel;
    private final Runnable onGone;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean gone;
    private volatile boolean consumedInput;
    private Thread thread;

    private ClientWatch(SocketChannel channel, Runnable onGone) {
        this.channel = channel;
        this.onGone = onGone;
    }

    /** Watches the connection of {@code ctx}; runs {@code onGone} once if the client goes. */
    static ClientWatch start(Context ctx, Runnable onGone) {
        SocketChannel channel = plainChannel(ctx);
        if (channel == null) return NONE;
        ClientWatch watch = new ClientWatch(channel, onGone);
        watch.thread = Thread.ofVirtual().name("parley-client-watch").start(watch::watch);
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

    private void watch() {
        ByteBuffer one = ByteBuffer.allocate(1);
        try {
            while (!stopped.await(PERIOD_MILLIS, TimeUnit.MILLISECONDS)) {
                int read;
                try {
                    read = channel.read(one.clear());
                } catch (IOException e) {
                    read = -1; // reset by the peer: gone as well
                }
                if (read < 0) {
                    gone = true;
                    onGone.run();
                    return;
                }
                if (read > 0) {
                    consumedInput = true;
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A watch of nothing, for replies that notice a gone client by themselves. */
    static ClientWatch none() {
        return NONE;
    }

    /** Stops watching and waits for the watching thread (never long); returns whether the client had gone. */
    boolean stop() {
        stopped.countDown();
        boolean interrupted = false;
        while (thread != null && thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        return gone;
    }

    /** Whether watching read bytes of a next request, so the connection must close after this answer. */
    boolean consumedInput() {
        return consumedInput;
    }
}
