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
     * Adds {@code deltas} to the totals, all or (on failure) possibly some of them.
     *
     * @throws LedgerUnavailableException when the store cannot be written now
     */
    void add(Map<Line, Counts> deltas);

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
