package dev.parley.client;

import dev.parley.api.TextCompletion;
import java.util.Iterator;

/** A {@link CompletionStream} over one HTTP response. */
final class HttpCompletionStream implements CompletionStream {
    private final EventReader<TextCompletion> events;
    private final ResponseInfo info;
    private boolean iterated;

    HttpCompletionStream(EventReader<TextCompletion> events, ResponseInfo info) {
        this.events = events;
        this.info = info;
    }

    @Override
    public ResponseInfo info() {
        return info;
    }

    @Override
    public Iterator<TextCompletion> iterator() {
        if (iterated) throw new IllegalStateException("a stream can be read only once");
        iterated = true;
        return events;
    }

    @Override
    public void close() {
        events.close();
    }
}
