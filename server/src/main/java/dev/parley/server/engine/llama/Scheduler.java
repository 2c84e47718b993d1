package dev.parley.server.engine.llama;

import dev.parley.api.ApiError;
import dev.parley.api.ServerException;
import dev.parley.server.engine.DecodeListener;
import dev.parley.server.engine.Health;
import dev.parley.server.engine.grammar.JsonGrammar;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;
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
 *   <li>Otherwise it holds the next token of {@code k} generating sequences, the one served longest ago and
 *       its neighbours by slot, where
 *       {@code k} is the group size with the most tokens per second in the measured {@link DecodeCosts}
 *       (k = 1 is round-robin interleaving). Since one at a time is always a candidate, the aggregate rate
 *       never falls below serving the same requests one after another.
 * </ul>
 *
 * <p>The costs start empty (every group size looks alike, so all ready sequences decode together) and are
 * learned from every decode; a {@link Calibration} measures them properly in the thread's idle moments, once
 * told to ({@link #startCalibrating}, when the server in front listens): a server's first seconds go to starting
 * it, and decodes timed while it starts would measure the start as much as the decode.
 *
 * <p>Choices of one request that share a prompt read it once: the first to start reads it, and the others
 * get its KV cells by {@link LlamaContext#copySequence} and sample their first token from its logits. A
 * choice that starts after a sibling has read the prompt copies all of it but the last token, whose logits
 * are gone, and reads that one itself.
 *
 * <p>A sequence that finishes leaves its cells (prompt and answer) in its slot, busy engine or idle: each
 * sequence has a cache of its own, so held cells cost the running ones nothing. The next prompt keeps the
 * longest start of it that a free slot holds and reads only the rest: a repeated system prompt or the next
 * turn of a conversation costs only its new tokens. A sequence takes the slot that serves it best ({@link
 * #slotFor}): the one whose cells it continues, else one that holds nothing or was left longest ago, so that
 * conversations taking turns each keep their own cells instead of each turn clearing the last one's; beside
 * other sequences, only a slot next to one of theirs (llama.cpp decodes together only sequences whose ids
 * follow one another). A start held in a slot it cannot take is copied over, when it is long enough to be
 * worth a copy of that slot's cache; the slot a sequence starts in loses what it held, unless a {@link
 * PromptCache} has room for it in host memory: then a later prompt that starts with more of those cells than
 * any slot holds loads them back into its slot (so more conversations than slots each keep their history, and
 * calibration loses none). A model with a sliding window keeps only the window's last cells in those layers, so the
 * window's cells where each prompt ended are copied to host memory too ({@link ContextCheckpoint}): a next turn that
 * leaves the last answer behind goes on from there. A model with recurrent state cannot cut a sequence back at all:
 * it stops reading each prompt a few tokens before its end to copy the state, and a next turn goes on from there.
 * Failures and cancellations leave nothing.
 *
 * <p>A seeded draw never reuses a prefix, so that it answers the same each time it is served alone. Its
 * draws turn on the last bits of the logits, and a reused prefix leaves the rest of the prompt (for a
 * repeated prompt, its last token) to a decode of its own: a single token goes through llama.cpp's
 * matrix-vector kernels, whose sums round otherwise than the matrix kernels that read the whole prompt at
 * once. On a random-weight 256-wide model with F16 weights and cache, that moves the logits by up to 0.002;
 * reading a prompt in two pieces of several tokens each moves nothing. Among other requests, where a step
 * batches several sequences and cells sit where they are free, a seeded answer is as reproducible as OpenAI
 * promises: usually, not always. Greedy answers keep prefix reuse: a different token then needs two logits
 * within those last bits.
 *
 * <p>A decode that fails (no room in the KV cache, or otherwise) is retried at once with half as many
 * tokens, down to one; a single token that still fails ends its own sequence ({@code length} when the
 * cache is full, an error otherwise). Nobody else fails. Each sequence stays within its share of the
 * cache, prompt and answer together, so the cache as a whole never overflows.
 *
 * <p>One request never hurts another: whatever fails while starting, sampling or emitting for one sequence
 * ends that sequence's request alone, with a 500 in OpenAI's shape, and frees its slot. A sequence whose
 * reader has more than {@link #MAX_BACKLOG} events still to take waits, skipped by every step, until the
 * reader catches up.
 *
 * <p>Thread-safe: {@link #submit}, {@link #health} and the counters may be called from any thread;
 * everything else runs on the scheduler thread.
 */
final class Scheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);
    /**
     * How many tokens before a prompt's end a model with recurrent state keeps its state (as llama-server does): a
     * conversation's next turn starts with the last prompt but for its generation prompt, which templates may render
     * otherwise in the history (Qwen 3.5 ends the prompt with {@code <think>\n}, not the answer).
     */
    static final int STATE_BEFORE_END = 4;

    /** The shortest start of a prompt worth copying from another slot's cells (see {@link #copyPrefix}). */
    static final int MIN_COPIED_PREFIX = 16;
    /** Prompt tokens one step may hold while other sequences generate: bounds how long they wait for it. */
    static final int PREFILL_PER_STEP = 64;
    /**
     * Undelivered events at which a generation's sequences stop generating until their reader takes some:
     * a slow reader costs a bounded queue, never unbounded memory. A step adds at most one token event (and
     * a finish) per choice, so a generation never holds more than this plus two per choice.
     */
    static final int MAX_BACKLOG = 1000;
    /** How long the scheduler's loop may take to come round before the engine counts as wedged. */
    static final long STALL_NANOS = TimeUnit.MINUTES.toNanos(2);
    /** How long a loop waits when no sequence can take a step (nothing runs, or every reader is behind). */
    private static final long IDLE_MILLIS = 100;

    private static final long PAUSED_MILLIS = 5;
    /** The longest the next decode waits for the request threads to write what the last one gave them. */
    static final long READERS_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    private static final int[] NOTHING = new int[0];

    private final LlamaModel model;
    private final LlamaContext context;
    private final LongSupplier nanoTime;
    private final int positionsPerSequence;
    private final int queueCapacity;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>(); // guarded by itself
    private final Sequence[] slots;
    /** Per free slot, the tokens its KV cells still hold from the sequence that last finished there. */
    private final int[][] held;
    /** Per slot, when its last sequence left it (a count of sequences freed so far): the oldest is given up first. */
    private final long[] leftAt;
    /** Cells of slots given up to other prompts, kept in host memory (when given a budget). */
    private final PromptCache store;
    /**
     * Per slot, for a model with a sliding window or recurrent state, what its cells cannot be cut back to, as it was
     * where the prompt of the sequence there (or last there) ended or a few tokens before, or null; its tokens are the
     * start of the slot's cells.
     */
    private final ContextCheckpoint[] checkpoints;

    private long freed;

    private final List<Sequence> running = new ArrayList<>();
    private final DecodeCosts costs;
    private final Thread thread;
    private volatile Calibration calibration; // null once done; read by tests from other threads
    private volatile boolean mayCalibrate; // set by startCalibrating
    private long steps;
    // Counters for tests and operators, written by the scheduler thread only.
    private volatile long shrunk; // decodes retried with fewer tokens
    private volatile long decoded; // tokens decoded while serving
    private volatile long reused; // prompt tokens found in a slot's cells instead of decoded
    private volatile int busy; // slots in use
    private volatile int highestBacklog; // the most undelivered events any generation has held
    private volatile long lastRound; // nanoTime when the loop last came round
    private volatile boolean closed;
    private volatile DecodeListener onDecode; // told of each decode while serving, or null
    /**
     * Whether each decode first waits for the readers to take and write what the last one emitted ({@link
     * #awaitReaders}): when decodes run on as many threads as the JVM has processors. Then a request thread
     * writing its tokens during a decode takes a processor from one of the decode's threads, and the others wait
     * for that one at the graph's barriers. Measured in one server alternating the two ways every 256 steps,
     * 2 cores, 2 threads, greedy streams of 64 tokens: the decode itself 17.5 → 17.0 ms at 4 streams and
     * 25.2 → 24.3 ms at 8; tokens/s +1% to +5% in each of six runs. With a processor to spare, the writing
     * overlaps the decode instead, and nothing waits.
     */
    private volatile boolean readersFirst;

    private volatile long readersWaitNanos = READERS_WAIT_NANOS;
    private volatile boolean awaitingReaders; // the scheduler thread is parked in awaitReaders
    private volatile long readersGivenUp; // waits for readers that ran out with some reader still busy

    Scheduler(LlamaModel model, LlamaContext context, int queueCapacity, LongSupplier nanoTime) {
        this(model, context, queueCapacity, 0, nanoTime);
    }

    /** @param promptCacheBytes host memory for cells that slots give up ({@link PromptCache}); 0 keeps none */
    Scheduler(LlamaModel model, LlamaContext context, int queueCapacity, long promptCacheBytes, LongSupplier nanoTime) {
        this.model = model;
        this.store = new PromptCache(promptCacheBytes);
        this.context = context;
        this.nanoTime = nanoTime;
        this.positionsPerSequence = context.cellsPerSequence();
        this.queueCapacity = queueCapacity;
        this.slots = new Sequence[context.maxSequences()];
        this.held = new int[slots.length][];
        this.leftAt = new long[slots.length];
        this.checkpoints = new ContextCheckpoint[slots.length];
        Arrays.fill(held, NOTHING);
        this.costs = new DecodeCosts(context.batchCapacity());
        this.calibration = new Calibration(model, context, costs, nanoTime);
        this.lastRound = nanoTime.getAsLong();
        this.readersFirst = context.threads() >= Runtime.getRuntime().availableProcessors();
        publishSlots();
        this.thread =
                Thread.ofPlatform().name("parley-llama-scheduler").daemon().start(this::run);
    }

    int positionsPerSequence() {
        return positionsPerSequence;
    }

    /** Tokens decoded while serving (calibration not counted). */
    long decodedTokens() {
        return decoded;
    }

    /** Prompt tokens that were already in a slot's KV cells, from the request served there before. */
    long reusedTokens() {
        return reused;
    }

    /** Prompt tokens loaded from the prompt cache instead of decoded (counted in {@link #reusedTokens} too). */
    long restoredTokens() {
        return store.restoredTokens();
    }

    /** Bytes of cells the prompt cache holds. */
    long promptCacheBytes() {
        return store.bytes();
    }

    /** Bytes of the slots' checkpoints ({@link ContextCheckpoint}). */
    long checkpointBytes() {
        return checkpointBytes;
    }

    private volatile long checkpointBytes; // written by the scheduler thread only

    /** How many decodes failed and were retried with fewer tokens. */
    long shrunkDecodes() {
        return shrunk;
    }

    /** Slots holding a sequence. */
    int busySlots() {
        return busy;
    }

    /** The most events any generation has had waiting for its reader. */
    int highestBacklog() {
        return highestBacklog;
    }

    /** How many times the next decode stopped waiting for a reader that had not written what it was given. */
    long readersGivenUp() {
        return readersGivenUp;
    }

    /**
     * Whether each decode waits for the readers of the one before, and for at most how long: set from the
     * machine at start ({@link #readersFirst}); tests set it to see the order it gives on any machine.
     */
    void readersFirst(boolean on, long atMostNanos) {
        readersWaitNanos = atMostNanos;
        readersFirst = on;
    }

    /** Lets calibration begin in the scheduler's next idle moment. */
    void startCalibrating() {
        mayCalibrate = true;
        synchronized (waiting) {
            waiting.notifyAll();
        }
    }

    /** Whether calibration has ended: measured every group size, or given up ({@link #calibrationFailed}). */
    boolean calibrated() {
        return calibration == null;
    }

    /** Whether calibration failed and was given up, the costs then learned while serving only. */
    boolean calibrationFailed() {
        return calibrationFailed;
    }

    private volatile boolean calibrationFailed;

    /** Queues every choice of a request, or none of them: 503 when the wait queue has no room. */
    void submit(List<Sequence> sequences) {
        synchronized (waiting) {
            if (closed) throw busy("The engine is shutting down.");
            if (queueCapacity - waiting.size() < sequences.size()) {
                int queued = waiting.size();
                throw busy("The engine is overloaded: %d %s waiting for a slot. Please retry later."
                        .formatted(queued, queued == 1 ? "sequence is" : "sequences are"));
            }
            // All at once under the lock: the scheduler admits a request's choices together, so that they
            // start together and read their shared prompt once.
            waiting.addAll(sequences);
            waiting.notifyAll();
        }
    }

    /** Tells {@code listener} of every decode while serving, from now on. */
    void onDecode(DecodeListener listener) {
        onDecode = listener;
    }

    /** Serving unless the thread has died or its loop has not come round for {@link #STALL_NANOS}. */
    Health health() {
        int queued;
        synchronized (waiting) {
            queued = waiting.size();
        }
        boolean ok = thread.isAlive() && !closed && nanoTime.getAsLong() - lastRound < STALL_NANOS;
        return new Health(ok, new Health.Slots(slots.length, busy, slotView), new Health.Queue(queued, queueCapacity));
    }

    /** What each slot holds, as of the last round of the loop, for {@link #health}; written by the loop alone. */
    private volatile List<Health.Slot> slotView = List.of();

    private void publishSlots() {
        Health.Slot[] view = new Health.Slot[slots.length];
        for (int i = 0; i < slots.length; i++) {
            Sequence sequence = slots[i];
            view[i] = sequence == null
                    ? new Health.Slot(null, i, "idle", 0, 0, 0)
                    : new Health.Slot(
                            null,
                            i,
                            sequence.awaitsPrompt || sequence.position < sequence.prompt.length
                                    ? "reading"
                                    : "generating",
                            sequence.prompt.length,
                            sequence.generated,
                            sequence.position);
        }
        slotView = List.of(view);
    }

    private static ServerException busy(String message) {
        return new ServerException(503, new ApiError(message, ApiError.SERVER_ERROR, null, "engine_overloaded"));
    }

    private void run() {
        while (!closed) {
            try {
                admit();
                publishSlots(); // the slots just taken show at once
                if (running.isEmpty()) {
                    idle();
                } else if (!step()) {
                    pause(PAUSED_MILLIS); // every sequence waits for its reader
                } else if (readersFirst) {
                    awaitReaders();
                }
            } catch (InterruptedException e) {
                if (closed) break;
            } catch (RuntimeException | StackOverflowError e) {
                // Per-sequence work is guarded where it happens; this is the scheduler's own failure.
                log.error("The scheduler failed outside any one sequence; failing the sequences it held", e);
                for (Sequence sequence : List.copyOf(running)) fail(sequence, e);
            }
            lastRound = nanoTime.getAsLong();
            publishSlots();
        }
        log.info("Decode costs learned while serving: {}", costs);
        ServerException shutdown = busy("The engine is shutting down.");
        for (Sequence sequence : List.copyOf(running)) {
            release(sequence);
            sequence.generation.fail(shutdown);
        }
        synchronized (waiting) {
            for (Sequence sequence; (sequence = waiting.poll()) != null; ) sequence.generation.fail(shutdown);
        }
        store.close();
        for (int slot = 0; slot < slots.length; slot++) dropCheckpoint(slot);
    }

    /** With nothing running: calibrate a piece while nobody waits, or wait for work. */
    private void idle() throws InterruptedException {
        if (calibration != null && mayCalibrate && queued() == 0) {
            for (int slot = 0; slot < slots.length; slot++) {
                keepInStore(slot, 0); // with a prompt cache, nothing is lost
                held[slot] = NOTHING; // each piece of calibration clears the whole cache
                dropCheckpoint(slot);
            }
            try {
                if (!calibration.step()) {
                    calibration = null;
                    log.info("Calibrated decode costs: {}", costs);
                }
            } catch (RuntimeException e) {
                calibrationFailed = true;
                calibration = null; // serve on the costs learned while serving
                log.warn("Calibrating decode costs failed; learning them while serving instead", e);
            }
            return;
        }
        pause(IDLE_MILLIS);
    }

    private int queued() {
        synchronized (waiting) {
            return waiting.size();
        }
    }

    /**
     * Waits, up to {@link #READERS_WAIT_NANOS} (unless a test says otherwise), until the reader of every running
     * generation has taken and written its events and come back for more. A reader still busy when the wait ends
     * (a client reading slowly, its socket full) is marked lagging and not waited for again until it is found
     * drained.
     */
    private void awaitReaders() {
        long deadline = System.nanoTime() + readersWaitNanos;
        awaitingReaders = true;
        try {
            while (true) {
                boolean busyReader = false;
                for (Sequence sequence : running) {
                    LlamaGeneration generation = sequence.generation;
                    if (generation.cancelled() || generation.drained()) {
                        generation.lagging = false;
                    } else if (!generation.lagging) {
                        busyReader = true;
                    }
                }
                if (!busyReader) return;
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    for (Sequence sequence : running) sequence.generation.lagging = !sequence.generation.drained();
                    readersGivenUp++;
                    return;
                }
                LockSupport.parkNanos(this, left); // a reader coming back unparks
            }
        } finally {
            awaitingReaders = false;
        }
    }

    /** Called on a reader's thread when it has written all it was given. */
    private void readerWaiting() {
        if (awaitingReaders) LockSupport.unpark(thread);
    }

    /** Waits up to {@code millis} for a submission, unless one is already waiting. */
    private void pause(long millis) throws InterruptedException {
        synchronized (waiting) {
            if (waiting.isEmpty() || freeSlot() < 0) waiting.wait(millis);
        }
    }

    /** Starts waiting sequences while slots are free, in order; the choices of one request come together. */
    private void admit() {
        List<Sequence> starting = new ArrayList<>();
        synchronized (waiting) {
            int free = 0;
            for (Sequence slot : slots) if (slot == null) free++;
            while (starting.size() < free && !waiting.isEmpty()) starting.add(waiting.poll());
        }
        for (Sequence sequence : starting) start(sequence);
    }

    private int freeSlot() {
        for (int i = 0; i < slots.length; i++) if (slots[i] == null) return i;
        return -1;
    }

    private void start(Sequence sequence) {
        if (sequence.generation.cancelled()) return;
        boolean alone =
                !sequence.promptLogprobs && running.stream().noneMatch(other -> other.group() == sequence.group());
        boolean mayReuse = alone && !sequence.seededDraw;
        int holder = mayReuse ? prefixHolder(sequence.prompt) : -1;
        int holds = holder < 0 ? 0 : servable(holder, sequence.prompt); // what the prompt can go on from there
        boolean fromStore = mayReuse && storeHoldsMore(holds, sequence.prompt);
        Sequence source = mayReuse && !fromStore ? runningSource(sequence.prompt, holds) : null;
        if (source != null) holder = -1; // a running answer holds more: the prompt takes a slot of its own
        int slot = slotFor(fromStore ? -1 : holder, holds, sequence.prompt);
        if (fromStore && context.copyPending(slot)) fromStore = false; // the copy would overwrite what was loaded
        sequence.id = slot;
        slots[slot] = sequence;
        busy++;
        running.add(sequence);
        try {
            boolean keepsHere = !fromStore && holder == slot;
            // Saving may give up entries of the store: loading looks the prompt up again.
            keepInStore(slot, keepsHere ? holds : 0);
            int kept;
            if (fromStore) kept = store.restore(context, sequence.prompt, slot, MIN_COPIED_PREFIX);
            else if (source != null) kept = copyPrefix(source.id, slot, runningShare(source, sequence.prompt));
            else if (holder < 0) kept = 0;
            else if (keepsHere) kept = keepPrefix(slot, sequence.prompt);
            else kept = copyPrefix(holder, slot, sharedPrefix(held[holder], sequence.prompt));
            if (kept == 0) context.clearSequence(slot);
            ContextCheckpoint checkpoint = checkpoints[slot];
            if (checkpoint != null && (!keepsHere || kept < checkpoint.length)) dropCheckpoint(slot); // cells gone
            held[slot] = NOTHING;
            sequence.position = kept;
            sequence.checkpointAt = stateCheckpointAt(sequence);
            if (sequence.checkpointAt == kept) {
                // The same prompt again, gone on from a checkpoint loaded from the prompt cache: the slot keeps a copy.
                if (checkpoints[slot] == null) keepCheckpoint(slot, kept);
                sequence.checkpointAt = 0;
            }
            sequence.branchAt = mayReuse ? branchPoint(sequence.prompt, slot, kept) : 0;
            reused += kept;
            sequence.generation.cached(kept);
            sequence.generation.onReaderWaiting(this::readerWaiting);
            sequence.sampler = new TokenSampler(sequence.sampling, model.vocabSize());
            // Tool and reasoning syntaxes may use control tokens ([TOOL_CALLS], <|channel|>): their parsers read them.
            sequence.detokenizer = model.detokenizer(sequence.rules.specialText());
            if (sequence.rules.grammar() != null)
                sequence.grammar = model.newGrammar(sequence.rules.grammar(), JsonGrammar.ROOT);
            sequence.lastStep = steps;
            if (!sequence.echo.isEmpty() && !sequence.promptLogprobs) sequence.echo(null);
            joinSiblings(sequence);
        } catch (RuntimeException e) {
            fail(sequence, e);
        }
    }

    /**
     * The slot a sequence starts in: {@code holder}, the free slot holding the longest start of its {@code
     * prompt} (-1 when none does, or it may not reuse one) that it {@code holds} tokens of, when the prompt is all in
     * those cells (the same prompt again) or keeps at least as much of them as it gives up (the next turn of their
     * conversation);
     * otherwise the free slot with the least to give up: one that holds nothing, else the one left longest ago.
     * So a new conversation that shares a short system prompt with a longer one leaves that one its cells (and
     * copies the start over). While other sequences run, only free slots next to one of theirs are taken, so
     * that running ids follow one another.
     */
    private int slotFor(int holder, int holds, int[] prompt) {
        boolean idle = running.isEmpty();
        if (holder >= 0 && (idle || nextToRunning(holder))) {
            if (holds == prompt.length - 1 || holds >= held[holder].length - holds) return holder;
        }
        int best = -1;
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] != null || !idle && !nextToRunning(i)) continue;
            if (held[i].length == 0) return i;
            if (best < 0 || leftAt[i] < leftAt[best]) best = i;
        }
        return best >= 0 ? best : freeSlot(); // a free slot has a running neighbour whenever any sequence runs
    }

    /**
     * Whether the prompt cache holds a longer start of {@code prompt} than the {@code holds} tokens the free slot
     * holding the most of it does (0 for none), and at least {@link #MIN_COPIED_PREFIX} tokens.
     */
    private boolean storeHoldsMore(int holds, int[] prompt) {
        if (!store.enabled()) return false;
        PromptCache.Match match = store.longest(prompt);
        return match != null && match.usable() >= MIN_COPIED_PREFIX && match.usable() > holds;
    }

    /**
     * Saves a free slot's cells to the prompt cache before a new sequence starts there, when the sequence keeps
     * less of them ({@code kept}) than it gives up: another conversation's history, or a long one cut back to
     * its system prompt.
     */
    private void keepInStore(int slot, int kept) {
        int[] cells = held[slot];
        if (!store.enabled() || cells.length - kept <= kept || cells.length < MIN_COPIED_PREFIX) return;
        try {
            store.save(context, slot, cells, checkpoints[slot]);
        } catch (RuntimeException | OutOfMemoryError e) {
            log.warn("Keeping slot {}'s cells in the prompt cache failed; they are given up", slot, e);
        }
    }

    private boolean nextToRunning(int slot) {
        return slot > 0 && slots[slot - 1] != null || slot + 1 < slots.length && slots[slot + 1] != null;
    }

    /**
     * The free slot whose cells hold the longest start of a prompt (a repeated system prompt, a growing
     * conversation), or -1 when none holds any; {@link #slotFor} decides whether the prompt starts there or
     * copies that start to a slot of its own ({@link #copyPrefix}).
     */
    private int prefixHolder(int[] prompt) {
        int best = -1;
        int bestShared = 0;
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] != null) continue;
            int shared = servable(i, prompt);
            if (shared > bestShared) {
                best = i;
                bestShared = shared;
            }
        }
        return best;
    }

    /**
     * How many leading tokens of {@code prompt} the free slot's cells hold and can go on from: a model with recurrent
     * state from its checkpoint only, or from the end of all its cells ({@link ContextCheckpoint#servable}); one with
     * a sliding window from where its window layers still reach back to, else from its checkpoint.
     */
    private int servable(int slot, int[] prompt) {
        int shared = sharedPrefix(held[slot], prompt);
        boolean cutsBack = !model.keepsRecurrentState() && context.windowReaches(slot, shared);
        return ContextCheckpoint.servable(held[slot].length, shared, cutsBack, checkpoints[slot]);
    }

    /** How many leading tokens of {@code prompt} the cells hold, all but its last token at most (its logits are needed). */
    static int sharedPrefix(int[] cells, int[] prompt) {
        int limit = Math.min(cells.length, prompt.length - 1);
        int n = 0;
        while (n < limit && cells[n] == prompt[n]) n++;
        return n;
    }

    /**
     * The running sequence whose cells hold the longest start of {@code prompt} that it has read (a system prompt
     * another conversation's answer is being written after), when that is more than {@code atLeast} (what a free
     * slot holds) and at least {@link #MIN_COPIED_PREFIX} tokens; null when none does, or the model's memory cannot
     * be cut back (recurrent state: its start is found through the prompt cache, see {@link #branchPoint}).
     */
    private Sequence runningSource(int[] prompt, int atLeast) {
        if (model.keepsRecurrentState()) return null;
        Sequence best = null;
        int bestShare = Math.max(atLeast, MIN_COPIED_PREFIX - 1);
        for (Sequence other : running) {
            if (context.copyPending(other.id)) continue; // cells of its own still to come: not copied on from there
            int share = runningShare(other, prompt);
            if (share > bestShare) {
                best = other;
                bestShare = share;
            }
        }
        return best;
    }

    /** How many leading tokens of {@code prompt} the running sequence holds in its cells. */
    private static int runningShare(Sequence other, int[] prompt) {
        return Math.min(sharedPrefix(other.prompt, prompt), other.awaitsPrompt ? 0 : other.position);
    }

    /**
     * Copies to {@code slot} the first {@code shared} tokens of the prompt that {@code holder}'s cells hold (a free
     * slot's, or a running answer's); how many were copied (0: none). Fewer than {@link #MIN_COPIED_PREFIX} shared
     * tokens (a BOS, a template's first marker) are read again instead: copying takes the holder's whole cache.
     */
    private int copyPrefix(int holder, int slot, int shared) {
        if (shared < MIN_COPIED_PREFIX) return 0;
        context.clearSequence(slot);
        if (!context.copySequence(holder, slot, shared) || !context.continuesAt(slot, shared)) return 0;
        return shared;
    }

    /**
     * Cuts the slot's cells to the start they share with the prompt; how many were kept (0: to be cleared). Where a
     * sliding window has moved past that point, the cells go on from the end of the slot's last prompt instead, when
     * the prompt starts with it (or is all of it again); a model with recurrent state, which cannot be cut back, goes
     * on from its state a few tokens before that end ({@link ContextCheckpoint}), or reads the prompt again.
     */
    private int keepPrefix(int slot, int[] prompt) {
        int shared = sharedPrefix(held[slot], prompt);
        if (shared == 0) return 0;
        // Recurrent state cannot be cut back (unless nothing is to be cut): only its checkpoint goes back.
        if (context.truncateSequence(slot, shared) && context.continuesAt(slot, shared)) return shared;
        ContextCheckpoint checkpoint = checkpoints[slot];
        return checkpoint == null ? 0 : checkpoint.restore(context, slot, shared);
    }

    /**
     * For a model with a sliding window, keeps the window's cells where a sequence's prompt has just been read
     * ({@link ContextCheckpoint}), when its answer may carry the window past the prompt's start: the conversation's
     * next turn then goes on from there. Other choices of the request share the first one's cells and keep none.
     */
    private void keepWindow(Sequence sequence) {
        int window = model.slidingWindow();
        int length = sequence.prompt.length;
        if (window == 0 || model.keepsRecurrentState() || sequence.leader != null || length < MIN_COPIED_PREFIX) return;
        if (length + (long) sequence.maxTokens <= window) return; // every cell stays in the window
        // Still there, or its cells left in the slot (it finished with its first token); not if it failed.
        if (!isRunning(sequence) && held[sequence.id].length < length) return;
        keepCheckpoint(sequence.id, length);
    }

    /**
     * Where a sequence of a model with recurrent state stops reading its prompt to keep the state ({@link
     * ContextCheckpoint}): {@link #STATE_BEFORE_END} tokens before the end, when the prompt is long enough to be worth
     * it and it starts there or before; 0 for none. Other choices of the request keep none.
     */
    private int stateCheckpointAt(Sequence sequence) {
        int at = sequence.prompt.length - STATE_BEFORE_END;
        boolean worth = model.keepsRecurrentState() && sequence.leader == null && at >= MIN_COPIED_PREFIX;
        return worth && at >= sequence.position ? at : 0;
    }

    /**
     * Where a sequence of a model whose memory cannot be cut back (recurrent state, a sliding window) stops reading its
     * prompt to save its memory to the prompt cache ({@link PromptCache#saveBranch}): the end of the longest start its
     * prompt shares with another slot's prompt or a cache entry that went on otherwise before its checkpoint (a system
     * prompt another conversation began with), when that is at least {@link #MIN_COPIED_PREFIX} tokens past what it
     * {@code kept} and before its own checkpoint, cut back to the start of that line (just after a line's end or a
     * control token) where there is one. Later prompts that start so then load that entry and read only the rest, as
     * a transformer's copy the start from a slot ({@link #copyPrefix}). 0 for none.
     */
    private int branchPoint(int[] prompt, int slot, int kept) {
        if (!store.enabled() || model.slidingWindow() == 0 && !model.keepsRecurrentState()) return 0;
        int best = store.branchPoint(prompt);
        for (int i = 0; i < slots.length; i++) {
            if (i == slot) continue; // its own conversation's last turn
            Sequence other = slots[i];
            int[] tokens = other != null ? other.prompt : held[i];
            int end = other != null
                    ? other.prompt.length - (model.keepsRecurrentState() ? STATE_BEFORE_END : 0)
                    : checkpoints[i] != null ? checkpoints[i].length : tokens.length;
            int shared = sharedPrefix(tokens, prompt);
            if (shared < end) best = Math.max(best, shared);
        }
        int before = prompt.length - STATE_BEFORE_END; // the prompt's own checkpoint serves from there on
        if (best - kept < MIN_COPIED_PREFIX || best >= before) return 0;
        // Back to the start of the line (or of the chat turn) where they part: two questions that begin with the same
        // word part a word later, but every question after this system prompt starts there.
        for (int at = best; at - kept >= MIN_COPIED_PREFIX; at--) if (endsLine(prompt[at - 1])) return at;
        return best;
    }

    /** Whether text goes on after {@code token} as at the start of a line: a control token, or one ending a line. */
    private boolean endsLine(int token) {
        if (model.isControl(token)) return true;
        byte[] text = model.tokenBytes(token);
        return text.length > 0 && text[text.length - 1] == '\n';
    }

    /** Saves a sequence's memory where it stopped at its {@link #branchPoint} to the prompt cache. */
    private void keepBranch(Sequence sequence) {
        try {
            store.saveBranch(context, sequence.id, Arrays.copyOf(sequence.prompt, sequence.branchAt));
        } catch (RuntimeException | OutOfMemoryError e) {
            log.warn("Keeping where slot {}'s prompt leaves another's in the prompt cache failed", sequence.id, e);
        }
    }

    /** Replaces the slot's checkpoint with one of its sequence's first {@code length} tokens. */
    private void keepCheckpoint(int slot, int length) {
        dropCheckpoint(slot);
        try {
            checkpoints[slot] = ContextCheckpoint.take(context, slot, length);
            if (checkpoints[slot] != null) checkpointBytes += checkpoints[slot].bytes();
        } catch (RuntimeException | OutOfMemoryError e) {
            log.warn("Keeping a checkpoint of slot {} failed; its next turn reads its prompt again", slot, e);
        }
    }

    private void dropCheckpoint(int slot) {
        ContextCheckpoint checkpoint = checkpoints[slot];
        if (checkpoint == null) return;
        checkpoints[slot] = null;
        checkpointBytes -= checkpoint.bytes();
        checkpoint.close();
    }

    /**
     * A choice whose sibling has read their shared prompt takes all of it but the last token, whose logits
     * are gone; one whose sibling is reading it waits for its cells; otherwise it reads the prompt itself.
     */
    private void joinSiblings(Sequence sequence) {
        boolean reading = false;
        for (Sequence sibling : running) {
            if (sibling == sequence || sibling.group() != sequence.group()) continue;
            if (!sibling.prefilling()) {
                // A model whose memory cannot be cut short (recurrent state), or whose sliding window has moved
                // past the prompt's start, reads the prompt itself.
                int length = sequence.prompt.length - 1;
                if (context.copySequence(sibling.id, sequence.id, length) && context.continuesAt(sequence.id, length))
                    sequence.position = length;
                else context.clearSequence(sequence.id);
                return;
            }
            reading |= !sibling.awaitsPrompt;
        }
        sequence.awaitsPrompt = reading;
    }

    private boolean isRunning(Sequence sequence) {
        return sequence.id >= 0 && slots[sequence.id] == sequence;
    }

    /**
     * Whether a choice waits for a sibling that is reading their prompt. If that sibling has gone
     * (cancelled, failed), the first choice to ask reads the prompt itself and the others wait for it.
     */
    private boolean waitsForSibling(Sequence sequence) {
        if (!sequence.awaitsPrompt) return false;
        for (Sequence sibling : running) {
            if (sibling != sequence
                    && sibling.group() == sequence.group()
                    && sibling.prefilling()
                    && !sibling.awaitsPrompt) {
                return true;
            }
        }
        sequence.awaitsPrompt = false;
        return false;
    }

    /** One decode of the batch the policy chooses, shrunk until it fits the KV cache; false if nothing could step. */
    private boolean step() {
        dropCancelled();
        int limit = context.batchCapacity();
        while (true) {
            Batch batch = plan(limit);
            if (batch.isEmpty()) return false;
            long elapsed;
            try {
                long start = nanoTime.getAsLong();
                context.decode(batch.tokens);
                elapsed = nanoTime.getAsLong() - start;
                costs.record(batch.tokens.size(), elapsed, cellsInUse() + batch.tokens.size());
            } catch (RuntimeException e) {
                if (batch.tokens.size() > 1) {
                    log.debug(
                            "Decode of {} tokens failed ({}); trying half as many",
                            batch.tokens.size(),
                            e.getMessage());
                    limit = batch.tokens.size() / 2;
                    shrunk++;
                    continue;
                }
                endAlone(batch.members.getFirst().sequence, e);
                return true;
            }
            steps++;
            decoded += batch.tokens.size();
            DecodeListener listener = onDecode;
            if (listener != null) listener.decoded(batch.tokens.size(), elapsed);
            afterDecode(batch);
            return true;
        }
    }

    /** A single token that cannot be decoded ends its own sequence: {@code length} if the cache is full. */
    private void endAlone(Sequence sequence, RuntimeException e) {
        if (e instanceof ContextFullException) {
            log.warn("No KV cell left for sequence {}; ending it with length", sequence.id);
            finish(sequence, "length");
        } else {
            fail(sequence, e);
        }
    }

    private void dropCancelled() {
        for (Iterator<Sequence> it = running.iterator(); it.hasNext(); ) {
            Sequence sequence = it.next();
            if (sequence.generation.cancelled()) {
                it.remove();
                free(sequence, false);
            }
        }
    }

    /**
     * Cells of the KV cache the running sequences fill, as far as decoding costs go: their positions summed
     * (choices that share a prompt count it each, though its cells are shared).
     */
    private long cellsInUse() {
        long cells = 0;
        for (Sequence sequence : running) cells += sequence.position;
        return cells;
    }

    /** What one step decodes: at most {@code limit} tokens, chosen as the class comment says. */
    private Batch plan(int limit) {
        List<Sequence> ready = new ArrayList<>();
        List<Sequence> filling = new ArrayList<>();
        for (Sequence sequence : running) {
            if (!sequence.prefilling()) {
                if (sequence.generation.backlog() < MAX_BACKLOG) ready.add(sequence);
            } else if (!waitsForSibling(sequence)) {
                filling.add(sequence);
            }
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
            int k = Math.min(limit, costs.bestGroup(ready.size(), cellsInUse()));
            for (Sequence sequence : group(ready, k, s -> s.id)) batch.generate(sequence);
        }
        return batch.bySequenceId();
    }

    /**
     * {@code k} of the ready sequences (listed served longest ago first): the one served longest ago and those
     * after it by slot (before it, near the end), so that the group's ids follow one another as far as they can
     * (llama.cpp decodes a batch as one only then). The one served longest ago is always in: nobody waits for
     * more than a round.
     */
    static <T> List<T> group(List<T> ready, int k, ToIntFunction<T> slot) {
        if (k >= ready.size()) return ready;
        T oldest = ready.getFirst();
        List<T> bySlot = new ArrayList<>(ready);
        bySlot.sort(Comparator.comparingInt(slot));
        int from = Math.min(bySlot.indexOf(oldest), bySlot.size() - k);
        return bySlot.subList(from, from + k);
    }

    /**
     * Advances every member, scores prompts that asked for it, lets waiting siblings share a prompt just
     * read, and samples. Each sequence's work is guarded on its own.
     */
    private void afterDecode(Batch batch) {
        List<Sequence> sampled = new ArrayList<>();
        List<Sequence> promptsRead = new ArrayList<>();
        for (Batch.Member member : batch.members) {
            Sequence sequence = member.sequence();
            try {
                sequence.position += member.count();
                sequence.lastStep = steps;
                sequence.logitsIndex = member.logitsIndex();
                // Before the prompt's last tokens are read: the state is where they start.
                if (member.prefill() && sequence.position == sequence.checkpointAt)
                    keepCheckpoint(sequence.id, sequence.position);
                if (member.prefill() && sequence.position == sequence.branchAt) keepBranch(sequence);
                if (member.prefill() && sequence.promptLogprobs) scorePrompt(sequence, member);
                if (sequence.logitsIndex < 0) continue;
                sampled.add(sequence);
                if (member.prefill()) {
                    if (sequence.promptLogprobs) {
                        sequence.echo(
                                TokenProbabilities.echo(model, sequence.prompt, sequence.echo, sequence.promptScores));
                    }
                    promptsRead.add(sequence);
                    sampled.addAll(shareWithSiblings(sequence));
                }
            } catch (RuntimeException e) {
                sampled.remove(sequence);
                fail(sequence, e);
            }
        }
        for (Sequence sequence : sampled) {
            if (!isRunning(sequence) || sequence.generation.cancelled()) continue; // dropped at the next step
            try {
                if (sequence.maxTokens == 0) finish(sequence, "length"); // a prompt scored, nothing to generate
                else sample(sequence);
            } catch (RuntimeException | StackOverflowError e) { // reading what it wrote went too deep: this one alone
                fail(sequence, e);
            }
        }
        // After the first tokens went out: copying a window's cells is not what a first token should wait for.
        for (Sequence sequence : promptsRead) keepWindow(sequence);
    }

    /** Each prompt token of this member but the last predicts the next: its logits score that one. */
    private void scorePrompt(Sequence sequence, Batch.Member member) {
        int first = sequence.position - member.count();
        for (int i = 0; i < member.count(); i++) {
            int position = first + i;
            if (position + 1 >= sequence.prompt.length) break;
            float[] logits = context.logits(member.firstIndex() + i);
            sequence.promptScores.add(
                    TokenProbabilities.of(model, logits, sequence.prompt[position + 1], sequence.topLogprobs));
        }
    }

    /** Siblings waiting for {@code reader}'s prompt get its cells and its last logits. */
    private List<Sequence> shareWithSiblings(Sequence reader) {
        List<Sequence> siblings = new ArrayList<>();
        for (Sequence sequence : List.copyOf(running)) {
            if (sequence == reader || sequence.group() != reader.group() || !sequence.awaitsPrompt) continue;
            try {
                // The reader holds its prompt and nothing more yet: nothing to cut, the copy cannot fail.
                context.copySequence(reader.id, sequence.id, reader.prompt.length);
                sequence.position = reader.prompt.length;
                sequence.logitsIndex = reader.logitsIndex;
                sequence.lastStep = steps;
                sequence.awaitsPrompt = false;
                siblings.add(sequence);
            } catch (RuntimeException e) {
                fail(sequence, e);
            }
        }
        return siblings;
    }

    /** The logits of the sequence being sampled, reused for every sequence and step (this thread's alone). */
    private float[] logitsScratch;

    private void sample(Sequence sequence) {
        float[] raw = null;
        int token;
        if (sequence.sampler.takesLargest() && sequence.grammar == null && sequence.topLogprobs < 0) {
            // Copying the logits to the heap first took 50 µs of a first token here (196 KB, cold); this takes 24.
            token = context.argmax(sequence.logitsIndex);
        } else {
            if (logitsScratch == null) logitsScratch = new float[context.vocabSize()];
            float[] logits = context.logits(sequence.logitsIndex, logitsScratch);
            raw = sequence.topLogprobs >= 0 ? logits.clone() : null;
            token = sequence.sampler.sample(logits, sequence.grammar);
        }
        if (token == TokenSampler.NONE || model.isEndOfGeneration(token)) {
            finish(sequence, "stop"); // NONE: the grammar allows nothing more, not even the end (cannot happen)
            return;
        }
        if (sequence.grammar != null) sequence.grammar.accept(token);
        sequence.recordSampled(token);
        sequence.generated++;
        sequence.generation.generated();
        var logprob = raw == null ? null : TokenProbabilities.of(model, raw, token, sequence.topLogprobs);
        boolean stopped = sequence.emit(sequence.detokenizer.append(token), logprob);
        highestBacklog = Math.max(highestBacklog, sequence.generation.backlog());
        if (sequence.triggered != null) constrainCall(sequence);
        if (stopped) {
            finish(sequence, "stop");
        } else if (sequence.generated >= sequence.maxTokens || sequence.position >= positionsPerSequence) {
            finish(sequence, "length");
        } else {
            sequence.lastToken = token;
        }
    }

    /**
     * The model started a tool call on its own: from here its tokens follow the call grammar. The grammar starts
     * after the trigger text; what the model wrote past the trigger in the same token is fed to it first. When
     * that text does not fit the grammar, the call stays unconstrained and the parser reads what comes.
     */
    private void constrainCall(Sequence sequence) {
        String after =
                sequence.triggered.substring(sequence.rules.tools().trigger().length());
        sequence.triggered = null;
        if (sequence.grammar != null || sequence.rules.grammarAfterTrigger() == null) return;
        int[] pieces = model.textTokens(after);
        Grammar grammar = model.newGrammar(sequence.rules.grammarAfterTrigger(), JsonGrammar.ROOT);
        for (int i = 0; pieces == null || i < pieces.length; i++) {
            int piece = pieces == null ? -1 : pieces[i];
            if (piece < 0 || !grammar.allows(piece)) {
                log.debug("A tool call began with text its grammar does not allow; leaving it unconstrained");
                grammar.close();
                return;
            }
            grammar.accept(piece);
        }
        sequence.grammar = grammar;
    }

    /**
     * Frees the sequence's slot, then ends its choice: a caller that has read its answer and asks again (or reads
     * {@code /health} or {@code /metrics}) finds the slot free, never still held by the request it has finished.
     */
    private void finish(Sequence sequence, String reason) {
        try {
            running.remove(sequence);
            free(sequence, true);
            sequence.finish(reason);
        } catch (RuntimeException | StackOverflowError e) {
            fail(sequence, e);
        }
    }

    /** Frees a sequence's slot and ends its request with a 500; its siblings are dropped at the next step. */
    private void fail(Sequence sequence, Throwable e) {
        log.error("Generating choice {} in slot {} failed; failing its request", sequence.choice, sequence.id, e);
        release(sequence);
        sequence.generation.fail(new ServerException(
                500,
                new ApiError(
                        e.getMessage() == null
                                ? "The model failed while generating."
                                : "The model failed while generating: " + e.getMessage(),
                        ApiError.SERVER_ERROR,
                        null,
                        null)));
    }

    private void release(Sequence sequence) {
        running.remove(sequence);
        free(sequence, false);
    }

    /**
     * Frees a sequence's slot. A sequence that finished leaves its cells for the next prompt that starts the
     * same way; one that failed or was cancelled leaves nothing.
     */
    private void free(Sequence sequence, boolean keepCells) {
        if (!isRunning(sequence)) return;
        int slot = sequence.id;
        slots[slot] = null;
        leftAt[slot] = ++freed;
        busy--;
        if (sequence.grammar != null) sequence.grammar.close();
        held[slot] = NOTHING;
        try {
            if (keepCells) held[slot] = sequence.decodedTokens();
            else {
                dropCheckpoint(slot);
                context.clearSequence(slot);
            }
        } catch (RuntimeException e) {
            log.error("Freeing slot {} failed", slot, e);
            held[slot] = NOTHING;
        }
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
        /** {@code count} tokens of {@code sequence} from batch index {@code firstIndex}; logits for sampling at {@code logitsIndex}, or -1. */
        record Member(Sequence sequence, int count, int firstIndex, int logitsIndex, boolean prefill) {}

        final List<BatchToken> tokens = new ArrayList<>();
        final List<Member> members = new ArrayList<>();

        boolean isEmpty() {
            return tokens.isEmpty();
        }

        void generate(Sequence sequence) {
            members.add(new Member(sequence, 1, tokens.size(), tokens.size(), false));
            tokens.add(new BatchToken(sequence.lastToken, sequence.position, sequence.id, true));
        }

        /**
         * The same batch with its members in the order of their sequence ids: llama.cpp decodes sequences with
         * caches of their own together only when their ids follow one another in the batch.
         */
        Batch bySequenceId() {
            Batch sorted = new Batch();
            List<Member> order = new ArrayList<>(members);
            order.sort(Comparator.comparingInt(m -> m.sequence().id));
            for (Member m : order) {
                int first = sorted.tokens.size();
                sorted.tokens.addAll(tokens.subList(m.firstIndex(), m.firstIndex() + m.count()));
                int logitsIndex = m.logitsIndex() < 0 ? -1 : first + m.logitsIndex() - m.firstIndex();
                sorted.members.add(new Member(m.sequence(), m.count(), first, logitsIndex, m.prefill()));
            }
            return sorted;
        }

        /** Adds up to {@code room} prompt tokens of {@code sequence}; returns how many. */
        int prefill(Sequence sequence, int room) {
            int end = Math.min(sequence.prompt.length, sequence.position + room);
            if (sequence.checkpointAt > sequence.position) end = Math.min(end, sequence.checkpointAt);
            if (sequence.branchAt > sequence.position) end = Math.min(end, sequence.branchAt);
            int first = tokens.size();
            int logitsIndex = -1;
            for (int i = sequence.position; i < end; i++) {
                boolean last = i == sequence.prompt.length - 1;
                if (last) logitsIndex = tokens.size();
                tokens.add(new BatchToken(sequence.prompt[i], i, sequence.id, last || sequence.promptLogprobs));
            }
            members.add(new Member(sequence, end - sequence.position, first, logitsIndex, true));
            return end - sequence.position;
        }
    }
}
