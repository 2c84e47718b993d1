package dev.parley.server.usage;

import java.time.LocalDate;
import java.util.HashMap;
import java.util.Map;

/** Totals in this process only, gone when it stops: a server without a data folder or Redis. */
final class MemoryStore implements LedgerStore {
    private final Map<Line, Counts> totals = new HashMap<>();

    @Override
    public synchronized void add(String flushId, Map<Line, Counts> deltas) {
        deltas.forEach((line, counts) -> totals.merge(line, counts, Counts::plus));
    }

    @Override
    public synchronized Map<Line, Counts> read(LocalDate from, LocalDate to) {
        Map<Line, Counts> found = new HashMap<>();
        totals.forEach((line, counts) -> {
            if (!line.day().isBefore(from) && !line.day().isAfter(to)) found.put(line, counts);
        });
        return found;
    }

    @Override
    public String where() {
        return "memory";
    }

    @Override
    public void close() {}
}
