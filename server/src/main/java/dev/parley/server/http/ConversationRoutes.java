package dev.parley.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.NotFoundException;
import dev.parley.api.check.Metadata;
import dev.parley.api.check.RequestReader;
import dev.parley.server.auth.Tenant;
import dev.parley.server.responses.Conversation;
import dev.parley.server.responses.KeptConversations;
import dev.parley.server.responses.KeptResponses;
import io.javalin.http.Context;
import java.time.Clock;
import java.util.function.Function;

/**
 * OpenAI's Conversations API: {@code POST /v1/conversations}, {@code GET}, {@code POST} (its metadata) and {@code
 * DELETE /v1/conversations/{id}}, and its items: {@code GET} and {@code POST /v1/conversations/{id}/items}, {@code GET}
 * and {@code DELETE /v1/conversations/{id}/items/{item_id}}. Each key sees only the conversations it created. Items
 * are read and checked as a response's input items are, and listed as they are, each with an id.
 */
final class ConversationRoutes {
    /** The most items one request may add, as at OpenAI. */
    static final int MAX_ITEMS = 20;

    private final KeptConversations conversations;
    private final Function<Context, Tenant> authenticate;
    private final Clock clock;

    ConversationRoutes(KeptConversations conversations, Function<Context, Tenant> authenticate, Clock clock) {
        this.conversations = conversations;
        this.authenticate = authenticate;
        this.clock = clock;
    }

    void create(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        byte[] bytes = HttpApi.body(ctx);
        ObjectNode body = bytes.length == 0 ? Json.object() : RequestReader.read(bytes, ObjectNode.class);
        ArrayNode items = items(body, false);
        Conversation conversation = conversations.create(
                Ids.response("conv_"), tenant.name(), clock.instant().getEpochSecond(), metadata(body, false), items);
        json(ctx, conversation.toJson());
    }

    void retrieve(Context ctx) {
        json(ctx, find(ctx).toJson());
    }

    /** {@code POST /v1/conversations/{id}}: sets its metadata, the one thing of a conversation that changes. */
    void update(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        String id = ctx.pathParam("id");
        ObjectNode body = RequestReader.read(HttpApi.body(ctx), ObjectNode.class);
        ObjectNode metadata = metadata(body, true);
        json(
                ctx,
                conversations
                        .setMetadata(tenant.name(), id, metadata)
                        .orElseThrow(() -> notFound(id))
                        .toJson());
    }

    void delete(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        String id = ctx.pathParam("id");
        if (!conversations.delete(tenant.name(), id)) throw notFound(id);
        json(
                ctx,
                Json.object()
                        .put("id", id)
                        .put("object", "conversation.deleted")
                        .put("deleted", true));
    }

    /** Its items, newest first by default, a page of {@code limit} after the item {@code after}. */
    void listItems(Context ctx) {
        Conversation conversation = find(ctx);
        json(
                ctx,
                Paging.page(
                        ctx,
                        conversation.items(),
                        after -> "No item with id '%s' in conversation '%s'.".formatted(after, conversation.id())));
    }

    /** Adds items after the conversation's last; answers the list of those added. */
    void addItems(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        String id = ctx.pathParam("id");
        ObjectNode body = RequestReader.read(HttpApi.body(ctx), ObjectNode.class);
        ArrayNode items = items(body, true);
        if (!conversations.add(tenant.name(), id, items)) throw notFound(id);
        json(ctx, Paging.list(items, false));
    }

    void item(Context ctx) {
        Conversation conversation = find(ctx);
        String itemId = ctx.pathParam("item_id");
        json(ctx, conversation.item(itemId).orElseThrow(() -> itemNotFound(itemId, conversation.id())));
    }

    /** Deletes one item; answers the conversation. */
    void deleteItem(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        String id = ctx.pathParam("id");
        String itemId = ctx.pathParam("item_id");
        // Which of the two is missing is looked up only when one is.
        Conversation after = conversations
                .removeItem(tenant.name(), id, itemId)
                .orElseThrow(() ->
                        conversations.find(tenant.name(), id).isEmpty() ? notFound(id) : itemNotFound(itemId, id));
        json(ctx, after.toJson());
    }

    /** The request's {@code items}, checked as a response's input items and each given an id. */
    private static ArrayNode items(ObjectNode body, boolean required) {
        JsonNode items = body.get("items");
        if (items == null || items.isNull()) {
            if (required)
                throw InvalidRequestException.of(
                        "items", "missing_required_parameter", "Missing required parameter: 'items'.");
            return Json.mapper().createArrayNode();
        }
        if (!items.isArray())
            throw InvalidRequestException.of("items", "invalid_type", "Invalid type for 'items': expected an array.");
        if (items.size() > MAX_ITEMS)
            throw InvalidRequestException.of(
                    "items",
                    "array_above_max_length",
                    "Invalid 'items': array too long. Expected an array with maximum length %d, but got an array with length %d instead."
                            .formatted(MAX_ITEMS, items.size()));
        return ResponsesRequest.checkedItems((ArrayNode) items, "items");
    }

    private static ObjectNode metadata(ObjectNode body, boolean required) {
        JsonNode metadata = body.get("metadata");
        if (metadata == null || metadata.isNull()) {
            if (required)
                throw InvalidRequestException.of(
                        "metadata", "missing_required_parameter", "Missing required parameter: 'metadata'.");
            return Json.object();
        }
        Metadata.check(metadata);
        return (ObjectNode) metadata;
    }

    private Conversation find(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        String id = ctx.pathParam("id");
        return conversations.find(tenant.name(), id).orElseThrow(() -> notFound(id));
    }

    /** 404 for a conversation the key does not have; {@code param} names where it was given, or is null. */
    static NotFoundException notFound(String id, String param) {
        return new NotFoundException(new ApiError(
                "Conversation with id '%s' not found.".formatted(KeptResponses.shown(id)),
                ApiError.INVALID_REQUEST,
                param,
                null));
    }

    private static NotFoundException notFound(String id) {
        return notFound(id, null);
    }

    private static NotFoundException itemNotFound(String itemId, String conversationId) {
        return new NotFoundException(new ApiError(
                "Item with id '%s' not found in conversation '%s'."
                        .formatted(KeptResponses.shown(itemId), conversationId),
                ApiError.INVALID_REQUEST,
                null,
                null));
    }

    private static void json(Context ctx, Object body) {
        ctx.status(200).contentType("application/json").result(Json.write(body));
    }
}
