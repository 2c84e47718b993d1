package dev.parley.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.PermissionDeniedException;
import dev.parley.api.ServerException;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.Tenant;
import dev.parley.server.usage.Counts;
import dev.parley.server.usage.LedgerUnavailableException;
import dev.parley.server.usage.Price;
import dev.parley.server.usage.UsageLedger;
import dev.parley.server.usage.UsageRow;
import io.javalin.http.Context;
import java.net.InetAddress;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * OpenAI's organization usage and costs routes over the {@link UsageLedger}: {@code GET
 * /v1/organization/usage/completions} and {@code GET /v1/organization/costs}, in daily buckets ({@code
 * bucket_width=1d}, the ledger's grain), grouped by {@code model} / {@code api_key_id} (the key's name) or {@code
 * line_item} ({@code "MODEL, input"}, {@code "MODEL, output"}), paged with {@code limit} and {@code page}. Groups
 * OpenAI has and Parley does not ({@code project_id}, {@code user_id}, {@code batch}, {@code service_tier}) are
 * accepted, and their fields stay null.
 *
 * <p>Only admin keys may read them ({@code admin: true} in the keys file), others get OpenAI's 403; a server
 * without keys answers callers on loopback only. Buckets are whole UTC days: the first is the day holding
 * {@code start_time}, the last the day holding the second before {@code end_time}.
 */
final class UsageRoutes {
    /** 9999-12-31T23:59:59Z: times beyond are not dates any ledger holds, and their arithmetic could overflow. */
    static final long LATEST = 253_402_300_799L;

    private static final long DAY = 86_400;

    private final UsageLedger ledger;
    private final Map<String, Price> prices;
    private final ApiKeys keys;
    private final Function<Context, Tenant> authenticate;
    private final java.time.Clock clock;

    UsageRoutes(
            UsageLedger ledger,
            Map<String, Price> prices,
            ApiKeys keys,
            Function<Context, Tenant> authenticate,
            java.time.Clock clock) {
        this.ledger = ledger;
        this.prices = prices;
        this.keys = keys;
        this.authenticate = authenticate;
        this.clock = clock;
    }

    /** The page of days a query asks for. */
    private record Query(LocalDate first, LocalDate last, LocalDate end, Set<String> groups) {}

    void completions(Context ctx) {
        requireAdmin(ctx);
        Query query =
                query(ctx, 7, 31, List.of("model", "api_key_id", "project_id", "user_id", "batch", "service_tier"));
        Set<String> models = list(ctx, "models");
        Set<String> apiKeys = list(ctx, "api_key_ids");
        boolean byModel = query.groups().contains("model");
        boolean byKey = query.groups().contains("api_key_id");
        page(ctx, query, rows -> {
            Map<List<String>, Counts> groups = new LinkedHashMap<>();
            for (UsageRow row : rows) {
                if (!models.isEmpty() && !models.contains(row.model())) continue;
                if (!apiKeys.isEmpty() && !apiKeys.contains(row.key())) continue;
                var group = java.util.Arrays.asList(byKey ? row.key() : null, byModel ? row.model() : null);
                groups.merge(group, row.counts(), Counts::plus);
            }
            ArrayNode results = Json.mapper().createArrayNode();
            groups.forEach((group, counts) -> {
                ObjectNode result = results.addObject();
                result.put("object", "organization.usage.completions.result");
                result.put("input_tokens", counts.promptTokens());
                result.put("output_tokens", counts.completionTokens());
                result.put("input_cached_tokens", 0);
                result.put("input_audio_tokens", 0);
                result.put("output_audio_tokens", 0);
                result.put("num_model_requests", counts.requests());
                result.putNull("project_id");
                result.putNull("user_id");
                result.put("api_key_id", group.get(0));
                result.put("model", group.get(1));
                result.putNull("batch");
            });
            return results;
        });
    }

    void costs(Context ctx) {
        requireAdmin(ctx);
        Query query = query(ctx, 7, 180, List.of("line_item", "api_key_id", "project_id"));
        boolean byItem = query.groups().contains("line_item");
        boolean byKey = query.groups().contains("api_key_id");
        page(ctx, query, rows -> {
            Map<List<String>, Double> groups = new LinkedHashMap<>();
            for (UsageRow row : rows) {
                Price price = prices.get(row.model());
                Counts c = row.counts();
                String key = byKey ? row.key() : null;
                if (byItem) {
                    groups.merge(
                            java.util.Arrays.asList(key, row.model() + ", input"),
                            price == null ? 0 : price.cost(c.promptTokens(), 0),
                            Double::sum);
                    groups.merge(
                            java.util.Arrays.asList(key, row.model() + ", output"),
                            price == null ? 0 : price.cost(0, c.completionTokens()),
                            Double::sum);
                } else {
                    groups.merge(java.util.Arrays.asList(key, null), c.cost(price), Double::sum);
                }
            }
            ArrayNode results = Json.mapper().createArrayNode();
            groups.forEach((group, usd) -> {
                ObjectNode result = results.addObject();
                result.put("object", "organization.costs.result");
                result.putObject("amount").put("value", usd).put("currency", "usd");
                result.put("line_item", group.get(1));
                result.putNull("project_id");
                if (byKey) result.put("api_key_id", group.get(0));
            });
            return results;
        });
    }

    private interface Bucket {
        ArrayNode results(List<UsageRow> rows);
    }

    /** Answers one page of daily buckets, each with what {@code bucket} makes of that day's rows. */
    private void page(Context ctx, Query query, Bucket bucket) {
        List<UsageRow> rows;
        try {
            rows = ledger.rows(query.first(), query.last());
        } catch (LedgerUnavailableException e) {
            throw new ServerException(
                    503,
                    new ApiError(
                            "The usage ledger is unavailable; please retry shortly.",
                            ApiError.SERVER_ERROR,
                            null,
                            "usage_ledger_unavailable"));
        }
        ObjectNode page = Json.mapper().createObjectNode();
        page.put("object", "page");
        ArrayNode data = page.putArray("data");
        for (LocalDate day = query.first(); !day.isAfter(query.last()); day = day.plusDays(1)) {
            LocalDate bucketDay = day;
            ObjectNode b = data.addObject();
            b.put("object", "bucket");
            b.put("start_time", day.toEpochDay() * DAY);
            b.put("end_time", (day.toEpochDay() + 1) * DAY);
            b.set(
                    "results",
                    bucket.results(
                            rows.stream().filter(r -> r.day().equals(bucketDay)).toList()));
        }
        boolean more = query.last().isBefore(query.end());
        page.put("has_more", more);
        if (more) page.put("next_page", "day_" + query.last().plusDays(1).toEpochDay());
        else page.putNull("next_page");
        ctx.status(200).contentType("application/json").result(Json.write(page));
    }

    private Query query(Context ctx, int defaultLimit, int maxLimit, List<String> groupable) {
        String width = ctx.queryParam("bucket_width");
        if (width != null && !width.equals("1d")) {
            throw InvalidRequestException.of(
                    "bucket_width",
                    "invalid_value",
                    "Invalid 'bucket_width': Parley's usage ledger keeps whole days, so only '1d' is supported.");
        }
        String start = ctx.queryParam("start_time");
        if (start == null) {
            throw InvalidRequestException.of(
                    "start_time", "missing_required_parameter", "Missing required parameter: 'start_time'.");
        }
        long startTime = time("start_time", start);
        String end = ctx.queryParam("end_time");
        // Without an end, up to now; a start in the future then asks for its own (empty) day.
        long endTime = end == null
                ? Math.max(startTime + 1, Math.min(LATEST, clock.instant().getEpochSecond() + 1))
                : time("end_time", end);
        if (endTime <= startTime) {
            throw InvalidRequestException.of(
                    "end_time", "invalid_value", "Invalid 'end_time': it must be later than 'start_time'.");
        }
        int limit = defaultLimit;
        String asked = ctx.queryParam("limit");
        if (asked != null) {
            try {
                limit = Integer.parseInt(asked.strip());
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > maxLimit) {
                throw InvalidRequestException.of(
                        "limit",
                        "invalid_value",
                        "Invalid 'limit': expected an integer from 1 to %d.".formatted(maxLimit));
            }
        }
        Set<String> groups = list(ctx, "group_by");
        for (String group : groups) {
            if (!groupable.contains(group)) {
                throw InvalidRequestException.of(
                        "group_by",
                        "invalid_value",
                        "Invalid 'group_by': '%s' is not one of %s.".formatted(group, String.join(", ", groupable)));
            }
        }
        LocalDate first = LocalDate.ofEpochDay(startTime / DAY);
        LocalDate endDay = LocalDate.ofEpochDay((endTime - 1) / DAY);
        String page = ctx.queryParam("page");
        if (page != null) first = pageDay(page, first, endDay);
        LocalDate last = first.plusDays(limit - 1L);
        if (last.isAfter(endDay)) last = endDay;
        return new Query(first, last, endDay, groups);
    }

    /** A Unix time in seconds between 0 and {@link #LATEST}. */
    private static long time(String param, String value) {
        try {
            long seconds = Long.parseLong(value.strip());
            if (seconds >= 0 && seconds <= LATEST) return seconds;
        } catch (NumberFormatException e) {
            // said below
        }
        throw InvalidRequestException.of(
                param,
                "invalid_value",
                "Invalid '%s': expected a Unix time in seconds from 0 to %d, got '%s'."
                        .formatted(param, LATEST, value.length() > 40 ? value.substring(0, 40) + "…" : value));
    }

    /** The first day of the page a {@code next_page} cursor names; it must lie in the query's days. */
    private static LocalDate pageDay(String page, LocalDate first, LocalDate end) {
        try {
            if (page.startsWith("day_")) {
                LocalDate day = LocalDate.ofEpochDay(Long.parseLong(page.substring(4)));
                if (!day.isBefore(first) && !day.isAfter(end)) return day;
            }
        } catch (NumberFormatException | java.time.DateTimeException e) {
            // said below
        }
        throw InvalidRequestException.of(
                "page", "invalid_value", "Invalid 'page': use the 'next_page' of the previous page of this query.");
    }

    /** The values of a list parameter: repeated ({@code a=x&a=y}), with brackets ({@code a[]=x}) or comma-separated. */
    private static Set<String> list(Context ctx, String param) {
        Set<String> values = new LinkedHashSet<>();
        List<String> given = new ArrayList<>(ctx.queryParams(param));
        given.addAll(ctx.queryParams(param + "[]"));
        for (String value : given) {
            for (String part : value.split(",")) {
                if (!part.isBlank()) values.add(part.strip());
            }
        }
        return values;
    }

    /** Admin keys only; on a server without keys, callers on this machine. */
    private void requireAdmin(Context ctx) {
        Tenant tenant = authenticate.apply(ctx); // 401
        boolean allowed = keys.isOpen() ? loopback(ctx.req().getRemoteAddr()) : tenant.admin();
        if (!allowed) {
            throw new PermissionDeniedException(new ApiError(
                    "You have insufficient permissions for this operation. Missing scopes: api.usage.read. Check that"
                            + " you have the correct role in your organization, and if you're using a restricted API"
                            + " key, that it has the necessary scopes.",
                    ApiError.INVALID_REQUEST,
                    null,
                    null));
        }
    }

    private static boolean loopback(String address) {
        try {
            String literal = address.startsWith("[") ? address.substring(1, address.length() - 1) : address;
            return InetAddress.ofLiteral(literal).isLoopbackAddress();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
