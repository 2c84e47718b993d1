package dev.parley.server.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.parley.api.ApiError;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.ServerException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The responses a server keeps, each for {@code keep} after it was created and for the key that created it alone: a
 * response another key made, one past its time, and an id no server makes are all simply not found. A response that
 * continues another is kept with its own input only; {@link #conversation} walks back through the ones before it.
 * Responses of models served elsewhere are kept too, with the server that made them ({@link
 * StoredResponse#upstream}), which a continuation is sent to.
 *
 * <p>Thread-safe.
 */
public final class KeptResponses implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KeptResponses.class);

    /** How long responses are kept unless configured: OpenAI's 30 days. */
    public static final Duration KEEP = Duration.ofDays(30);

    /** How much a server without a data folder or Redis keeps in memory; the oldest go first. */
    static final long MEMORY_BYTES = 64L << 20;

    /** The longest conversation {@code previous_response_id} may continue, in responses. */
    static final int MAX_CHAIN = 10_000;

    /**
     * The ids responses are kept by: this server's ({@code resp_} and 48 hex digits) and those of the servers it
     * relays to; any other is found nowhere, and never reaches a file name or a Redis key.
     */
    private static final Pattern ID = Pattern.compile("resp_[A-Za-z0-9_-]{1,128}");

    private final ResponseStore store; // null: none are kept
    private final Duration keep;
    private final Clock clock;

    KeptResponses(ResponseStore store, Duration keep, Clock clock) {
        this.store = store;
        this.keep = keep;
        this.clock = clock;
    }

    /**
     * Responses kept for {@code keep} (zero: none are kept) in the Redis at {@code redis} when it is not null, else
     * under {@code dataDir} when that is not null, else in memory.
     */
    public static KeptResponses open(Duration keep, URI redis, Path dataDir, Clock clock) {
        if (keep.isNegative()) throw new IllegalArgumentException("keep must not be negative");
        if (keep.isZero()) return new KeptResponses(null, keep, clock);
        ResponseStore store;
        if (redis != null) store = new RedisResponses(redis, keep);
        else if (dataDir != null) store = new FolderResponses(dataDir, keep, clock);
        else store = new MemoryResponses(MEMORY_BYTES);
        return new KeptResponses(store, keep, clock);
    }

    /** Whether responses are kept at all. */
    public boolean keeps() {
        return store != null;
    }

    /** Where responses are kept, for the log. */
    public String where() {
        return store == null ? "nowhere" : store.where();
    }

    /**
     * Keeps {@code response}; whether it was kept (a store that cannot be written to is logged, and the answer says
     * {@code store: false}: the caller still gets it).
     */
    public boolean keep(StoredResponse response) {
        if (store == null) return false;
        if (!ID.matcher(response.id()).matches()) { // another server's id this one would not find again
            log.warn(
                    "Response {} was answered but not kept: its id is not one responses are kept by",
                    shown(response.id()));
            return false;
        }
        try {
            boolean knowsBefore = response.before() != null || !store.batches();
            store.put(knowsBefore ? response : response.withBefore(before(response.previousId())));
            return true;
        } catch (ResponseStoreUnavailableException e) {
            log.warn("Response {} was answered but not kept: {}", response.id(), e.getMessage());
            return false;
        }
    }

    /**
     * The ids of the conversation a response continuing {@code previousId} continues, first first, from the kept
     * {@code previousId}; null when not known (it is not kept, or knows not its own), and the conversation is then
     * walked when it is read.
     */
    private List<String> before(String previousId) {
        if (previousId == null) return List.of();
        List<String> earlier = store.get(previousId).map(StoredResponse::before).orElse(null);
        if (earlier == null) return null;
        List<String> ids = new ArrayList<>(earlier);
        ids.add(previousId);
        return ids.size() <= BEFORE ? ids : ids.subList(ids.size() - BEFORE, ids.size());
    }

    /**
     * The most ids a response keeps of those before it: a conversation is read in one round trip per this many
     * responses, and a long one costs each response a few kilobytes, not a list as long as the conversation.
     */
    static final int BEFORE = 64;

    /** The response {@code id} of the key named {@code owner}, if it is kept. */
    public Optional<StoredResponse> find(String owner, String id) {
        return read(id).filter(r -> visible(r, owner, id));
    }

    /** The response kept as {@code id}, whichever key's and however old; empty for an id no response is kept by. */
    private Optional<StoredResponse> read(String id) {
        if (store == null || !ID.matcher(id).matches()) return Optional.empty();
        try {
            return store.get(id);
        } catch (ResponseStoreUnavailableException e) {
            throw unavailable(e);
        }
    }

    /** Whether {@code response} is the response {@code id}, the key {@code owner}'s, and within its time. */
    private boolean visible(StoredResponse response, String owner, String id) {
        return response.owner().equals(owner)
                && response.id().equals(id)
                && clock.instant().getEpochSecond() - response.createdAt() < keep.toSeconds();
    }

    /**
     * The response {@code id} for the key named {@code owner} to continue, if it is kept: {@link #find}, in one read,
     * refusing one kept for another key, which this key must not continue even through a server that keeps it too.
     *
     * @throws InvalidRequestException 400 {@code previous_response_not_found} when it is kept for another key
     */
    public Optional<StoredResponse> continuable(String owner, String id) {
        Optional<StoredResponse> found = read(id);
        if (found.isPresent() && !found.get().owner().equals(owner)) throw notFound(id, id);
        return found.filter(r -> visible(r, owner, id));
    }

    /** Forgets the response {@code id} of the key named {@code owner}; whether it was kept. */
    public boolean delete(String owner, String id) {
        if (find(owner, id).isEmpty()) return false;
        try {
            return store.delete(id);
        } catch (ResponseStoreUnavailableException e) {
            throw unavailable(e);
        }
    }

    /**
     * Asks whichever server runs the background response {@code id} to cancel it: the server that runs it looks for
     * the request while it does ({@link #cancelRequested}).
     */
    public void requestCancel(String id) {
        try {
            store.requestCancel(id);
        } catch (ResponseStoreUnavailableException e) {
            throw unavailable(e);
        }
    }

    /** Whether cancelling the background response {@code id} was asked for; false while the store cannot be read. */
    public boolean cancelRequested(String id) {
        try {
            return store.cancelRequested(id);
        } catch (ResponseStoreUnavailableException e) {
            log.debug("Cannot read whether {} is cancelled: {}", id, e.getMessage());
            return false;
        }
    }

    /**
     * Marks the background response {@code id} as run by this server, which is alive: a server that runs one marks it
     * again well within {@link ResponseStore#ALIVE_FOR}, so that a response whose server has stopped is known for
     * one that will not finish ({@link #alive}).
     */
    public void beat(String id) {
        try {
            store.beat(id);
        } catch (ResponseStoreUnavailableException e) {
            log.debug("Cannot mark {} as running: {}", id, e.getMessage());
        }
    }

    /** Whether a server running the background response {@code id} marked it within the last few seconds. */
    public boolean alive(String id) {
        try {
            return store.alive(id);
        } catch (ResponseStoreUnavailableException e) {
            throw unavailable(e);
        }
    }

    /** How often a server running a background response marks it: a few times within what a mark lasts. */
    public static final Duration BEAT_EVERY = ResponseStore.ALIVE_FOR.dividedBy(5);

    /**
     * The conversation a request with {@code previous_response_id} continues: the input and output items of each
     * response from the first to {@code previousId}, in order. Instructions are not items: each request gives its
     * own. Read {@value #BEFORE} responses at a time where each knows the ids before it ({@link
     * StoredResponse#before}, kept where the store {@linkplain ResponseStore#batches reads many at once}), else one
     * response at a time.
     *
     * @throws InvalidRequestException naming {@code previous_response_id} when a response of it is not kept for this
     *     key, or it is longer than {@link #MAX_CHAIN} responses
     */
    public ArrayNode conversation(String owner, String previousId) {
        StoredResponse first = find(owner, previousId).orElseThrow(() -> notFound(previousId, previousId));
        String status = first.response().path("status").asText();
        // One whose server stopped while making it has failed (and is continued as failed ones are).
        if ((status.equals("queued") || status.equals("in_progress")) && alive(previousId))
            throw InvalidRequestException.of(
                    "previous_response_id",
                    "previous_response_in_progress",
                    "Previous response with id '%s' is still %s in the background; continue it once it has ended."
                            .formatted(previousId, status.replace('_', ' ')));
        Deque<StoredResponse> chain = new ArrayDeque<>();
        chain.add(first);
        while (first.previousId() != null) { // the first read so far continues another: read back from it
            List<String> ids =
                    first.before() != null && !first.before().isEmpty() ? first.before() : List.of(first.previousId());
            if (chain.size() + ids.size() > MAX_CHAIN) throw tooLong(previousId);
            List<Optional<StoredResponse>> found;
            try {
                found = store.getAll(ids);
            } catch (ResponseStoreUnavailableException e) {
                throw unavailable(e);
            }
            for (int i = found.size() - 1; i >= 0; i--) {
                String id = ids.get(i);
                chain.addFirst(
                        found.get(i).filter(r -> visible(r, owner, id)).orElseThrow(() -> notFound(id, previousId)));
            }
            first = chain.getFirst();
        }
        ArrayNode items = Json.mapper().createArrayNode();
        for (StoredResponse response : chain) {
            items.addAll(response.input());
            for (JsonNode item : response.response().path("output")) items.add(item);
        }
        return items;
    }

    /** 400: {@code missing}, the response given or one before it ({@code given}), is not kept for this key. */
    private static InvalidRequestException notFound(String missing, String given) {
        return InvalidRequestException.of(
                "previous_response_id",
                "previous_response_not_found",
                missing.equals(given)
                        ? "Previous response with id '%s' not found.".formatted(shown(missing))
                        : "Previous response with id '%s' not found: it is an earlier response of the one given, '%s'."
                                .formatted(missing, given));
    }

    /** An id as an error message quotes it: one far longer than any response's is cut, so the error stays short. */
    public static String shown(String id) {
        return id.length() <= 140 ? id : id.substring(0, 100) + "… (%,d characters)".formatted(id.length());
    }

    private static InvalidRequestException tooLong(String given) {
        return InvalidRequestException.of(
                "previous_response_id",
                "invalid_value",
                "The conversation of response '%s' is longer than %,d responses; start a new one with its input."
                        .formatted(given, MAX_CHAIN));
    }

    private static ServerException unavailable(ResponseStoreUnavailableException e) {
        return unavailable(e, "responses");
    }

    /** 503: the store of {@code what} (responses, conversations) cannot be reached now, logged with why. */
    static ServerException unavailable(ResponseStoreUnavailableException e, String what) {
        log.warn("The stored {} are unavailable: {}", what, e.getMessage());
        return new ServerException(
                503,
                new ApiError(
                        "The stored %s are unavailable; please retry shortly.".formatted(what),
                        ApiError.SERVER_ERROR,
                        null,
                        "response_store_unavailable"));
    }

    @Override
    public void close() {
        if (store != null) store.close();
    }
}
