package dev.parley.server.usage;

import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requests, prompt tokens and completion tokens per key, model and UTC day: recorded as each request is settled,
 * added up in memory, and flushed to its store (a data folder, or Redis shared by replicas) every second by a
 * daemon thread and on {@link #close}. Recording is a map update under a lock, never I/O, and never fails.
 *
 * <p>What this process recorded counts at once in everything it answers ({@link #rows}, {@link #spent}), flushed or
 * not; what other replicas recorded shows after their flush and this ledger's next one. While the store cannot be
 * written (Redis down), the totals wait in memory and go out, once, at the next flush that succeeds; the outage is
 * logged when it starts and ends and counted in {@link #errors}.
 *
 * <p>Thread-safe. Closing flushes and closes the store.
 */
public final class UsageLedger implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(UsageLedger.class);

    private final LedgerStore store;
    private final Clock clock;
    private final Object lock = new Object();
    private final Object flushing = new Object();
    private final AtomicBoolean down = new AtomicBoolean();
    private final AtomicLong errors = new AtomicLong();
    private Thread flusher; // null for a ledger that only reads
    private volatile CountDownLatch firstRead; // opens once the flusher has read the month; null without one

    // Guarded by lock: recorded but not yet handed to the store; being written; and the store's totals of the
    // month as last read (what this process wrote included).
    private Map<LedgerStore.Line, Counts> pending = new HashMap<>();
    private Map<LedgerStore.Line, Counts> inflight = Map.of();
    private String inflightId; // guarded by flushing
    private Map<LedgerStore.Line, Counts> month = Map.of();
    // Guarded by lock: the same totals by key and model, for the month they are of, so that a budget check
    // looks at one key's few models, not at every line of the month.
    private YearMonth indexed;
    private Map<String, Map<String, Counts>> monthByKey = Map.of();

    private UsageLedger(LedgerStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    /** A ledger in this process's memory only (a server without a data folder or Redis); flushed every second. */
    public static UsageLedger inMemory(Clock clock) {
        return new UsageLedger(new MemoryStore(), clock).startFlushing();
    }

    /**
     * A server's ledger under {@code dataDir} ({@code usage/}), flushed every second; what the folder holds
     * counts from the start.
     *
     * @throws IllegalStateException when another server keeps its ledger there, or the folder cannot be made
     */
    public static UsageLedger inFolder(Path dataDir, Clock clock) {
        return new UsageLedger(FolderStore.open(dataDir, true), clock).startFlushing();
    }

    /** A server's ledger in the Redis at {@code uri}, shared with every replica using it; flushed every second. */
    public static UsageLedger inRedis(URI uri, Clock clock) {
        return new UsageLedger(RedisStore.at(uri), clock).startFlushing();
    }

    /** The ledger a server keeps under {@code dataDir}, to read (while that server runs, too); records nothing. */
    public static UsageLedger readFolder(Path dataDir) {
        return new UsageLedger(FolderStore.open(dataDir, false), Clock.systemUTC());
    }

    /** The ledger in the Redis at {@code uri}, to read; records nothing. */
    public static UsageLedger readRedis(URI uri) {
        return new UsageLedger(RedisStore.at(uri), Clock.systemUTC());
    }

    private UsageLedger startFlushing() {
        // The month is read on the flusher thread, off the server's start (a cold JSON read of the day files,
        // 70–100 ms; a Redis that does not answer, its timeout); budget checks wait for it, recording does not.
        var read = new CountDownLatch(1);
        firstRead = read;
        flusher = Thread.ofPlatform().daemon().name("parley-usage-ledger").start(() -> {
            try {
                synchronized (flushing) { // a flush asked for meanwhile comes after this read, not under it
                    refreshMonth();
                }
            } finally {
                read.countDown();
            }
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(1000);
                    flush();
                }
            } catch (InterruptedException e) {
                // closed
            }
        });
        return this;
    }

    /** Where the totals are kept, for messages. */
    public String where() {
        return store.where();
    }

    /** Records one request of key {@code key} to {@code model}, today (UTC). Never throws, never blocks on I/O. */
    public void record(String key, String model, long promptTokens, long completionTokens) {
        var line = new LedgerStore.Line(today(), key, model);
        Counts counts = Counts.ofRequest(promptTokens, completionTokens);
        synchronized (lock) {
            pending.merge(line, counts, Counts::plus);
        }
    }

    /**
     * Writes what was recorded to the store, then reads this month's totals back (other replicas' included).
     * Called every second and on close.
     *
     * <p>A batch that could not be written is sent again, as it was and under the same id, before anything
     * recorded after it: the store applies each id once, so a batch that was applied although its answer was lost
     * (Redis timed out after running it) is not counted twice.
     */
    public void flush() {
        synchronized (flushing) {
            Map<LedgerStore.Line, Counts> batch;
            synchronized (lock) {
                if (inflight.isEmpty()) {
                    inflight = pending;
                    inflightId = UUID.randomUUID().toString();
                    pending = new HashMap<>();
                }
                batch = inflight;
            }
            if (!batch.isEmpty()) {
                try {
                    store.add(inflightId, batch);
                } catch (LedgerUnavailableException e) {
                    failed(e); // the batch stays in flight, and counts as such, until it is written
                    return;
                }
            }
            synchronized (lock) {
                Map<LedgerStore.Line, Counts> merged = new HashMap<>(month);
                batch.forEach((line, counts) -> merged.merge(line, counts, Counts::plus));
                setMonth(merged);
                inflight = Map.of();
            }
            refreshMonth();
        }
    }

    /** Reads this month's totals from the store; on failure the last ones (with what this process wrote) stay. */
    private void refreshMonth() {
        LocalDate today = today();
        try {
            Map<LedgerStore.Line, Counts> read = store.read(today.withDayOfMonth(1), today);
            synchronized (lock) {
                setMonth(read);
            }
            if (down.compareAndSet(true, false)) log.info("The usage ledger in {} is available again", where());
        } catch (LedgerUnavailableException e) {
            failed(e);
        }
    }

    /** Replaces the month's totals and their index by key; the caller holds the lock. */
    private void setMonth(Map<LedgerStore.Line, Counts> totals) {
        month = totals;
        indexed = YearMonth.from(today());
        Map<String, Map<String, Counts>> byKey = new HashMap<>();
        totals.forEach((line, counts) -> {
            if (YearMonth.from(line.day()).equals(indexed)) {
                byKey.computeIfAbsent(line.key(), k -> new HashMap<>()).merge(line.model(), counts, Counts::plus);
            }
        });
        monthByKey = byKey;
    }

    private void failed(RuntimeException e) {
        errors.incrementAndGet();
        if (down.compareAndSet(false, true))
            log.warn("Keeping usage in memory while the ledger cannot be written: {}", e.getMessage());
    }

    /** Flushes that could not write the store or read it back, since start. */
    public long errors() {
        return errors.get();
    }

    /**
     * What was used from {@code from} to {@code to} (UTC days, both included), by day, key and model, sorted so;
     * this process's unflushed records included.
     *
     * @throws LedgerUnavailableException when the store cannot be read now
     */
    public List<UsageRow> rows(LocalDate from, LocalDate to) {
        Map<LedgerStore.Line, Counts> totals;
        // Not while a flush runs: the store and what is in flight would show its batch twice, or not at all.
        synchronized (flushing) {
            totals = new HashMap<>(store.read(from, to));
            synchronized (lock) {
                addWithin(totals, inflight, from, to);
                addWithin(totals, pending, from, to);
            }
        }
        List<UsageRow> rows = new ArrayList<>();
        totals.forEach((line, counts) -> rows.add(new UsageRow(line.day(), line.key(), line.model(), counts)));
        rows.sort(
                Comparator.comparing(UsageRow::day).thenComparing(UsageRow::key).thenComparing(UsageRow::model));
        return rows;
    }

    private static void addWithin(
            Map<LedgerStore.Line, Counts> totals, Map<LedgerStore.Line, Counts> more, LocalDate from, LocalDate to) {
        more.forEach((line, counts) -> {
            if (!line.day().isBefore(from) && !line.day().isAfter(to)) totals.merge(line, counts, Counts::plus);
        });
    }

    /**
     * What key {@code key} has spent this calendar month (UTC), in USD at {@code prices}; a model without a price
     * costs nothing. Answers from memory: the month's totals as of the last flush, and what this process recorded
     * since; right after the start, once the flusher has read the month the first time.
     */
    public double spent(String key, Map<String, Price> prices) {
        awaitFirstRead();
        YearMonth now = YearMonth.from(today());
        double spent = 0;
        synchronized (lock) {
            if (now.equals(indexed)) {
                for (var model : monthByKey.getOrDefault(key, Map.of()).entrySet()) {
                    spent += model.getValue().cost(prices.get(model.getKey()));
                }
            }
            for (Map<LedgerStore.Line, Counts> part : List.of(inflight, pending)) {
                for (var entry : part.entrySet()) {
                    LedgerStore.Line line = entry.getKey();
                    if (line.key().equals(key) && YearMonth.from(line.day()).equals(now)) {
                        spent += entry.getValue().cost(prices.get(line.model()));
                    }
                }
            }
        }
        return spent;
    }

    /** Waits until the month's totals were read once (or failed to be), as a budget needs them. */
    private void awaitFirstRead() {
        CountDownLatch read = firstRead;
        if (read == null) return; // a ledger that only reads has no month in memory
        boolean interrupted = false;
        while (true) {
            try {
                read.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private LocalDate today() {
        return LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
    }

    @Override
    public void close() {
        if (flusher != null) {
            flusher.interrupt();
            try {
                flusher.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            flush();
        }
        store.close();
    }
}
