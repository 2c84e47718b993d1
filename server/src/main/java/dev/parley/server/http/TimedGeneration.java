package dev.parley.server.http;

import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;

/**
 * A generation that notes on its exchange when its first answer token arrives, and that a server's
 * {@link Drain} can cut: from then on {@link #next} throws 503 {@code server_shutting_down}. Otherwise the
 * same as the generation it wraps.
 */
class TimedGeneration implements Generation {
    private final Generation generation;
    private final Exchange exchange;
    private final Drain drain;
    private Thread reader; // guarded by this: the thread waiting in next(), if any
    private volatile boolean cut;

    TimedGeneration(Generation generation, Exchange exchange) {
        this.generation = generation;
        this.exchange = exchange;
        this.drain = exchange.drain;
        if (drain != null) drain.started(this);
    }

    @Override
    public String model() {
        return generation.model();
    }

    @Override
    public int promptTokens() {
        return generation.promptTokens();
    }

    @Override
    public int completionTokens() {
        return generation.completionTokens();
    }

    @Override
    public dev.parley.api.Usage usage() {
        return generation.usage();
    }

    @Override
    public int choices() {
        return generation.choices();
    }

    @Override
    public GenerationEvent next() throws InterruptedException {
        GenerationEvent event = read(generation::next);
        if (event instanceof GenerationEvent.Token
                || event instanceof GenerationEvent.Reasoning
                || event instanceof GenerationEvent.ToolCallPiece) exchange.firstToken();
        return event;
    }

    /** What a blocking read of the generation answers, unless the generation is cut before or while it waits. */
    protected final <T> T read(Read<T> read) throws InterruptedException {
        synchronized (this) {
            if (cut) throw Drain.shuttingDown();
            reader = Thread.currentThread();
        }
        T value;
        try {
            value = read.read();
        } catch (InterruptedException e) {
            if (!cut) throw e;
            value = null;
        } finally {
            synchronized (this) {
                reader = null;
                if (cut) Thread.interrupted(); // the cut's own interrupt: the reply still has to be written
            }
        }
        if (cut) throw Drain.shuttingDown();
        return value;
    }

    protected interface Read<T> {
        T read() throws InterruptedException;
    }

    protected final Exchange exchange() {
        return exchange;
    }

    /** Stops generating: a waiting {@link #next} wakes, and it and every later call throw 503. */
    void cut() {
        cut = true;
        generation.close();
        synchronized (this) {
            if (reader != null) reader.interrupt();
        }
    }

    @Override
    public void close() {
        if (drain != null) drain.ended(this);
        generation.close();
    }
}
