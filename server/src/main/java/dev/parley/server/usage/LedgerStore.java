package dev.parley.server.usage;

import java.time.LocalDate;
import java.util.Map;

/**
 * Where a ledger's totals are kept: in memory, in a data folder, or in Redis. {@link #add} is called by one
 * thread at a time (the ledger's flush); {@link #read} by any.
 */
sealed interface LedgerStore extends AutoCloseable permits MemoryStore, FolderStore, RedisStore {

    /** One key's use of one model on one UTC day. */
    record Line(LocalDate day, String key, String model) {}

    /**
     * Adds {@code deltas} to the totals, once per {@code flushId}: called again with an id it has applied (its
     * answer was lost), it adds nothing. Each UTC day's deltas are applied whole or not at all.
     *
     * @throws LedgerUnavailableException when the store cannot be written now (some days may have been applied)
     */
    void add(String flushId, Map<Line, Counts> deltas);

    /**
     * The totals of the days from {@code from} to {@code to}, both included.
     *
     * @throws LedgerUnavailableException when the store cannot be read now
     */
    Map<Line, Counts> read(LocalDate from, LocalDate to);

    /** Where the totals are, for messages. */
    String where();

    @Override
    void close();
}
