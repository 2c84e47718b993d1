package dev.parley.server.responses;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where stored responses are kept, by id. A store checks no owner and no age ({@link KeptResponses} does); it may
 * forget a response early (memory's bound, Redis's expiry), never return another one's.
 *
 * <p>Thread-safe. Calls that cannot reach the store throw {@link ResponseStoreUnavailableException}.
 */
interface ResponseStore extends AutoCloseable {

    void put(StoredResponse response);

    Optional<StoredResponse> get(String id);

    /**
     * Whether {@link #getAll} reads many responses for about the cost of one (a round trip to Redis), so that a
     * response is worth keeping with the ids before it; where each is read on its own, they would only cost parsing.
     */
    default boolean batches() {
        return false;
    }

    /** The responses {@code ids}, in their order, each empty when not kept; one round trip where the store allows. */
    default List<Optional<StoredResponse>> getAll(List<String> ids) {
        List<Optional<StoredResponse>> found = new ArrayList<>();
        for (String id : ids) found.add(get(id));
        return found;
    }

    /** Forgets the response; whether there was one. */
    boolean delete(String id);

    /** How long a server's mark that it runs a background response lasts unless it marks it again. */
    Duration ALIVE_FOR = Duration.ofSeconds(10);

    /** Asks whichever server runs the background response {@code id} to cancel it. */
    void requestCancel(String id);

    /** Whether cancelling the background response {@code id} was asked for. */
    boolean cancelRequested(String id);

    /** Marks the background response {@code id} as run by a server alive now, for {@link #ALIVE_FOR}. */
    void beat(String id);

    /** Whether a server marked the background response {@code id} as its own within {@link #ALIVE_FOR}. */
    boolean alive(String id);

    /** Where the responses are, for the log: {@code memory}, a folder, a Redis. */
    String where();

    @Override
    void close();
}
