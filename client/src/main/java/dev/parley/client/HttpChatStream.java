package dev.parley.client;

import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.Usage;
import java.util.Iterator;

/** A {@link ChatStream} over one HTTP response. */
final class HttpChatStream implements ChatStream {
    private final EventReader<ChatCompletionChunk> events;
    private final ResponseInfo info;
    private final ChatCompletionRequest request;
    private final UsageCounter counter;
    private boolean iterated;

    HttpChatStream(
            EventReader<ChatCompletionChunk> events,
            ResponseInfo info,
            ChatCompletionRequest request,
            UsageCounter counter) {
        this.events = events;
        this.info = info;
        this.request = request;
        this.counter = counter;
    }

    @Override
    public ResponseInfo info() {
        return info;
    }

    @Override
    public Iterator<ChatCompletionChunk> iterator() {
        if (iterated) throw new IllegalStateException("a stream can be read only once");
        iterated = true;
        return events;
    }

    @Override
    public AccumulatedChat accumulate() {
        try (this) {
            var accumulator = new ChatAccumulator();
            for (ChatCompletionChunk chunk : this) accumulator.add(chunk);
            ChatCompletion completion = accumulator.completion();
            if (completion.usage() != null || counter == null) return new AccumulatedChat(completion, false);
            Usage usage = counter.count(request, completion);
            if (usage == null) return new AccumulatedChat(completion, false);
            var counted = new ChatCompletion(
                    completion.id(),
                    completion.object(),
                    completion.created(),
                    completion.model(),
                    completion.choices(),
                    usage,
                    completion.systemFingerprint(),
                    completion.serviceTier());
            return new AccumulatedChat(counted, true);
        }
    }

    @Override
    public void close() {
        events.close();
    }
}
