package dev.parley.server.engine.llama;

import dev.parley.api.ApiError;
import dev.parley.api.ServerException;
import dev.parley.server.engine.GenerationEvent;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching over one llama.cpp context, decoding in whatever grouping is fastest here. One thread
 * owns the context. A sequence joins as soon as a slot is free and leaves the moment it finishes or its
 * reader closes it. Each step decodes one batch:
 *
 * <ul>
 *   <li>While prompts wait to be read, a step holds the next token of every generating sequence plus at
 *       most {@link #PREFILL_PER_STEP} prompt tokens (all it can take when nothing generates), so long
 *       prompts never stall the streams already running, and nobody is left out of such a step.
 *   <li>Otherwise it holds the next token of the {@code k} generating sequences served longest ago, where
 *       {@code k} is the group size with the most tokens per second in the measured {@link DecodeCosts}
 *       (k = 1 is round-robin interleaving). Since one at a time is always a candidate, the aggregate rate
 *       never falls below serving the same requests one after another.
 * </ul>
 *
 * <p>Choices of one request that share a prompt read it once: the first ("leader") decodes it, the others
 * get its KV cells by {@link LlamaContext#copySequence} and sample their first token from its logits.
 *
 * <p>A decode that finds no room (the KV cache's free cells are scattered, and a batch needs them in a
 * row: b4916 then fails with -3) is retried at once with half as many tokens, down to one; a single token
 * that still does not fit ends its own sequence ({@code length} when the cache is full). Nobody else
 * fails. (Defragmenting instead is not an option on b4916: {@code llama_kv_self_defrag} aborts the
 * process on such a cache.) Each sequence stays within its share of the cache, prompt and answer
 * together, so the cache as a whole never overflows.
 *
 * <p>Thread-safe: {@link #submit} may be called from any thread; everything else runs on the scheduler
 * thread.
 */
final class Scheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);
    /** Prompt tokens one step may hold while other sequences generate: bounds how long they wait for it. */
    static final int PREFILL_PER_STEP = 64;

    private final LlamaModel model;
    private final LlamaContext context;
    private final LongSupplier nanoTime;
    private final int positionsPerSequence;
    private final BlockingQueue<Sequence> waiting;
    private final Sequence[] slots;
    private final List<Sequence> running = new ArrayList<>();
    private final DecodeCosts costs;
    private final Thread thread;
    private long steps;
    // Counters for tests and operators, written by the scheduler thread only.
    private volatile long shrunk; // decodes retried with fewer tokens
    private volatile long decoded; // tokens decoded while serving
    private volatile boolean closed;

    Scheduler(LlamaModel model, LlamaContext context, int queueCapacity, LongSupplier nanoTime) {
        this.model = model;
        this.context = context;
        this.nanoTime = nanoTime;
        this.positionsPerSequence = context.contextLength() / context.maxSequences();
        this.waiting = new ArrayBlockingQueue<>(queueCapacity);
        this.slots = new Sequence[context.maxSequences()];
        this.costs = new DecodeCosts(context.batchCapacity());
        Calibration.run(model, context, costs, nanoTime);
        log.info("Calibrated decode costs: {}", costs);
        this.thread = Thread.ofPlatform().name("parley-llama-scheduler").daemon().start(this::run);
    }

    int positionsPerSequence() {
        return positionsPerSequence;
    }

    /** Tokens decoded while serving (calibration not counted). */
    long decodedTokens() {
        return decoded;
    }

    /** How many decodes found no room in a row of KV cells and were retried with fewer tokens. */
    long shrunkDecodes() {
        return shrunk;
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
        log.info("Decode costs learned while serving: {}", costs);
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
        sequence.lastStep = steps;
        if (!sequence.echo.isEmpty()) sequence.generation.emit(new GenerationEvent.Token(
                sequence.choice, sequence.echo, null));
        Sequence leader = sequence.leader;
        if (leader != null && isRunning(leader) && !leader.prefilling()) {
            // The leader has read the shared prompt: take all but its last token, whose logits are gone.
            context.copySequence(leader.id, sequence.id, sequence.prompt.length - 1);
            sequence.position = sequence.prompt.length - 1;
        }
        running.add(sequence);
    }

    private boolean isRunning(Sequence sequence) {
        return sequence.id >= 0 && slots[sequence.id] == sequence;
    }

    /** A follower waits while its leader is still reading their shared prompt. */
    private boolean waitsForLeader(Sequence sequence) {
        return sequence.position == 0 && sequence.leader != null && isRunning(sequence.leader) && sequence.leader.prefilling();
    }

    /** One decode of the batch the policy chooses, shrunk until it fits the KV cache. */
    private void step() {
        dropCancelled();
        int limit = context.batchCapacity();
        while (true) {
            Batch batch = plan(limit);
            if (batch.isEmpty()) return;
            try {
                long start = nanoTime.getAsLong();
                context.decode(batch.tokens);
                costs.record(batch.tokens.size(), nanoTime.getAsLong() - start);
                steps++;
                decoded += batch.tokens.size();
                afterDecode(batch);
                return;
            } catch (LlamaException e) {
                if (batch.tokens.size() > 1) {
                    log.debug("Decode of {} tokens failed ({}); trying half as many", batch.tokens.size(), e.getMessage());
                    limit = batch.tokens.size() / 2;
                    shrunk++;
                } else {
                    endAlone(batch.members.getFirst().sequence, e);
                    return;
                }
            }
        }
    }

    /** A single token that cannot be decoded ends its own sequence: {@code length} if the cache is full. */
    private void endAlone(Sequence sequence, LlamaException e) {
        if (e instanceof ContextFullException) {
            log.warn("No KV cell left for sequence {}; ending it with length", sequence.id);
            finish(sequence, "length");
        } else {
            log.error("Decoding sequence {} failed; failing its request", sequence.id, e);
            sequence.generation.fail(new ServerException(500, new ApiError(
                    "The model failed while generating: " + e.getMessage(), ApiError.SERVER_ERROR, null, null)));
            release(sequence);
        }
    }

    private void dropCancelled() {
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence sequence = it.next();
            if (sequence.generation.cancelled()) {
                it.remove();
                free(sequence);
            }
        }
    }

    /** What one step decodes: at most {@code limit} tokens, chosen as the class comment says. */
    private Batch plan(int limit) {
        List<Sequence> ready = new ArrayList<>();
        List<Sequence> filling = new ArrayList<>();
        for (Sequence sequence : running) {
            if (!sequence.prefilling()) ready.add(sequence);
            else if (!waitsForLeader(sequence)) filling.add(sequence);
        }
        ready.sort(Comparator.comparingLong(s -> s.lastStep)); // served longest ago first: round-robin
        Batch batch = new Batch();
        if (!filling.isEmpty()) {
            for (Sequence sequence : ready) if (batch.tokens.size() < limit) batch.generate(sequence);
            int room = Math.min(limit - batch.tokens.size(), ready.isEmpty() ? limit : PREFILL_PER_STEP);
            for (Sequence sequence : filling) {
                if (room <= 0) break;
                room -= batch.prefill(sequence, room);
            }
        } else {
            int k = Math.min(limit, costs.bestGroup(ready.size()));
            for (Sequence sequence : ready.subList(0, k)) batch.generate(sequence);
        }
        return batch;
    }

    /** Advances every member, lets followers share a prompt their leader just read, and samples. */
    private void afterDecode(Batch batch) {
        List<Sequence> sampled = new ArrayList<>();
        for (Batch.Member member : batch.members) {
            Sequence sequence = member.sequence;
            sequence.position += member.count;
            sequence.lastStep = steps;
            sequence.logitsIndex = member.logitsIndex;
            if (sequence.logitsIndex < 0) continue;
            sampled.add(sequence);
            if (member.prefill) sampled.addAll(shareWithFollowers(sequence));
        }
        for (Sequence sequence : sampled) sample(sequence);
    }

    /** Followers waiting on {@code leader}'s prompt get its cells and its last logits. */
    private List<Sequence> shareWithFollowers(Sequence leader) {
        List<Sequence> followers = new ArrayList<>();
        for (Sequence sequence : running) {
            if (sequence.leader == leader && sequence.position == 0) {
                context.copySequence(leader.id, sequence.id, leader.prompt.length);
                sequence.position = leader.prompt.length;
                sequence.logitsIndex = leader.logitsIndex;
                sequence.lastStep = steps;
                followers.add(sequence);
            }
        }
        return followers;
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
        if (isRunning(sequence)) {
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

    /** The tokens of one decode and whose they are. */
    private static final class Batch {
        record Member(Sequence sequence, int count, int logitsIndex, boolean prefill) {}

        final List<BatchToken> tokens = new ArrayList<>();
        final List<Member> members = new ArrayList<>();

        boolean isEmpty() {
            return tokens.isEmpty();
        }

        void generate(Sequence sequence) {
            members.add(new Member(sequence, 1, tokens.size(), false));
            tokens.add(new BatchToken(sequence.lastToken, sequence.position, sequence.id, true));
        }

        /** Adds up to {@code room} prompt tokens of {@code sequence}; returns how many. */
        int prefill(Sequence sequence, int room) {
            int end = Math.min(sequence.prompt.length, sequence.position + room);
            int logitsIndex = -1;
            for (int i = sequence.position; i < end; i++) {
                boolean last = i == sequence.prompt.length - 1;
                if (last) logitsIndex = tokens.size();
                tokens.add(new BatchToken(sequence.prompt[i], i, sequence.id, last));
            }
            members.add(new Member(sequence, end - sequence.position, logitsIndex, true));
            return end - sequence.position;
        }
    }
}
