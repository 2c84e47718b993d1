package dev.parley.server.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.server.engine.Relayed;
import dev.parley.sse.SseEvent;
import java.time.Duration;

/** A {@link TimedGeneration} of a relayed answer: the same timing and the same cut, read as a relay is read. */
final class TimedRelay extends TimedGeneration implements Relayed {
    private final Relayed relayed;

    TimedRelay(Relayed relayed, Exchange exchange) {
        super(relayed, exchange);
        this.relayed = relayed;
    }

    @Override
    public String body() throws InterruptedException {
        String body = read(relayed::body);
        exchange().firstToken();
        return body;
    }

    @Override
    public SseEvent nextEvent() throws InterruptedException {
        SseEvent event = read(relayed::nextEvent);
        if (event != null) exchange().firstToken();
        return event;
    }

    @Override
    public boolean eventWaiting() {
        return relayed.eventWaiting();
    }

    @Override
    public boolean endedWithDone() {
        return relayed.endedWithDone();
    }

    @Override
    public Duration idleTimeout() {
        return relayed.idleTimeout();
    }

    @Override
    public ObjectNode finished() {
        return relayed.finished();
    }

    @Override
    public String origin() {
        return relayed.origin();
    }
}
