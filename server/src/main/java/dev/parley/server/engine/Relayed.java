package dev.parley.server.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.sse.SseEvent;
import java.time.Duration;

/**
 * A generation whose answer is another server's own JSON, passed on unchanged: every field it wrote reaches the
 * caller, whether or not Parley models it. A reply reads {@link #body} for a request that did not stream, {@link
 * #nextEvent} for one that did; {@link #next} is not used.
 */
public interface Relayed extends Generation {
    /**
     * The whole response body of a request that did not stream.
     *
     * @throws dev.parley.api.ApiException when the other server fails before answering
     */
    String body() throws InterruptedException;

    /**
     * The next stream event, its name (the Responses API names its events) and data unchanged; null once the
     * stream has ended ({@code [DONE]}, or its end). A usage event the caller did not ask for is left out.
     *
     * @throws dev.parley.api.ApiException when the other server fails mid-stream
     */
    SseEvent nextEvent() throws InterruptedException;

    /**
     * Whether the next stream event has already arrived, so that {@link #nextEvent} will not wait for it: a reply may
     * then hold its flush and send both together. False when unsure.
     */
    default boolean eventWaiting() {
        return false;
    }

    /**
     * The Responses API's {@code response} object as the other server finished it, once the answer has been read:
     * the whole body, or the response of the stream's last event that reported usage; null before, or when there
     * is none.
     */
    default ObjectNode finished() {
        return null;
    }

    /** The base URL of the server that answered; null when not known. */
    default String origin() {
        return null;
    }

    /** Whether the stream ended with {@code [DONE]} (chat and legacy streams do; the Responses API's do not). */
    boolean endedWithDone();

    /**
     * How long a stream may pass no event (the other server's own comments do not count) before the reply ends it
     * with an error, rather than keep its caller waiting on a server that has stopped; zero: as long as it takes.
     */
    default Duration idleTimeout() {
        return Duration.ZERO;
    }

    @Override
    default GenerationEvent next() throws InterruptedException {
        throw new UnsupportedOperationException("a relayed answer is read with body() or nextData()");
    }

    @Override
    default int choices() {
        return 0;
    }
}
