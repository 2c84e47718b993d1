package dev.parley.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ApiError;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.NotFoundException;
import dev.parley.server.auth.Tenant;
import dev.parley.server.responses.KeptResponses;
import dev.parley.server.responses.StoredResponse;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The routes of kept responses: {@code GET /v1/responses/{id}}, {@code GET /v1/responses/{id}/input_items}, {@code
 * DELETE /v1/responses/{id}} and {@code POST /v1/responses/{id}/cancel}. Each key sees only the responses it made.
 */
final class StoredResponseRoutes {
    private final KeptResponses kept;
    private final Function<Context, Tenant> authenticate;

    StoredResponseRoutes(KeptResponses kept, Function<Context, Tenant> authenticate) {
        this.kept = kept;
        this.authenticate = authenticate;
    }

    /** The response as it was answered; replaying it as a stream is for background responses, which are not made. */
    void retrieve(Context ctx) {
        StoredResponse response = find(ctx);
        if (Boolean.parseBoolean(ctx.queryParam("stream")))
            throw InvalidRequestException.of(
                    "stream",
                    "unsupported_value",
                    "A response is streamed as it is created; a kept one is fetched whole (stream=false).");
        json(ctx, response.response());
    }

    /** The items the response answered (its own input, not the conversation before it), newest first by default. */
    void inputItems(Context ctx) {
        StoredResponse response = find(ctx);
        List<JsonNode> items = new ArrayList<>();
        response.input().forEach(items::add);
        json(
                ctx,
                Paging.page(
                        ctx,
                        items,
                        after -> "No input item with id '%s' in response '%s'.".formatted(after, response.id())));
    }

    void delete(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        String id = ctx.pathParam("id");
        if (!kept.delete(tenant.name(), id)) throw notFound(id);
        json(ctx, Json.object().put("id", id).put("object", "response").put("deleted", true));
    }

    /** Only a response still being made in the background could be cancelled; a kept one is finished. */
    void cancel(Context ctx) {
        StoredResponse response = find(ctx);
        throw InvalidRequestException.of(
                null,
                null,
                "Only a response created with background=true can be cancelled; '%s' was answered when it was created."
                        .formatted(response.id()));
    }

    private StoredResponse find(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        String id = ctx.pathParam("id");
        return kept.find(tenant.name(), id).orElseThrow(() -> notFound(id));
    }

    private NotFoundException notFound(String id) {
        return new NotFoundException(new ApiError(
                kept.keeps()
                        ? "Response with id '%s' not found.".formatted(id)
                        : "Response with id '%s' not found: this server keeps no responses.".formatted(id),
                ApiError.INVALID_REQUEST,
                null,
                null));
    }

    private static void json(Context ctx, Object body) {
        ctx.status(200).contentType("application/json").result(Json.write(body));
    }
}
