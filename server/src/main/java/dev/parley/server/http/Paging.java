package dev.parley.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/** OpenAI's paged lists: the {@code limit} and {@code order} query parameters, and the {@code list} object. */
final class Paging {
    private Paging() {}

    /** The {@code limit} query parameter: {@code fallback} when absent, else a whole number from 1 to {@code most}. */
    static int limit(Context ctx, int fallback, int most) {
        String asked = ctx.queryParam("limit");
        if (asked == null) return fallback;
        int limit;
        try {
            limit = Integer.parseInt(asked);
        } catch (NumberFormatException e) {
            limit = -1;
        }
        if (limit < 1 || limit > most) {
            throw InvalidRequestException.of(
                    "limit", "invalid_value", "Invalid 'limit': expected an integer from 1 to %d.".formatted(most));
        }
        return limit;
    }

    /** Whether the {@code order} query parameter asks for the oldest first ({@code asc}); {@code desc} by default. */
    static boolean ascending(Context ctx) {
        String order = ctx.queryParam("order");
        if (order != null && !order.equals("asc") && !order.equals("desc")) {
            throw InvalidRequestException.of(
                    "order",
                    "invalid_value",
                    "Invalid value: '%s'. Supported values are: 'asc' and 'desc'.".formatted(order));
        }
        return "asc".equals(order);
    }

    /**
     * The page of {@code items} (objects with ids, oldest first) that the query asks for: newest first unless {@code
     * order=asc}, {@code limit} of them (20 unless asked, at most 100), from the one after the item {@code after}.
     *
     * @throws InvalidRequestException naming {@code after} when no item has that id; {@code missing} words it, given
     *     the id
     */
    static ObjectNode page(Context ctx, List<? extends JsonNode> items, Function<String, String> missing) {
        int limit = limit(ctx, 20, 100);
        List<JsonNode> ordered = new ArrayList<>(items);
        if (!ascending(ctx)) Collections.reverse(ordered);
        String after = ctx.queryParam("after");
        int from = 0;
        if (after != null) {
            from = -1;
            for (int i = 0; i < ordered.size() && from < 0; i++)
                if (ordered.get(i).path("id").asText().equals(after)) from = i + 1;
            if (from < 0) throw InvalidRequestException.of("after", "invalid_value", missing.apply(after));
        }
        ArrayNode data = Json.mapper().createArrayNode();
        ordered.subList(from, Math.min(ordered.size(), from + limit)).forEach(data::add);
        return list(data, from + limit < ordered.size());
    }

    /** A page of {@code data} (objects with ids), and whether more follow it. */
    static ObjectNode list(ArrayNode data, boolean hasMore) {
        ObjectNode list = Json.object();
        list.put("object", "list");
        list.set("data", data);
        if (data.isEmpty()) {
            list.putNull("first_id");
            list.putNull("last_id");
        } else {
            list.put("first_id", data.get(0).get("id").asText());
            list.put("last_id", data.get(data.size() - 1).get("id").asText());
        }
        list.put("has_more", hasMore);
        return list;
    }
}
