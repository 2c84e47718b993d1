package dev.parley.server.engine.llama;

import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.ServerException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Computes pooled embeddings on one platform thread of its own, apart from the {@link Scheduler} and its context:
 * requests queue their inputs, and each decode takes as many waiting inputs, in arrival order and across requests,
 * as the {@link EmbeddingContext} holds (tokens and sequences together). Every vector is L2-normalised, as
 * llama-server does for OpenAI's route; a vector of zeros stays zeros.
 *
 * <p>One request never hurts another: when a decode of several inputs fails, each of them is decoded again alone,
 * and only a request whose own input fails ends, with a 500 in OpenAI's shape. Inputs of a request whose reader
 * has gone ({@link Job#cancel}) are not decoded.
 *
 * <p>Thread-safe. {@link #close} fails every waiting request with 503 and stops the thread after the decode in
 * progress; the context is its owner's to close.
 */
final class Embedder implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Embedder.class);

    private final EmbeddingContext context;
    private final int queueCapacity;
    private final ArrayDeque<Job> waiting = new ArrayDeque<>(); // guarded by itself
    private final Thread thread;
    private volatile boolean closed;

    /** At most {@code queueCapacity} requests wait; more are answered 503. */
    Embedder(EmbeddingContext context, int queueCapacity) {
        this.context = context;
        this.queueCapacity = queueCapacity;
        this.thread = Thread.ofPlatform().name("parley-llama-embedder").daemon().start(this::run);
    }

    /** Most tokens one input may hold. */
    int inputLimit() {
        return context.capacity();
    }

    /** Length of each vector. */
    int dimensions() {
        return context.dimensions();
    }

    boolean alive() {
        return thread.isAlive() && !closed;
    }

    /**
     * Queues the inputs of one request, each already checked to hold 1 to {@link #inputLimit()} ids of the
     * vocabulary.
     *
     * @throws ServerException 503 when the queue is full or the engine is shutting down
     */
    Job submit(List<int[]> inputs) {
        Job job = new Job(inputs);
        synchronized (waiting) {
            if (closed) throw busy("The engine is shutting down.");
            if (waiting.size() >= queueCapacity) {
                throw busy("The engine is overloaded: %d embedding requests are waiting. Please retry later."
                        .formatted(waiting.size()));
            }
            waiting.add(job);
            waiting.notifyAll();
        }
        return job;
    }

    /** The inputs of one request and, as they are computed, their vectors. */
    static final class Job {
        private final List<int[]> inputs;
        private final float[][] vectors;
        private final CompletableFuture<List<float[]>> result = new CompletableFuture<>();
        private int taken; // inputs handed to a decode; embedder thread only
        private int done; // vectors delivered; embedder thread only

        private Job(List<int[]> inputs) {
            this.inputs = List.copyOf(inputs);
            this.vectors = new float[inputs.size()][];
        }

        /**
         * Blocks until every input has its normalised vector; in input order.
         *
         * @throws ApiException 500 when an input failed, 503 when the engine shut down first
         */
        List<float[]> await() throws InterruptedException {
            try {
                return result.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof ApiException api) throw api;
                throw new IllegalStateException("embedding failed", e.getCause());
            } catch (CancellationException e) {
                throw busy("The request was cancelled.");
            }
        }

        /** Gives up the inputs not yet decoded. Idempotent. */
        void cancel() {
            result.cancel(false);
        }

        private boolean over() {
            return result.isDone();
        }

        private void deliver(int index, float[] vector) {
            vectors[index] = normalised(vector);
            if (++done == vectors.length) result.complete(List.of(vectors));
        }

        private void fail(ApiException e) {
            result.completeExceptionally(e);
        }
    }

    /** One input of one job, as it goes into a decode. */
    private record Piece(Job job, int index) {
        int[] tokens() {
            return job.inputs.get(index);
        }
    }

    private void run() {
        while (true) {
            List<Piece> batch;
            try {
                batch = next();
            } catch (InterruptedException e) {
                break;
            }
            if (batch == null) break;
            decode(batch);
        }
        failWaiting();
    }

    /** The inputs of the next decode, or null once closed; waits while none are waiting. */
    private List<Piece> next() throws InterruptedException {
        synchronized (waiting) {
            while (true) {
                if (closed) return null;
                waiting.removeIf(Job::over); // cancelled by their readers
                if (!waiting.isEmpty()) break;
                waiting.wait();
            }
            List<Piece> batch = new ArrayList<>();
            int tokens = 0;
            Iterator<Job> jobs = waiting.iterator();
            while (jobs.hasNext() && batch.size() < context.maxSequences()) {
                Job job = jobs.next();
                while (job.taken < job.inputs.size() && batch.size() < context.maxSequences()) {
                    int length = job.inputs.get(job.taken).length;
                    if (tokens + length > context.capacity()) return batch; // in order: the next decode takes it
                    batch.add(new Piece(job, job.taken++));
                    tokens += length;
                }
                if (job.taken == job.inputs.size()) jobs.remove();
            }
            return batch;
        }
    }

    /** Decodes a batch and hands out its vectors; when it fails, tries each input alone. */
    private void decode(List<Piece> batch) {
        List<Piece> live = batch.stream().filter(p -> !p.job.over()).toList();
        if (live.isEmpty()) return;
        try {
            List<float[]> vectors =
                    context.embed(live.stream().map(Piece::tokens).toList());
            for (int i = 0; i < live.size(); i++) live.get(i).job.deliver(live.get(i).index, vectors.get(i));
        } catch (RuntimeException e) {
            if (live.size() > 1) {
                log.warn(
                        "An embedding decode of {} inputs failed ({}); decoding each alone", live.size(), e.toString());
                for (Piece piece : live) decode(List.of(piece));
            } else {
                Piece piece = live.getFirst();
                if (closed) {
                    piece.job.fail(busy("The engine is shutting down."));
                    return;
                }
                log.error("Embedding input {} of a request failed", piece.index, e);
                piece.job.fail(new ServerException(
                        500,
                        new ApiError(
                                "The server had an error while processing your request.",
                                ApiError.SERVER_ERROR,
                                null,
                                null)));
            }
        }
    }

    private void failWaiting() {
        List<Job> left;
        synchronized (waiting) {
            left = new ArrayList<>(waiting);
            waiting.clear();
        }
        ServerException shutdown = busy("The engine is shutting down.");
        left.forEach(job -> job.fail(shutdown));
    }

    /** Stops taking inputs and fails those waiting (503); a decode in progress finishes first. Idempotent. */
    @Override
    public void close() {
        synchronized (waiting) {
            closed = true;
            waiting.notifyAll();
        }
        failWaiting();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The vector scaled to length 1 (Euclidean), computed in double; zeros stay zeros. */
    static float[] normalised(float[] vector) {
        double sum = 0;
        for (float x : vector) sum += (double) x * x;
        double scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
        float[] unit = new float[vector.length];
        for (int i = 0; i < vector.length; i++) unit[i] = (float) (vector[i] * scale);
        return unit;
    }

    private static ServerException busy(String message) {
        return new ServerException(503, new ApiError(message, ApiError.SERVER_ERROR, null, "engine_overloaded"));
    }
}
