package dev.parley.server.http;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.ServerException;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import dev.parley.server.engine.Prepared;
import dev.parley.server.responses.KeptResponses;
import dev.parley.server.responses.StoredResponse;
import io.javalin.config.Key;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Responses made in the background (the Responses API's {@code background: true}): the request is answered at once
 * with the response {@code queued}, kept as it goes ({@code queued}, {@code in_progress}, then {@code completed},
 * {@code incomplete}, {@code failed} or {@code cancelled}), so that its key fetches it from any replica sharing the
 * store; its generation runs on a thread of its own, whatever becomes of the request's client.
 *
 * <p>A response created with {@code stream: true} too streams its events to the request as they come, and any
 * request of its key may follow them again from where it got to ({@code GET /v1/responses/{id}?stream=true&
 * starting_after=N}): from this server's copy of the events while it runs and for {@link #EVENTS_FOR} after, else
 * (another replica runs it, or ran it) with the response's last event once it has ended.
 *
 * <p>Cancelling ({@code POST /v1/responses/{id}/cancel}) ends the generation where it is: at once on the server that
 * runs it, through the store from another (the server that runs it looks for the request every {@link #LOOK_EVERY}).
 * The server that runs a response marks it alive in the store while it does: one whose server stopped (a crash, a
 * machine lost) reads as {@code failed} rather than in progress for ever. A server that stops gracefully ends its
 * runs within its drain, as every request's.
 *
 * <p>Thread-safe.
 */
final class BackgroundResponses implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BackgroundResponses.class);
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    static final Key<BackgroundResponses> KEY = new Key<>("parley.background");

    /** How long a finished run's events stay here for a stream to follow again. */
    static final Duration EVENTS_FOR = Duration.ofMinutes(10);

    /** How often the server running a response looks whether it was cancelled, and another whether it has ended. */
    static final Duration LOOK_EVERY = Duration.ofMillis(200);

    /** How long a cancel waits for the response to end before it answers with the response as it then is. */
    static final Duration CANCEL_WAIT = Duration.ofSeconds(10);

    /** The statuses of a response that has ended. */
    static final Set<String> ENDED = Set.of("completed", "incomplete", "failed", "cancelled");

    private final Engine engine;
    private final KeptResponses kept;
    private final ResponsesReply reply;
    private final Clock clock;
    private final Duration keepAlive;
    private final Map<String, Run> runs = new ConcurrentHashMap<>(); // this server's, running and recently ended

    BackgroundResponses(Engine engine, KeptResponses kept, ResponsesReply reply, Clock clock, Duration keepAlive) {
        this.engine = engine;
        this.kept = kept;
        this.reply = reply;
        this.clock = clock;
        this.keepAlive = keepAlive;
    }

    /** One response made here: its events so far, and what ends it. */
    private static final class Run {
        final String id;
        final boolean streamed;
        private final List<ObjectNode> events = new ArrayList<>(); // guarded by this; event i is sequence number i
        private boolean ended; // guarded by this
        private long endedNanos; // guarded by this
        final CountDownLatch done = new CountDownLatch(1);
        private volatile boolean cancelled; // its key cancelled it
        private volatile boolean stopped; // the server is closing
        private volatile TimedGeneration generation;

        Run(String id, boolean streamed) {
            this.id = id;
            this.streamed = streamed;
        }

        synchronized void add(List<ObjectNode> more) {
            if (streamed) events.addAll(more);
            notifyAll();
        }

        synchronized void end() {
            ended = true;
            endedNanos = System.nanoTime();
            notifyAll();
        }

        synchronized long endedNanos() {
            return endedNanos;
        }

        synchronized boolean endedBefore(long nanos) {
            return ended && endedNanos - nanos < 0;
        }

        /** The events after sequence number {@code cursor}, waiting for the next; null once there are no more. */
        synchronized List<ObjectNode> after(int cursor) throws InterruptedException {
            while (true) {
                if ((long) cursor + 1 < events.size()) return List.copyOf(events.subList(cursor + 1, events.size()));
                if (ended) return null;
                wait();
            }
        }

        /** Ends the generation where it is; the run then keeps the response {@code cancelled}. */
        void cancel() {
            cancelled = true;
            cut();
        }

        /** Ends the generation where it is, the server closing; the run then keeps the response {@code failed}. */
        void stop() {
            stopped = true;
            cut();
        }

        /**
         * Cuts the generation, if it has begun (else the run cuts it as it begins): a read waiting for its next event
         * wakes, and it and every later one fail, while the run's other work (keeping the response) goes on
         * undisturbed.
         */
        private void cut() {
            TimedGeneration running = generation;
            if (running != null) running.cut();
        }
    }

    /**
     * Makes the response {@code request} asks for in the background, {@code prepared} and admitted, for the key named
     * {@code owner}: kept {@code queued}, then answered (the queued response, or its events as they come when it
     * streams). {@code ended} is told of the generation when it ends (null when it never started), to record and
     * settle what it used.
     *
     * @throws ApiException 503 {@code response_store_unavailable} when the response cannot be kept: nobody could
     *     fetch it
     */
    void start(Context ctx, ResponsesRequest request, Prepared prepared, String owner, Consumer<Generation> ended)
            throws InterruptedException {
        String id = Ids.response("resp_");
        long created = clock.instant().getEpochSecond();
        ObjectNode queued = ResponsesReply.response(
                request, id, created, request.chat().model(), "queued", NODES.arrayNode(), null);
        kept.beat(id);
        if (!kept.keep(stored(request, owner, id, created, queued))) {
            ended.accept(null);
            throw new ServerException(
                    503,
                    new ApiError(
                            "The response could not be stored, which a background response needs; please retry shortly.",
                            ApiError.SERVER_ERROR,
                            null,
                            "response_store_unavailable"));
        }
        Run run = new Run(id, request.streaming());
        runs.put(id, run);
        Exchange exchange = Exchange.of(ctx);
        if (exchange.drain != null) exchange.drain.background();
        Thread.ofVirtual().name("parley-background-" + id).start(() -> {
            try {
                run(run, request, prepared, owner, created, queued, exchange, ended);
            } finally {
                run.end();
                if (!run.streamed) runs.remove(id); // its state is the store's now; only a stream's events stay
                run.done.countDown();
                if (exchange.drain != null) exchange.drain.leave();
                forgetOldRuns();
            }
        });
        Thread.ofVirtual().name("parley-background-watch-" + id).start(() -> watch(run));
        if (request.streaming()) follow(ctx, run, -1);
        else ctx.status(200).contentType("application/json").result(Json.write(queued));
    }

    private static StoredResponse stored(
            ResponsesRequest request, String owner, String id, long created, ObjectNode response) {
        return new StoredResponse(id, owner, created, request.previousId(), request.input(), response);
    }

    /** The run itself, on its own thread: every way it can end keeps the response as it ended. */
    private void run(
            Run run,
            ResponsesRequest request,
            Prepared prepared,
            String owner,
            long created,
            ObjectNode queued,
            Exchange exchange,
            Consumer<Generation> ended) {
        Generation started;
        try {
            started = prepared.start();
        } catch (ApiException e) {
            ended.accept(null);
            keepEnded(request, owner, run, created, queued, e.error());
            return;
        } catch (RuntimeException e) {
            ended.accept(null);
            log.error("Background response {} could not start", run.id, e);
            keepEnded(request, owner, run, created, queued, unexpected());
            return;
        }
        try (TimedGeneration generation = new TimedGeneration(started, exchange)) {
            run.generation = generation;
            if (run.cancelled || run.stopped) generation.cut(); // ended before it began
            ResponsesReply.Frames frames = reply.frames(request, owner, run.id, created, generation.model());
            try {
                List<ObjectNode> opening = frames.opening();
                kept.keep(stored(request, owner, run.id, created, (ObjectNode)
                        opening.getFirst().get("response")));
                run.add(opening);
                for (GenerationEvent event; (event = generation.next()) != null; ) run.add(frames.on(event));
                if (run.cancelled) frames.cancelled(generation.usage());
                else run.add(frames.closing(generation.usage()));
            } catch (ApiException e) { // a cut (the key's cancel, the server's stop or drain) or the engine's error
                if (run.cancelled) frames.cancelled(generation.usage());
                else run.add(frames.failed(e.error()));
            } catch (InterruptedException | RuntimeException e) { // nothing interrupts this thread but a fault
                log.error("Background response {} failed", run.id, e);
                run.add(frames.failed(unexpected()));
            } finally {
                ended.accept(generation);
            }
        }
    }

    /**
     * Keeps the response ended before any of its output: {@code cancelled} when its key cancelled it, else {@code
     * failed} with {@code error} (the server's closing, when it is).
     */
    private void keepEnded(
            ResponsesRequest request, String owner, Run run, long created, ObjectNode queued, ApiError error) {
        ObjectNode ended = queued.deepCopy().put("status", run.cancelled ? "cancelled" : "failed");
        if (!run.cancelled)
            ended.putObject("error")
                    .put("code", error.code() == null ? "server_error" : error.code())
                    .put("message", error.message());
        kept.keep(stored(request, owner, run.id, created, ended));
    }

    private static ApiError unexpected() {
        return new ApiError(
                "The server had an error while making this response.", ApiError.SERVER_ERROR, null, "server_error");
    }

    /** Marks the run alive, and looks whether it was cancelled from another replica, until it ends. */
    private void watch(Run run) {
        long lastBeat = System.nanoTime();
        try {
            while (!run.done.await(LOOK_EVERY.toMillis(), TimeUnit.MILLISECONDS)) {
                if (kept.cancelRequested(run.id)) run.cancel();
                if (System.nanoTime() - lastBeat >= KeptResponses.BEAT_EVERY.toNanos()) {
                    kept.beat(run.id);
                    lastBeat = System.nanoTime();
                }
            }
        } catch (InterruptedException e) {
            // the server is closing: its runs end with it
        }
    }

    /**
     * Forgets the events of streams that ended more than {@link #EVENTS_FOR} ago, and of the earliest ended beyond the
     * last {@link #ENDED_STREAMS}: a stream followed after that gets its response's last event.
     */
    private void forgetOldRuns() {
        long now = System.nanoTime();
        long before = now - EVENTS_FOR.toNanos();
        for (Iterator<Run> all = runs.values().iterator(); all.hasNext(); )
            if (all.next().endedBefore(before)) all.remove();
        List<Run> ended = new ArrayList<>();
        for (Run run : runs.values()) if (run.endedBefore(now)) ended.add(run);
        if (ended.size() <= ENDED_STREAMS) return;
        ended.sort(Comparator.comparingLong(Run::endedNanos));
        for (Run run : ended.subList(0, ended.size() - ENDED_STREAMS)) runs.remove(run.id, run);
    }

    /** The most ended streams whose events are kept here at once. */
    static final int ENDED_STREAMS = 64;

    /**
     * The response as it stands: one that has not ended, run by no server alive (it stopped while the response ran),
     * reads as {@code failed}.
     */
    ObjectNode current(StoredResponse stored) {
        ObjectNode response = stored.response();
        if (!response.path("background").asBoolean(false)
                || ENDED.contains(response.path("status").asText())) return response;
        if (stored.upstream() != null) return fromUpstream(stored, "GET", "/responses/" + stored.id());
        Run run = runs.get(stored.id());
        if (run != null || kept.alive(stored.id())) return response;
        ObjectNode failed = response.deepCopy().put("status", "failed");
        failed.putObject("error")
                .put("code", "server_error")
                .put("message", "The server making this response stopped before it finished; create it again.");
        return failed;
    }

    /**
     * What the server that makes {@code stored} (a response of a model served upstream) answers to {@code method}
     * {@code path}: the response as it stands there, kept here once it has ended (it is then read here). As last
     * known when that server is no longer one of this gateway's.
     */
    private ObjectNode fromUpstream(StoredResponse stored, String method, String path) {
        ObjectNode fresh = engine.askOrigin(stored.upstream(), method, path).orElse(null);
        if (fresh == null) return stored.response();
        if (ENDED.contains(fresh.path("status").asText()))
            kept.keep(new StoredResponse(
                    stored.id(),
                    stored.owner(),
                    stored.createdAt(),
                    stored.previousId(),
                    stored.input(),
                    fresh,
                    stored.upstream()));
        return fresh;
    }

    /**
     * Cancels the background response {@code stored} (of the key asking): ends its generation, at once here or
     * through the store on another replica, and answers the response as it then stands ({@code cancelled}). One that
     * has ended already is answered as it ended: cancelling twice is the same as once.
     *
     * @throws InvalidRequestException 400 for a response not made in the background: it ended when it was answered
     */
    ObjectNode cancel(StoredResponse stored, String owner) throws InterruptedException {
        if (!stored.response().path("background").asBoolean(false))
            throw InvalidRequestException.of(
                    null,
                    null,
                    "Only a response created with background=true can be cancelled; '%s' was answered when it was created."
                            .formatted(stored.id()));
        ObjectNode now = current(stored);
        if (ENDED.contains(now.path("status").asText())) return now;
        if (stored.upstream() != null) return fromUpstream(stored, "POST", "/responses/" + stored.id() + "/cancel");
        Run run = runs.get(stored.id());
        if (run != null) {
            run.cancel();
            run.done.await(CANCEL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } else {
            kept.requestCancel(stored.id());
            long deadline = System.nanoTime() + CANCEL_WAIT.toNanos();
            while (System.nanoTime() - deadline < 0) {
                Thread.sleep(LOOK_EVERY.toMillis());
                StoredResponse again = kept.find(owner, stored.id()).orElse(null);
                if (again == null) return now;
                now = current(again);
                if (ENDED.contains(now.path("status").asText())) return now;
            }
            return now;
        }
        return kept.find(owner, stored.id()).map(this::current).orElse(now);
    }

    /**
     * Streams the background response {@code stored} again, after the event {@code startingAfter} (-1: from the
     * first): its events here as they come, or, when another server runs it, its last event once it has ended.
     *
     * @throws InvalidRequestException 400 for a response not made in the background with {@code stream: true}
     */
    void stream(Context ctx, StoredResponse stored, String owner, int startingAfter) throws InterruptedException {
        ObjectNode response = stored.response();
        if (!response.path("background").asBoolean(false))
            throw InvalidRequestException.of(
                    "stream",
                    "unsupported_value",
                    "Only a background response can be streamed again; '%s' was answered when it was created (stream=false)."
                            .formatted(stored.id()));
        Run run = runs.get(stored.id());
        if (run != null) {
            if (!run.streamed)
                throw InvalidRequestException.of(
                        "stream",
                        "unsupported_value",
                        "Response '%s' was created without stream: true; fetch it whole (stream=false)."
                                .formatted(stored.id()));
            follow(ctx, run, startingAfter);
            return;
        }
        // Another server runs it, or ran it (an upstream, asked no more than once a second): the response's last
        // event, once it has ended.
        boolean[] sent = {false};
        Duration every = stored.upstream() != null ? Duration.ofSeconds(1) : LOOK_EVERY;
        EventStream.follow(ctx, keepAlive, () -> {
            if (sent[0]) return null;
            ObjectNode last = current(stored);
            while (!ENDED.contains(last.path("status").asText())) {
                Thread.sleep(every.toMillis());
                StoredResponse again = kept.find(owner, stored.id()).orElse(null);
                if (again == null) return null;
                last = current(again);
            }
            String status = last.path("status").asText();
            sent[0] = true;
            if (status.equals("cancelled")) return null;
            return List.of(NODES.objectNode()
                    .put("type", "response." + status)
                    .put("sequence_number", Math.max(0L, (long) startingAfter + 1))
                    .set("response", last));
        });
    }

    /** Streams the run's events after {@code cursor} as they come, until it ends or the client goes. */
    private void follow(Context ctx, Run run, int cursor) throws InterruptedException {
        int[] at = {cursor};
        EventStream.follow(ctx, keepAlive, () -> {
            List<ObjectNode> next = run.after(at[0]);
            if (next != null && !next.isEmpty())
                at[0] = next.getLast().path("sequence_number").asInt();
            return next;
        });
    }

    /** Ends every run of this server (the server is closing): each is kept as it ended, within a few seconds. */
    @Override
    public void close() {
        List<Run> running = new ArrayList<>();
        for (Run run : runs.values())
            if (run.done.getCount() > 0) {
                run.stop();
                running.add(run);
            }
        for (Run run : running)
            try {
                run.done.await(CANCEL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
    }
}
