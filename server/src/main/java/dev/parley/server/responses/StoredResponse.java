package dev.parley.server.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.Json;
import java.util.ArrayList;
import java.util.List;

/**
 * A response as kept: the {@code response} object as it was answered, the input items it answered (this request's
 * own, each with an id; what came before through {@code previous_response_id} is kept with that response), and the
 * key it belongs to.
 *
 * @param id the response's id, {@code resp_…}
 * @param owner the name of the key that created it: no other key sees it
 * @param createdAt its {@code created_at}, in epoch seconds
 * @param previousId the response it continued; null when none
 * @param upstream the base URL of the server that made it, for a model served elsewhere (which keeps it too, and
 *     alone can continue it); null for a response of this server's own
 * @param before the ids of the responses just before it, oldest first and {@code previousId} last (the last 64 of
 *     a longer conversation), so that a conversation is read many responses at a time rather than one after
 *     another; null when not known (it is then walked back through each {@code previousId})
 */
public record StoredResponse(
        String id,
        String owner,
        long createdAt,
        String previousId,
        ArrayNode input,
        ObjectNode response,
        String upstream,
        List<String> before) {

    public StoredResponse {
        before = before == null ? null : List.copyOf(before);
    }

    /** A response made here or by {@code upstream}, before which the conversation is not yet known. */
    public StoredResponse(
            String id,
            String owner,
            long createdAt,
            String previousId,
            ArrayNode input,
            ObjectNode response,
            String upstream) {
        this(id, owner, createdAt, previousId, input, response, upstream, null);
    }

    /** A response this server made itself. */
    public StoredResponse(
            String id, String owner, long createdAt, String previousId, ArrayNode input, ObjectNode response) {
        this(id, owner, createdAt, previousId, input, response, null, null);
    }

    /** The same response, continuing the responses {@code before}. */
    public StoredResponse withBefore(List<String> before) {
        return new StoredResponse(id, owner, createdAt, previousId, input, response, upstream, before);
    }

    public ObjectNode toJson() {
        ObjectNode node = Json.mapper().createObjectNode();
        node.put("id", id).put("owner", owner).put("created_at", createdAt);
        if (previousId == null) node.putNull("previous_response_id");
        else node.put("previous_response_id", previousId);
        node.set("input", input);
        node.set("response", response);
        if (upstream != null) node.put("upstream", upstream);
        if (before != null) {
            ArrayNode ids = node.putArray("before");
            before.forEach(ids::add);
        }
        return node;
    }

    /** Reads what {@link #toJson} wrote. */
    public static StoredResponse fromJson(JsonNode node) {
        JsonNode previous = node.path("previous_response_id");
        JsonNode upstream = node.path("upstream");
        List<String> before = null;
        if (node.path("before").isArray()) {
            before = new ArrayList<>();
            for (JsonNode id : node.get("before")) before.add(id.asText());
        }
        return new StoredResponse(
                node.path("id").asText(),
                node.path("owner").asText(),
                node.path("created_at").asLong(),
                previous.isTextual() ? previous.asText() : null,
                (ArrayNode) node.get("input"),
                (ObjectNode) node.get("response"),
                upstream.isTextual() ? upstream.asText() : null,
                before);
    }
}
