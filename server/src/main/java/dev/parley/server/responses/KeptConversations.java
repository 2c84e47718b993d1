package dev.parley.server.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.Json;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The conversations of OpenAI's Conversations API, each the key's that created it alone (for another key, as for an
 * id no server makes, there is none). A conversation lasts until it is deleted (as at OpenAI, it does not expire);
 * responses that name it read its items before their input and add their input and output to it.
 *
 * <p>Kept as a log ({@link ConversationStore}): the conversation's start, then one entry for each change (items added,
 * an item deleted, metadata set), each one append. Replicas sharing the store change one conversation at the same
 * time without losing each other's changes: two responses to one conversation both add their items, in the order
 * they finished.
 *
 * <p>Thread-safe. A store that cannot be reached makes calls throw a 503 {@code response_store_unavailable}.
 */
public final class KeptConversations implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KeptConversations.class);

    /** How much a server without a data folder or Redis keeps in memory; the oldest conversations go first. */
    static final long MEMORY_BYTES = 64L << 20;

    /** The ids conversations are kept by; any other is found nowhere, and never reaches a file name or key. */
    private static final Pattern ID = Pattern.compile("conv_[A-Za-z0-9_-]{1,128}");

    private final ConversationStore store;

    KeptConversations(ConversationStore store) {
        this.store = store;
    }

    /** Conversations in the Redis at {@code redis} when it is not null, else under {@code dataDir}, else in memory. */
    public static KeptConversations open(URI redis, Path dataDir) {
        if (redis != null) return new KeptConversations(new RedisConversations(redis));
        if (dataDir != null) return new KeptConversations(new FolderConversations(dataDir));
        return new KeptConversations(new MemoryConversations(MEMORY_BYTES));
    }

    /** Where conversations are kept, for the log. */
    public String where() {
        return store.where();
    }

    /**
     * Starts the conversation {@code id} (a new id, {@code conv_…}) of the key named {@code owner}, at {@code
     * createdAt} (epoch seconds), with {@code metadata} and its first {@code items} (checked, each with an id).
     */
    public Conversation create(String id, String owner, long createdAt, ObjectNode metadata, ArrayNode items) {
        if (!ID.matcher(id).matches()) throw new IllegalArgumentException("not a conversation id: " + id);
        ObjectNode start = Json.object()
                .put("op", "created")
                .put("id", id)
                .put("owner", owner)
                .put("created_at", createdAt);
        start.set("metadata", metadata);
        List<String> entries = new ArrayList<>(List.of(entry(start)));
        if (!items.isEmpty()) entries.add(added(items));
        call(() -> {
            store.create(id, entries);
            return null;
        });
        List<ObjectNode> listed = new ArrayList<>();
        items.forEach(item -> listed.add((ObjectNode) item));
        return new Conversation(id, owner, createdAt, metadata, listed);
    }

    /** The conversation {@code id} of the key named {@code owner}, as it stands, if there is one. */
    public Optional<Conversation> find(String owner, String id) {
        if (!ID.matcher(id).matches()) return Optional.empty();
        return call(() -> store.read(id))
                .map(entries -> fold(id, entries))
                .filter(c -> c.owner().equals(owner));
    }

    /**
     * Whether the key named {@code owner} has the conversation {@code id}: read from the entry it was started with
     * alone, not the whole log, for a change that needs no more.
     */
    private boolean owns(String owner, String id) {
        if (!ID.matcher(id).matches()) return false;
        return call(() -> store.first(id))
                .map(start -> owner.equals(Json.tree(start).path("owner").asText(null)))
                .orElse(false);
    }

    /** Adds {@code items} (checked, each with an id) after the conversation's last; false when there is none. */
    public boolean add(String owner, String id, ArrayNode items) {
        if (!owns(owner, id)) return false;
        return items.isEmpty() || call(() -> store.append(id, List.of(added(items))));
    }

    /** Sets the conversation's metadata; the conversation as it then stands, if there is one. */
    public Optional<Conversation> setMetadata(String owner, String id, ObjectNode metadata) {
        if (!owns(owner, id)) return Optional.empty();
        ObjectNode entry = Json.object().put("op", "metadata");
        entry.set("metadata", metadata);
        if (!call(() -> store.append(id, List.of(entry(entry))))) return Optional.empty();
        return find(owner, id);
    }

    /** Deletes the item {@code itemId}; the conversation as it then stands, if it had the item. */
    public Optional<Conversation> removeItem(String owner, String id, String itemId) {
        Optional<Conversation> found = find(owner, id);
        if (found.isEmpty() || found.get().item(itemId).isEmpty()) return Optional.empty();
        String entry = entry(Json.object().put("op", "removed").put("item", itemId));
        if (!call(() -> store.append(id, List.of(entry)))) return Optional.empty();
        return find(owner, id);
    }

    /** Deletes the conversation and its items; whether the key had it. */
    public boolean delete(String owner, String id) {
        if (!owns(owner, id)) return false;
        return call(() -> store.delete(id));
    }

    /**
     * An entry as it is kept: UTF-8 JSON with a lone surrogate escaped (written as it is, UTF-8 would turn it into
     * "?").
     */
    private static String entry(ObjectNode entry) {
        return new String(Json.bytes(entry), StandardCharsets.UTF_8);
    }

    private static String added(ArrayNode items) {
        ObjectNode entry = Json.object().put("op", "added");
        entry.set("items", items);
        return entry(entry);
    }

    /** The conversation its log's {@code entries} describe, read in order; entries it cannot read are skipped. */
    private static Conversation fold(String id, List<String> entries) {
        String owner = null;
        long createdAt = 0;
        ObjectNode metadata = Json.object();
        List<ObjectNode> items = new ArrayList<>();
        for (String text : entries) {
            JsonNode entry;
            try {
                entry = Json.tree(text);
            } catch (RuntimeException e) { // a write cut short by a crash: never acknowledged
                log.warn("Conversation {} has an entry that is not JSON; skipped", id);
                continue;
            }
            switch (entry.path("op").asText()) {
                case "created" -> {
                    owner = entry.path("owner").asText();
                    createdAt = entry.path("created_at").asLong();
                    if (entry.get("metadata") instanceof ObjectNode given) metadata = given;
                }
                case "added" ->
                    entry.path("items").forEach(item -> {
                        if (item instanceof ObjectNode object) items.add(object);
                    });
                case "removed" -> {
                    String item = entry.path("item").asText();
                    items.removeIf(i -> i.path("id").asText().equals(item));
                }
                case "metadata" -> {
                    if (entry.get("metadata") instanceof ObjectNode given) metadata = given;
                }
                default -> log.warn("Conversation {} has an entry of an unknown kind; skipped", id);
            }
        }
        return new Conversation(id, owner == null ? "" : owner, createdAt, metadata, items);
    }

    private interface Call<T> {
        T run();
    }

    private static <T> T call(Call<T> call) {
        try {
            return call.run();
        } catch (ResponseStoreUnavailableException e) {
            throw KeptResponses.unavailable(e, "conversations");
        }
    }

    @Override
    public void close() {
        store.close();
    }
}
