package dev.parley.server.responses;

import java.util.List;
import java.util.Optional;

/**
 * Where conversations are kept: each an append-only log of entries (JSON texts, {@link KeptConversations} reads
 * them), so that every change, from any replica, is one append that cannot lose another's. A store checks no owner
 * (that is {@link KeptConversations}'s part); it may forget a conversation early (memory's bound), never mix two.
 *
 * <p>Thread-safe. Calls that cannot reach the store throw {@link ResponseStoreUnavailableException}.
 */
interface ConversationStore extends AutoCloseable {

    /** Starts the conversation {@code id} (an id no other has) with its first {@code entries}. */
    void create(String id, List<String> entries);

    /**
     * Adds {@code entries} after every entry before them, all at once; false when there is no conversation {@code
     * id} (never started, or deleted), and then nothing is added.
     */
    boolean append(String id, List<String> entries);

    /** The conversation's entries, oldest first; empty when there is none. */
    Optional<List<String>> read(String id);

    /** The conversation's first entry, the one it was started with, without reading the rest; empty when there is none. */
    Optional<String> first(String id);

    /** Forgets the conversation; whether there was one. */
    boolean delete(String id);

    /** Where the conversations are, for the log. */
    String where();

    @Override
    void close();
}
