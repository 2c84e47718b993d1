package dev.parley.server.http;

import dev.parley.api.ApiException;
import dev.parley.api.Json;
import dev.parley.api.Logprobs;
import dev.parley.api.TextCompletion;
import dev.parley.api.ToolCall;
import dev.parley.api.Usage;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import dev.parley.server.engine.Relayed;
import dev.parley.sse.SseEvent;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A {@code text/event-stream} response, one {@code data:} event per JSON object, flushed at once.
 * A write fails with {@link IOException} once the client has gone, which is how a reply learns to cancel.
 */
final class EventStream {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;

    private EventStream(OutputStream out) {
        this.out = out;
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
     * that goes away ends the loop; the caller's close of the generation then cancels it.
     */
    static void relay(Context ctx, Generation generation, List<?> opening, Frames frames, boolean withUsage)
            throws InterruptedException {
        try {
            EventStream events = open(ctx);
            for (Object event : opening) events.send(event);
            try {
                for (GenerationEvent event; (event = generation.next()) != null; ) {
                    switch (event) {
                        case GenerationEvent.Token(var choice, var text, var logprob) -> {
                            if (!text.isEmpty() || logprob != null) events.send(frames.token(choice, text, logprob));
                        }
                        case GenerationEvent.Reasoning(var choice, var text) ->
                            events.send(frames.reasoning(choice, text));
                        case GenerationEvent.Echo(var choice, var text, var logprobs) -> {
                            if (!text.isEmpty() || logprobs != null) events.send(frames.echo(choice, text, logprobs));
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
        } catch (IOException clientGone) {
            // Nothing to answer to; returning lets the caller close (and so cancel) the generation.
        }
    }

    /**
     * Streams another server's events as they come, each event's name and data unchanged, then {@code [DONE]} when
     * the other server sent it; a failure mid-way goes out as an error event.
     */
    static void relay(Context ctx, Relayed relayed) throws InterruptedException {
        try {
            EventStream events = open(ctx);
            try {
                // Events that arrived together leave together: one flush (one write to the socket) for all of them,
                // and never a flush held while the next event is still to come.
                for (SseEvent event; (event = relayed.nextEvent()) != null; ) {
                    events.write(event.event(), event.data());
                    if (!relayed.eventWaiting()) events.out.flush();
                }
            } catch (ApiException e) {
                events.send(e.error().body());
                return;
            }
            if (relayed.endedWithDone()) events.done();
        } catch (IOException clientGone) {
            // Nothing to answer to; returning lets the caller close (and so abort) the relay.
        }
    }

    private static EventStream open(Context ctx) throws IOException {
        ctx.status(200);
        var response = ctx.res();
        response.setContentType("text/event-stream; charset=utf-8");
        response.setHeader("Cache-Control", "no-cache");
        response.setHeader("X-Accel-Buffering", "no");
        OutputStream out = response.getOutputStream();
        response.flushBuffer();
        return new EventStream(out);
    }

    /** Writes one event holding {@code value} as JSON. JSON text has no raw newline, so one data line suffices. */
    void send(Object value) throws IOException {
        out.write(DATA);
        out.write(Json.bytes(value));
        out.write(END);
        out.flush();
    }

    /**
     * Writes one event whose data is {@code json}, as it is (on one line: JSON holds no raw newline in a string),
     * named {@code name} unless that is null; not flushed.
     */
    private void write(String name, String json) throws IOException {
        String named = name == null ? "" : "event: " + name.replace("\n", "") + "\n";
        out.write((named + "data: " + json.replace("\n", "") + "\n\n").getBytes(StandardCharsets.UTF_8));
    }

    void done() throws IOException {
        out.write(DONE);
        out.flush();
    }
}
