package dev.parley.server.responses;

import dev.parley.api.Json;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Responses in this process's memory, at most {@code maxBytes} of them (as JSON): the oldest are forgotten first.
 * Lost when the process ends; for a server without a data folder or Redis.
 */
final class MemoryResponses implements ResponseStore {
    private final long maxBytes;
    private final Map<String, Entry> responses = new LinkedHashMap<>(); // oldest first; guarded by this
    private long bytes; // guarded by this

    private record Entry(StoredResponse response, long bytes) {}

    MemoryResponses(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    @Override
    public void put(StoredResponse response) {
        long size = Json.bytes(response.toJson()).length;
        synchronized (this) {
            Entry old = responses.remove(response.id());
            if (old != null) bytes -= old.bytes();
            if (size > maxBytes) return; // larger than all the room there is: not kept
            responses.put(response.id(), new Entry(response, size));
            bytes += size;
            for (Iterator<Entry> oldest = responses.values().iterator(); bytes > maxBytes; ) {
                bytes -= oldest.next().bytes();
                oldest.remove();
            }
        }
    }

    @Override
    public synchronized Optional<StoredResponse> get(String id) {
        Entry entry = responses.get(id);
        return entry == null ? Optional.empty() : Optional.of(entry.response());
    }

    @Override
    public synchronized boolean delete(String id) {
        Entry old = responses.remove(id);
        if (old != null) bytes -= old.bytes();
        return old != null;
    }

    private final Set<String> cancelling = ConcurrentHashMap.newKeySet();
    private final Map<String, Long> beats = new ConcurrentHashMap<>(); // by id, System.nanoTime() of the last

    @Override
    public void requestCancel(String id) {
        cancelling.add(id);
    }

    @Override
    public boolean cancelRequested(String id) {
        return cancelling.contains(id);
    }

    @Override
    public void beat(String id) {
        beats.put(id, System.nanoTime());
        // Marks of runs long ended go with the next beat: a process keeps few at a time.
        beats.values().removeIf(at -> System.nanoTime() - at > ALIVE_FOR.toNanos());
    }

    @Override
    public boolean alive(String id) {
        Long at = beats.get(id);
        return at != null && System.nanoTime() - at <= ALIVE_FOR.toNanos();
    }

    @Override
    public String where() {
        return "memory";
    }

    @Override
    public void close() {}
}
