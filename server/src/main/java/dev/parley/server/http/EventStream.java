package dev.parley.server.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.Json;
import dev.parley.api.Logprobs;
import dev.parley.api.TextCompletion;
import dev.parley.api.ToolCall;
import dev.parley.api.Usage;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import dev.parley.server.engine.Relayed;
import dev.parley.sse.Deadlines;
import dev.parley.sse.SseEvent;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@code text/event-stream} response, one {@code data:} event per JSON object, flushed at once.
 * A write fails with {@link IOException} once the client has gone, which is how a reply learns to cancel.
 *
 * <p>While nothing is written for the server's keep-alive time, a comment ({@code : keep-alive}, which every SSE
 * reader skips) goes out, so that a proxy or load balancer that cuts idle connections keeps a stream that waits in
 * the queue, reads a long prompt or waits for an upstream. {@link #SILENCES}' thread sends the comments;
 * writes take turns under one lock, and none is written once {@link #close} has returned. A comment that fails
 * means the client has gone: the generation is closed and the replying thread woken, so a stream whose client
 * left while it waited ends then rather than when it would first have written.
 *
 * <p>A relayed stream that passes no event for its upstream's {@link Relayed#idleTimeout} (comments, the upstream's
 * or these, do not count) is ended the same way, with an error event: the comments would otherwise keep its caller
 * waiting for ever on an upstream that has stopped, where the caller's own read timeout would have ended it.
 */
final class EventStream implements AutoCloseable, Deadlines.Watched {
    /** Writes every stream's comment, or its end, when it falls silent (see {@link #fire}). */
    private static final Deadlines SILENCES = new Deadlines("parley-sse-keep-alive");

    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;
    private final long keepAliveNanos; // 0: no comments
    private final long idleNanos; // a relayed stream's longest time without an event; 0: no limit
    private final Generation generation;
    private final Thread replying;
    private final ReentrantLock writing = new ReentrantLock();
    private volatile long lastWrite = System.nanoTime();
    private volatile long lastEvent = lastWrite;
    private boolean closed; // guarded by writing
    // Set under the lock, before the reply is woken, and read by the reply once woken:
    private volatile boolean gone; // a comment failed: the client has gone
    private volatile boolean idle; // a relayed stream passed no event for its idle time

    private EventStream(OutputStream out, Duration keepAlive, Generation generation) {
        this.out = out;
        this.keepAliveNanos = keepAlive.toNanos();
        this.idleNanos =
                generation instanceof Relayed relayed ? relayed.idleTimeout().toNanos() : 0;
        this.generation = generation;
        this.replying = Thread.currentThread();
    }

    /** The objects one kind of stream sends; the order, errors, usage and {@code [DONE]} are {@link #relay}'s. */
    interface Frames {
        /** Text (and its log-probability, or null) for a choice. */
        Object token(int choice, String text, Logprobs.TokenLogprob logprob);

        /** A piece of a choice's reasoning. */
        Object reasoning(int choice, String text);

        /** A choice's echoed prompt, with its log-probabilities or null. */
        Object echo(int choice, String text, TextCompletion.CompletionLogprobs logprobs);

        /** A piece of a tool call of a choice. */
        Object toolCall(int choice, ToolCall piece);

        /** The last event of a choice. */
        Object finished(int choice, String reason);

        /** The usage event of a stream that asked for it. */
        Object usage(Usage usage);
    }

    /**
     * Streams a generation: the opening events, one event per token with text (or log-probabilities)
     * and per finished choice, the usage event when asked for, then {@code [DONE]}. An engine failure
     * mid-way goes out as an error event, as OpenAI sends it, since the status line is long gone. A client
     * that goes away ends the loop; the caller's close of the generation then cancels it. Silences longer than
     * {@code keepAlive} (unless zero) carry a comment.
     */
    static void relay(
            Context ctx, Duration keepAlive, Generation generation, List<?> opening, Frames frames, boolean withUsage)
            throws InterruptedException {
        try (EventStream events = open(ctx, keepAlive, generation)) {
            try {
                for (Object event : opening) events.send(event);
                try {
                    for (GenerationEvent event; (event = generation.next()) != null; ) {
                        switch (event) {
                            case GenerationEvent.Token(var choice, var text, var logprob) -> {
                                if (!text.isEmpty() || logprob != null)
                                    events.send(frames.token(choice, text, logprob));
                            }
                            case GenerationEvent.Reasoning(var choice, var text) ->
                                events.send(frames.reasoning(choice, text));
                            case GenerationEvent.Echo(var choice, var text, var logprobs) -> {
                                if (!text.isEmpty() || logprobs != null)
                                    events.send(frames.echo(choice, text, logprobs));
                            }
                            case GenerationEvent.ToolCallPiece(var choice, var piece) ->
                                events.send(frames.toolCall(choice, piece));
                            case GenerationEvent.Finished(var choice, var reason, var tokens) ->
                                events.send(frames.finished(choice, reason));
                        }
                    }
                } catch (ApiException e) {
                    events.send(e.error().body());
                    return;
                }
                if (withUsage) events.send(frames.usage(generation.usage()));
                events.done();
            } catch (InterruptedException e) {
                if (!events.gone) throw e; // else woken because the client has gone: nothing to answer to
            }
        } catch (IOException clientGone) {
            // Nothing to answer to; returning lets the caller close (and so cancel) the generation.
        }
    }

    /**
     * What a stream of named events (the Responses API's) sends: JSON objects, each named by its {@code type}; a
     * generation event may become several of them, or none.
     */
    interface NamedFrames {
        /** The events before the first token. */
        List<ObjectNode> opening();

        /** The events a generation event becomes. */
        List<ObjectNode> on(GenerationEvent event);

        /** The events after the last one, given the generation's usage. */
        List<ObjectNode> closing(Usage usage);

        /** The events that end a stream whose generation failed with {@code error}. */
        List<ObjectNode> failed(ApiError error);
    }

    /**
     * Streams a generation as named events ({@code event: TYPE}, then its JSON), those of a generation event flushed
     * together; no {@code [DONE]} follows, as none follows the Responses API's. A failure mid-way ends the stream with
     * the failure's events; a client that goes away ends the loop, and the caller's close of the generation cancels it.
     */
    static void named(Context ctx, Duration keepAlive, Generation generation, NamedFrames frames)
            throws InterruptedException {
        try (EventStream events = open(ctx, keepAlive, generation)) {
            try {
                events.sendAll(frames.opening());
                try {
                    for (GenerationEvent event; (event = generation.next()) != null; ) events.sendAll(frames.on(event));
                } catch (ApiException e) {
                    events.sendAll(frames.failed(e.error()));
                    return;
                }
                events.sendAll(frames.closing(generation.usage()));
            } catch (InterruptedException e) {
                if (!events.gone) throw e; // else woken because the client has gone: nothing to answer to
            }
        } catch (IOException clientGone) {
            // Nothing to answer to; returning lets the caller close (and so cancel) the generation.
        }
    }

    /** Named events made elsewhere, as {@link #follow} sends them. */
    interface Source {
        /** The next events, waiting for them; null once there are no more. */
        List<ObjectNode> next() throws InterruptedException;
    }

    /**
     * Streams named events as {@code source} gives them, each named by its {@code type}, with a comment in each
     * silence longer than {@code keepAlive}; a client that goes away ends it (what makes the events goes on).
     */
    static void follow(Context ctx, Duration keepAlive, Source source) throws InterruptedException {
        try (EventStream events = open(ctx, keepAlive, null)) {
            try {
                for (List<ObjectNode> next; (next = source.next()) != null; ) events.sendAll(next);
            } catch (InterruptedException e) {
                if (!events.gone) throw e; // else woken because the client has gone: nothing to answer to
            }
        } catch (IOException clientGone) {
            // Nothing to answer to.
        }
    }

    /** Writes each event named by its {@code type}, flushing after the last. */
    private void sendAll(List<ObjectNode> named) throws IOException {
        for (int i = 0; i < named.size(); i++) {
            ObjectNode event = named.get(i);
            write(event.path("type").asText(), Json.write(event), i == named.size() - 1);
        }
    }

    /**
     * Streams another server's events as they come, each event's name and data unchanged, then {@code [DONE]} when
     * the other server sent it; a failure mid-way goes out as an error event. Silences longer than {@code keepAlive}
     * (unless zero) carry a comment, whether or not the other server sent its own.
     */
    static void relay(Context ctx, Duration keepAlive, Relayed relayed) throws InterruptedException {
        try (EventStream events = open(ctx, keepAlive, relayed)) {
            try {
                // Events that arrived together leave together: one flush (one write to the socket) for all of them,
                // and never a flush held while the next event is still to come.
                for (SseEvent event; (event = relayed.nextEvent()) != null; ) {
                    events.write(event.event(), event.data(), !relayed.eventWaiting());
                }
            } catch (ApiException e) {
                // An upstream read that failed because a comment found the client gone and closed it: unanswered.
                if (events.gone) return;
                if (events.idle) {
                    Thread.interrupted(); // the wake-up that closed the read has done its part: the error goes out
                    events.send(events.idleError());
                } else {
                    events.send(e.error().body());
                }
                return;
            } catch (InterruptedException e) {
                if (events.gone) return;
                if (!events.idle) throw e;
                events.send(events.idleError());
                return;
            }
            if (relayed.endedWithDone()) events.done();
        } catch (IOException clientGone) {
            // Nothing to answer to; returning lets the caller close (and so abort) the relay.
        }
    }

    private static EventStream open(Context ctx, Duration keepAlive, Generation generation) throws IOException {
        ctx.status(200);
        var response = ctx.res();
        response.setContentType("text/event-stream; charset=utf-8");
        response.setHeader("Cache-Control", "no-cache");
        response.setHeader("X-Accel-Buffering", "no");
        OutputStream out = response.getOutputStream();
        response.flushBuffer();
        EventStream events = new EventStream(out, keepAlive, generation);
        if (events.keepAliveNanos > 0 || events.idleNanos > 0) SILENCES.watch(events);
        return events;
    }

    /** Writes one event holding {@code value} as JSON. JSON text has no raw newline, so one data line suffices. */
    void send(Object value) throws IOException {
        byte[] json = Json.bytes(value);
        writing.lock();
        try {
            out.write(DATA);
            out.write(json);
            out.write(END);
            out.flush();
            lastWrite = lastEvent = System.nanoTime();
        } finally {
            writing.unlock();
        }
    }

    /**
     * Writes one event whose data is {@code data}, named {@code name} unless that is null, each line of the data
     * on a {@code data:} line of its own, so that a reader joins them back into the same text; flushed if asked.
     */
    private void write(String name, String data, boolean flush) throws IOException {
        var event = new StringBuilder(data.length() + 16);
        if (name != null) event.append("event: ").append(name).append('\n');
        event.append("data: ").append(data.indexOf('\n') < 0 ? data : data.replace("\n", "\ndata: "));
        byte[] bytes = event.append("\n\n").toString().getBytes(StandardCharsets.UTF_8);
        writing.lock();
        try {
            out.write(bytes);
            if (flush) out.flush();
            lastWrite = lastEvent = System.nanoTime();
        } finally {
            writing.unlock();
        }
    }

    void done() throws IOException {
        writing.lock();
        try {
            out.write(DONE);
            out.flush();
            lastWrite = lastEvent = System.nanoTime();
        } finally {
            writing.unlock();
        }
    }

    /**
     * On a virtual thread of its own, started by {@link #fire}: a relayed stream that has passed no event for its idle time is ended; else a
     * comment, if the stream is still silent and no write is under way (a write blocked on a reader that does not
     * read holds the lock: the stream is not idle, its reader is slow).
     */
    private void tick() {
        if (!writing.tryLock()) return;
        try {
            if (closed || gone || idle) return;
            long now = System.nanoTime();
            if (idleNanos > 0 && now - lastEvent >= idleNanos) {
                idle = true;
                generation.close(); // aborts its upstream read
                replying.interrupt();
                return;
            }
            if (keepAliveNanos == 0 || now - lastWrite < keepAliveNanos) return;
            try {
                out.write(KEEP_ALIVE);
                out.flush();
                lastWrite = System.nanoTime();
            } catch (IOException | RuntimeException clientGone) {
                gone = true;
                if (generation != null) generation.close(); // stops it (an upstream relay: aborts its read)
                replying.interrupt(); // wakes the reply if it waits for an event that will never be written
            }
        } finally {
            writing.unlock();
        }
    }

    /** When {@link #tick} next has something to do, unless a write comes first. */
    @Override
    public long due() {
        long due = Long.MAX_VALUE;
        if (keepAliveNanos > 0) due = lastWrite + keepAliveNanos;
        if (idleNanos > 0 && (due == Long.MAX_VALUE || lastEvent + idleNanos - due < 0)) due = lastEvent + idleNanos;
        return due;
    }

    /**
     * On {@link #SILENCES}' thread, once the stream is due: its comment (or its end) is written on a virtual thread
     * of its own, since a write may block; it is looked at again after the shorter of its times, unless a write moves
     * it on first.
     */
    @Override
    public long fire(long now) {
        Thread.ofVirtual().start(this::tick);
        return now + step();
    }

    /** The shorter of its keep-alive and idle times that it has. */
    private long step() {
        if (keepAliveNanos == 0) return idleNanos;
        return idleNanos == 0 ? keepAliveNanos : Math.min(keepAliveNanos, idleNanos);
    }

    /** The error event that ends a relayed stream that passed no event for its idle time. */
    private Object idleError() {
        return new ApiError(
                        "The upstream provider sent nothing for %s s; the stream was ended."
                                .formatted(BigDecimal.valueOf(idleNanos / 1_000_000)
                                        .movePointLeft(3)
                                        .stripTrailingZeros()
                                        .toPlainString()),
                        ApiError.SERVER_ERROR,
                        null,
                        "upstream_timeout")
                .body();
    }

    /**
     * Ends the comments: once this returns, none is written. On the replying thread; clears the interrupt a comment
     * that found the client gone sent it, which has served its purpose.
     */
    @Override
    public void close() {
        if (keepAliveNanos > 0 || idleNanos > 0) SILENCES.forget(this);
        writing.lock();
        try {
            closed = true;
            if (gone || idle) Thread.interrupted();
        } finally {
            writing.unlock();
        }
    }
}
