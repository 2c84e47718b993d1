package dev.parley.server.engine.llama;

import dev.parley.api.ApiException;
import dev.parley.api.Usage;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One request's view of its sequences: the scheduler thread puts events in, the request thread takes
 * them out. Closing marks it cancelled; the scheduler then frees its sequences at its next step. The
 * queue itself is unbounded, but the scheduler stops generating for a generation whose {@link #backlog}
 * reaches {@link Scheduler#MAX_BACKLOG} until its reader catches up.
 */
final class LlamaGeneration implements Generation {
    private final String model;
    private final int promptTokens;
    private final int choices;
    private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private final AtomicInteger backlog = new AtomicInteger();
    private final AtomicInteger generated = new AtomicInteger();
    private final AtomicInteger cached = new AtomicInteger();
    /** Generated tokens that were reasoning; -1 for a model without a reasoning syntax (none reported). */
    private final AtomicInteger reasoning;

    private volatile boolean cancelled;
    private volatile boolean readerWaiting; // its reader has taken every event and waits for the next
    private volatile Runnable onReaderWaiting = () -> {};
    /** Scheduler thread only: its reader was still busy when the scheduler last gave up waiting for it. */
    boolean lagging;

    private int finished;

    LlamaGeneration(String model, int promptTokens, int choices) {
        this(model, promptTokens, choices, false);
    }

    /** With {@code reasons}, the usage reports how many generated tokens were reasoning, 0 included. */
    LlamaGeneration(String model, int promptTokens, int choices, boolean reasons) {
        this.model = model;
        this.promptTokens = promptTokens;
        this.choices = choices;
        this.reasoning = new AtomicInteger(reasons ? 0 : -1);
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

    /**
     * With OpenAI's {@code prompt_tokens_details.cached_tokens} when some prompt tokens were found in a slot's
     * cells rather than read (left out when none were, as before prompt reuse existed).
     */
    @Override
    public Usage usage() {
        int prompt = promptTokens;
        int completion = completionTokens();
        int fromCache = cached.get();
        var details = fromCache == 0 ? null : new Usage.PromptTokensDetails(fromCache, null);
        int reasoned = reasoning.get();
        var completionDetails = reasoned < 0 ? null : new Usage.CompletionTokensDetails(reasoned, null, null, null);
        return new Usage(prompt, completion, prompt + completion, details, completionDetails);
    }

    /** Called by the scheduler thread when a choice ends whose first {@code tokens} generated tokens were reasoning. */
    void reasoned(int tokens) {
        reasoning.addAndGet(tokens);
    }

    /** Called by the scheduler thread when a choice starts on {@code tokens} prompt tokens a slot still held. */
    void cached(int tokens) {
        cached.addAndGet(tokens);
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
        Object event = events.poll();
        if (event == null) {
            readerWaiting = true;
            onReaderWaiting.run();
            try {
                event = events.take();
            } finally {
                readerWaiting = false;
            }
        }
        backlog.decrementAndGet();
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

    /** Closed by its reader, or failed: the scheduler drops what is left of it. */
    boolean cancelled() {
        return cancelled;
    }

    /**
     * Whether its reader has taken every event emitted so far and come back for the next: what they carried is
     * written (a stream's chunks flushed, a whole answer's text gathered).
     */
    boolean drained() {
        return backlog.get() == 0 && readerWaiting;
    }

    /** Runs {@code listener} on the reader's thread each time the reader starts waiting for an event. */
    void onReaderWaiting(Runnable listener) {
        onReaderWaiting = listener;
    }

    /** Events emitted but not yet taken by the reader. */
    int backlog() {
        return backlog.get();
    }

    /** Called by the scheduler thread only. */
    void emit(GenerationEvent event) {
        backlog.incrementAndGet();
        events.add(event);
    }

    /**
     * Called by the scheduler thread only: ends the generation with an error for its reader, and cancels
     * its other choices (their answer can no longer be delivered).
     */
    void fail(ApiException failure) {
        cancelled = true;
        backlog.incrementAndGet();
        events.add(failure);
    }
}
