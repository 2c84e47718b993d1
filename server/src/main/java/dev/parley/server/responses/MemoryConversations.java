package dev.parley.server.responses;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Conversations in this process's memory, at most {@code maxBytes} of them: when they grow past it, those created
 * first are forgotten first. Lost when the process ends; for a server without a data folder or Redis.
 */
final class MemoryConversations implements ConversationStore {
    private final long maxBytes;
    private final Map<String, List<String>> conversations = new LinkedHashMap<>(); // oldest first; guarded by this
    private long bytes; // guarded by this

    MemoryConversations(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    @Override
    public synchronized void create(String id, List<String> entries) {
        conversations.put(id, new ArrayList<>());
        add(id, entries);
    }

    @Override
    public synchronized boolean append(String id, List<String> entries) {
        if (!conversations.containsKey(id)) return false;
        add(id, entries);
        return true;
    }

    private void add(String id, List<String> entries) {
        conversations.get(id).addAll(entries);
        bytes += size(entries);
        for (Iterator<List<String>> oldest = conversations.values().iterator(); bytes > maxBytes; ) {
            bytes -= size(oldest.next());
            oldest.remove();
        }
    }

    private static long size(List<String> entries) {
        long size = 0;
        for (String entry : entries) size += entry.getBytes(StandardCharsets.UTF_8).length;
        return size;
    }

    @Override
    public synchronized Optional<List<String>> read(String id) {
        List<String> entries = conversations.get(id);
        return entries == null ? Optional.empty() : Optional.of(List.copyOf(entries));
    }

    @Override
    public synchronized Optional<String> first(String id) {
        List<String> entries = conversations.get(id);
        return entries == null || entries.isEmpty() ? Optional.empty() : Optional.of(entries.getFirst());
    }

    @Override
    public synchronized boolean delete(String id) {
        List<String> entries = conversations.remove(id);
        if (entries != null) bytes -= size(entries);
        return entries != null;
    }

    @Override
    public String where() {
        return "memory";
    }

    @Override
    public void close() {}
}
