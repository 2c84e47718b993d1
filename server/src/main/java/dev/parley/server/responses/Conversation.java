package dev.parley.server.responses;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.Json;
import java.util.List;
import java.util.Optional;

/**
 * A conversation as it stands: its items in the order they were added, less those deleted.
 *
 * @param id its id, {@code conv_…}
 * @param owner the name of the key that created it: no other key sees it
 * @param createdAt its {@code created_at}, in epoch seconds
 * @param metadata its metadata, as last set
 * @param items its items, oldest first, each with an id
 */
public record Conversation(String id, String owner, long createdAt, ObjectNode metadata, List<ObjectNode> items) {

    public Conversation {
        items = List.copyOf(items);
    }

    /** The conversation object of OpenAI's API. */
    public ObjectNode toJson() {
        ObjectNode node =
                Json.object().put("id", id).put("object", "conversation").put("created_at", createdAt);
        node.set("metadata", metadata.deepCopy());
        return node;
    }

    /** The item {@code itemId}, if the conversation has it. */
    public Optional<ObjectNode> item(String itemId) {
        return items.stream().filter(i -> i.path("id").asText().equals(itemId)).findFirst();
    }

    /** Its items as one array, oldest first: what a response continuing it reads before its input. */
    public ArrayNode itemArray() {
        ArrayNode array = Json.mapper().createArrayNode();
        items.forEach(array::add);
        return array;
    }
}
