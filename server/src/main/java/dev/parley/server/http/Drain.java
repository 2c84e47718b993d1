package dev.parley.server.http;

import dev.parley.api.ApiError;
import dev.parley.api.ServerException;
import io.javalin.Javalin;
import io.javalin.config.Key;
import io.javalin.http.Context;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A server's graceful stop: from {@link #drain} on, new requests get 503 {@code server_shutting_down}
 * (and their connections close), running ones may finish until the deadline, and those still generating
 * then are cut: a stream ends with an error event, as OpenAI ends a failed stream, and an answer not yet
 * sent is a 503. Thread-safe.
 */
public final class Drain {
    static final Key<Drain> KEY = new Key<>("parley.drain");
    /** How long cut requests have to write their last event and end, after the deadline. */
    static final Duration AFTER_CUT = Duration.ofSeconds(5);

    private final AtomicInteger inFlight = new AtomicInteger();
    private final Set<TimedGeneration> running = ConcurrentHashMap.newKeySet();
    private volatile boolean draining;
    private volatile boolean cutting;

    /** The drain of a server made by {@link HttpApi#create}. */
    public static Drain of(Javalin app) {
        return app.unsafe.appDataManager.get(KEY);
    }

    /** A request begins: counted until {@link #leave}; refused while draining. */
    void enter(Context ctx) {
        inFlight.incrementAndGet();
        if (draining) {
            ctx.header("Connection", "close");
            throw shuttingDown();
        }
    }

    /**
     * A background response begins, after its request was admitted: counted until {@link #leave}, so that a drain
     * waits for it as for a request, and cuts it at the deadline.
     */
    void background() {
        inFlight.incrementAndGet();
    }

    /** A request's reply, or a background response, is done. */
    void leave() {
        inFlight.decrementAndGet();
    }

    /** Requests being answered now. */
    public int inFlight() {
        return inFlight.get();
    }

    void started(TimedGeneration generation) {
        running.add(generation);
        if (cutting) generation.cut();
    }

    void ended(TimedGeneration generation) {
        running.remove(generation);
    }

    /**
     * Refuses new requests from now on, waits until the running ones have finished or {@code grace} has
     * passed, then cuts those still generating and gives them a moment to end.
     *
     * @return how many generations were cut
     */
    public int drain(Duration grace) throws InterruptedException {
        refuse();
        if (await(grace)) return 0;
        cutting = true;
        List<TimedGeneration> cut = List.copyOf(running);
        cut.forEach(TimedGeneration::cut);
        await(AFTER_CUT);
        return cut.size();
    }

    /** Refuses new requests from now on (503 {@code server_shutting_down}); running ones go on. */
    public void refuse() {
        draining = true;
    }

    /** Waits until no request is in flight, or {@code limit} has passed; whether none is. */
    private boolean await(Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (inFlight.get() > 0) {
            if (System.nanoTime() - deadline >= 0) return false;
            Thread.sleep(10);
        }
        return true;
    }

    static ServerException shuttingDown() {
        return new ServerException(
                503,
                new ApiError(
                        "The server is shutting down; please retry your request.",
                        ApiError.SERVER_ERROR,
                        null,
                        "server_shutting_down"));
    }
}
