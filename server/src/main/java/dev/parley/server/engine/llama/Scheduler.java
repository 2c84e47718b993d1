package dev.parley.server.engine.llama;

import dev.parley.api.ApiError;
import dev.parley.api.ServerException;
import dev.parley.server.engine.GenerationEvent;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching over one llama.cpp context. One thread owns the context; each step decodes one
 * batch holding the next token of every running sequence plus prompt chunks of newly admitted ones, so
 * concurrent requests share the model instead of waiting in line. A sequence joins as soon as a slot is
 * free and leaves the moment it finishes or its reader closes it.
 *
 * <p>Thread-safe: {@link #submit} may be called from any thread; everything else runs on the scheduler
 * thread.
 */
final class Scheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    private final LlamaModel model;
    private final LlamaContext context;
    private final int positionsPerSequence;
    private final BlockingQueue<Sequence> waiting;
    private final Sequence[] slots;
    private final List<Sequence> running = new ArrayList<>();
    private final Thread thread;
    private volatile boolean closed;

    Scheduler(LlamaModel model, LlamaContext context, int queueCapacity) {
        this.model = model;
        this.context = context;
        this.positionsPerSequence = context.contextLength() / context.maxSequences();
        this.waiting = new ArrayBlockingQueue<>(queueCapacity);
        this.slots = new Sequence[context.maxSequences()];
        this.thread = Thread.ofPlatform().name("parley-llama-scheduler").daemon().start(this::run);
    }

    int positionsPerSequence() {
        return positionsPerSequence;
    }

    /** Queues every choice of a request, or none of them: 503 when the wait queue has no room. */
    void submit(List<Sequence> sequences) {
        synchronized (waiting) {
            if (closed) throw busy("The engine is shutting down.");
            if (waiting.remainingCapacity() < sequences.size()) {
                throw busy("The engine is overloaded: %d sequences are waiting for a slot. Please retry later."
                        .formatted(waiting.size()));
            }
            waiting.addAll(sequences);
        }
    }

    private static ServerException busy(String message) {
        return new ServerException(503, new ApiError(message, ApiError.SERVER_ERROR, null, "engine_overloaded"));
    }

    private void run() {
        while (!closed) {
            try {
                admit();
                if (running.isEmpty()) {
                    Sequence next = waiting.poll(100, TimeUnit.MILLISECONDS);
                    if (next != null) start(next);
                    continue;
                }
                step();
            } catch (InterruptedException e) {
                if (closed) break;
            } catch (RuntimeException e) {
                log.error("A decode step failed; failing the sequences it held", e);
                for (Sequence sequence : List.copyOf(running)) {
                    sequence.generation.fail(new ServerException(500, new ApiError(
                            "The model failed while generating: " + e.getMessage(), ApiError.SERVER_ERROR, null, null)));
                    release(sequence);
                }
            }
        }
        ServerException shutdown = busy("The engine is shutting down.");
        for (Sequence sequence : List.copyOf(running)) {
            sequence.generation.fail(shutdown);
            release(sequence);
        }
        for (Sequence sequence; (sequence = waiting.poll()) != null; ) sequence.generation.fail(shutdown);
    }

    private void admit() {
        while (freeSlot() >= 0 && !waiting.isEmpty()) {
            Sequence sequence = waiting.poll();
            if (sequence != null) start(sequence);
        }
    }

    private int freeSlot() {
        for (int i = 0; i < slots.length; i++) if (slots[i] == null) return i;
        return -1;
    }

    private void start(Sequence sequence) {
        if (sequence.generation.cancelled()) return;
        int slot = freeSlot();
        sequence.id = slot;
        slots[slot] = sequence;
        context.clearSequence(slot);
        sequence.sampler = model.newSampler(sequence.sampling);
        sequence.detokenizer = model.detokenizer();
        if (!sequence.echo.isEmpty()) sequence.generation.emit(new GenerationEvent.Token(
                sequence.choice, sequence.echo, null));
        running.add(sequence);
    }

    /** One decode: every generating sequence's last token first, then prompt chunks while room is left. */
    private void step() {
        List<BatchToken> batch = new ArrayList<>();
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence sequence = it.next();
            sequence.logitsIndex = -1;
            if (sequence.generation.cancelled()) {
                it.remove();
                free(sequence);
                continue;
            }
            if (!sequence.prefilling()) {
                sequence.logitsIndex = batch.size();
                batch.add(new BatchToken(sequence.lastToken, sequence.position++, sequence.id, true));
            }
        }
        for (Sequence sequence : running) {
            if (!sequence.prefilling()) continue;
            int room = context.batchCapacity() - batch.size();
            if (room <= 0) break;
            int end = Math.min(sequence.prompt.length, sequence.position + room);
            for (int i = sequence.position; i < end; i++) {
                boolean last = i == sequence.prompt.length - 1;
                if (last) sequence.logitsIndex = batch.size();
                batch.add(new BatchToken(sequence.prompt[i], i, sequence.id, last));
            }
            sequence.position = end;
        }
        if (batch.isEmpty()) return;
        context.decode(batch);
        for (Sequence sequence : List.copyOf(running)) {
            if (sequence.logitsIndex >= 0) sample(sequence);
        }
    }

    private void sample(Sequence sequence) {
        float[] logits = sequence.topLogprobs >= 0 ? context.logits(sequence.logitsIndex) : null;
        int token = sequence.sampler.sample(context, sequence.logitsIndex);
        if (model.isEndOfGeneration(token)) {
            finish(sequence, "stop");
            return;
        }
        sequence.generated++;
        sequence.generation.generated();
        var logprob = logits == null ? null : TokenProbabilities.of(model, logits, token, sequence.topLogprobs);
        boolean stopped = sequence.emit(sequence.detokenizer.append(token), logprob);
        if (stopped) {
            finish(sequence, "stop");
        } else if (sequence.generated >= sequence.maxTokens || sequence.position >= positionsPerSequence) {
            finish(sequence, "length");
        } else {
            sequence.lastToken = token;
        }
    }

    private void finish(Sequence sequence, String reason) {
        sequence.finish(reason);
        release(sequence);
    }

    private void release(Sequence sequence) {
        running.remove(sequence);
        free(sequence);
    }

    private void free(Sequence sequence) {
        if (sequence.id >= 0 && slots[sequence.id] == sequence) {
            slots[sequence.id] = null;
            context.clearSequence(sequence.id);
        }
        if (sequence.sampler != null) sequence.sampler.close();
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
