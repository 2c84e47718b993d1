package dev.parley.server.http;

import dev.parley.api.Json;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A {@code text/event-stream} response, one {@code data:} event per JSON object, flushed at once.
 * A write fails with {@link IOException} once the client has gone, which is how a reply learns to cancel.
 */
final class EventStream {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;

    private EventStream(OutputStream out) {
        this.out = out;
    }

    static EventStream open(Context ctx) throws IOException {
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
        out.write(("data: " + Json.write(value) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    void done() throws IOException {
        out.write(DONE);
        out.flush();
    }
}
