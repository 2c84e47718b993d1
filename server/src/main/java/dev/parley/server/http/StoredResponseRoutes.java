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
    private final BackgroundResponses background;
    private final Function<Context, Tenant> authenticate;

    StoredResponseRoutes(KeptResponses kept, BackgroundResponses background, Function<Context, Tenant> authenticate) {
        this.kept = kept;
        this.background = background;
        this.authenticate = authenticate;
    }

    /**
     * The response as it stands (as it was answered, or, made in the background, as far as it has got); with {@code
     * stream=true}, a background response's events again, after {@code starting_after}.
     */
    void retrieve(Context ctx) throws InterruptedException {
        StoredResponse response = find(ctx);
        if (Boolean.parseBoolean(ctx.queryParam("stream"))) {
            background.stream(ctx, response, response.owner(), startingAfter(ctx));
            return;
        }
        json(ctx, background.current(response));
    }

    /** The {@code starting_after} query parameter: -1 when absent (every event), else a sequence number. */
    private static int startingAfter(Context ctx) {
        String asked = ctx.queryParam("starting_after");
        if (asked == null) return -1;
        try {
            int after = Integer.parseInt(asked); // a sequence number beyond an int's is no event's
            if (after >= 0) return after;
        } catch (NumberFormatException e) {
            // refused below
        }
        throw InvalidRequestException.of(
                "starting_after",
                "invalid_value",
                "Invalid 'starting_after': expected the sequence number of an event, a whole number from 0.");
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

    /** Cancels a background response; one answered when it was created cannot be (400). */
    void cancel(Context ctx) throws InterruptedException {
        StoredResponse response = find(ctx);
        json(ctx, background.cancel(response, response.owner()));
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
