package dev.parley.server.engine.llama;

import dev.parley.api.ApiException;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One request's view of its sequences: the scheduler thread puts events in, the request thread takes
 * them out. Closing marks it cancelled; the scheduler then frees its sequences at its next step.
 */
final class LlamaGeneration implements Generation {
    private final String model;
    private final int promptTokens;
    private final int choices;
    private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private final AtomicInteger generated = new AtomicInteger();
    private volatile boolean cancelled;
    private int finished;

    LlamaGeneration(String model, int promptTokens, int choices) {
        this.model = model;
        this.promptTokens = promptTokens;
        this.choices = choices;
    }

    @Override
    public String model() {
        return model;
    }

    @Override
    public int promptTokens() {
        return promptTokens;
    }

    @Override
    public int completionTokens() {
        return generated.get();
    }

    /** Called by the scheduler thread only, once per sampled token. */
    void generated() {
        generated.incrementAndGet();
    }

    @Override
    public int choices() {
        return choices;
    }

    @Override
    public GenerationEvent next() throws InterruptedException {
        if (finished == choices) return null;
        Object event = events.take();
        if (event instanceof ApiException failure) {
            finished = choices;
            throw failure;
        }
        if (event instanceof GenerationEvent.Finished) finished++;
        return (GenerationEvent) event;
    }

    @Override
    public void close() {
        cancelled = true;
    }

    boolean cancelled() {
        return cancelled;
    }

    /** Called by the scheduler thread only. */
    void emit(GenerationEvent event) {
        events.add(event);
    }

    /** Called by the scheduler thread only: ends the generation with an error for its reader. */
    void fail(ApiException failure) {
        events.add(failure);
    }
}
