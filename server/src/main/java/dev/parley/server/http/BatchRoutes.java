package dev.parley.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.NotFoundException;
import dev.parley.server.auth.Tenant;
import dev.parley.server.batches.Batches;
import dev.parley.server.batches.FileStore;
import io.javalin.http.Context;
import jakarta.servlet.http.Part;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * OpenAI's Files and Batch routes: {@code /v1/files} (upload, list, retrieve, content, delete) and {@code
 * /v1/batches} (create, list, retrieve, cancel). Every file and batch belongs to the key that created it.
 */
final class BatchRoutes {
    private final FileStore files;
    private final Batches batches;
    private final Function<Context, Tenant> authenticate;
    private final Clock clock;
    private final long maxFileBytes;

    BatchRoutes(
            FileStore files, Batches batches, Function<Context, Tenant> authenticate, Clock clock, long maxFileBytes) {
        this.files = files;
        this.batches = batches;
        this.authenticate = authenticate;
        this.clock = clock;
        this.maxFileBytes = maxFileBytes;
    }

    void upload(Context ctx) throws IOException {
        Tenant tenant = authenticate.apply(ctx);
        if (!ctx.isMultipartFormData()) {
            throw InvalidRequestException.of(
                    null, null, "Uploads are multipart/form-data with the parts 'file' and 'purpose'.");
        }
        String purpose;
        Part upload;
        try { // the first look at a part reads them all, each limited to maxFileBytes
            purpose = ctx.formParam("purpose");
            // The part itself: a client that sends no file name makes it a plain form field for Javalin.
            upload = ctx.req().getPart("file");
        } catch (Exception e) { // ServletException, also where Kotlin code throws it undeclared
            throw unreadable(e);
        }
        if (purpose == null) {
            throw InvalidRequestException.of(
                    "purpose", "missing_required_parameter", "Missing required parameter: 'purpose'.");
        }
        if (!FileStore.PURPOSES.contains(purpose)) {
            throw InvalidRequestException.of(
                    "purpose",
                    "invalid_value",
                    "Invalid value for 'purpose': '%s'. Supported values are: %s."
                            .formatted(purpose, String.join(", ", FileStore.PURPOSES)));
        }
        if (upload == null) {
            throw InvalidRequestException.of(
                    "file", "missing_required_parameter", "Missing required parameter: 'file'.");
        }
        String name = upload.getSubmittedFileName();
        try (InputStream content = upload.getInputStream()) {
            var file = files.create(
                    tenant.name(),
                    name == null || name.isBlank() ? "upload.jsonl" : name,
                    purpose,
                    content,
                    clock.instant().getEpochSecond());
            json(ctx, file.toJson());
        }
    }

    /**
     * What a multipart body that could not be read is answered with: 413 for a part over the limit (Jetty's parser
     * says so only in its message), 400 for the rest.
     */
    private ApiException unreadable(Exception e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            String message = cause.getMessage();
            if (cause instanceof IllegalStateException
                    && message != null
                    && message.startsWith("max ")
                    && message.contains(" size exceeded")) {
                return new ApiException(
                        413,
                        new ApiError(
                                "The file is larger than %s, the most an upload may be.".formatted(size(maxFileBytes)),
                                ApiError.INVALID_REQUEST,
                                "file",
                                null));
            }
        }
        return InvalidRequestException.of(null, null, "We could not read the upload as multipart/form-data.");
    }

    private static String size(long bytes) {
        return bytes % (1 << 20) == 0 ? (bytes >> 20) + " MB" : bytes + " bytes";
    }

    /** OpenAI's paging: {@code limit} (to 10,000, all by default), {@code order} by creation, {@code after} an id. */
    void listFiles(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        int limit = Paging.limit(ctx, 10_000, 10_000);
        boolean ascending = Paging.ascending(ctx);
        List<FileStore.StoredFile> mine = new ArrayList<>(files.list(tenant.name(), ctx.queryParam("purpose")));
        if (ascending) Collections.reverse(mine);
        String after = ctx.queryParam("after");
        int from = 0;
        if (after != null) {
            from = -1;
            for (int i = 0; i < mine.size() && from < 0; i++)
                if (mine.get(i).id().equals(after)) from = i + 1;
            if (from < 0) throw noSuchFile(after);
        }
        ArrayNode data = Json.mapper().createArrayNode();
        mine.subList(from, Math.min(mine.size(), from + limit)).forEach(f -> data.add(f.toJson()));
        json(ctx, Paging.list(data, from + limit < mine.size()));
    }

    void file(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        json(ctx, file(tenant, ctx.pathParam("id")).toJson());
    }

    /** The content, streamed from its file: a results file can be far larger than what a request should hold. */
    void fileContent(Context ctx) throws IOException {
        Tenant tenant = authenticate.apply(ctx);
        var file = file(tenant, ctx.pathParam("id"));
        InputStream content;
        try {
            content = Files.newInputStream(files.content(file));
        } catch (NoSuchFileException e) { // deleted since it was found
            throw noSuchFile(file.id());
        }
        ctx.status(200).contentType("application/octet-stream");
        ctx.result(content);
    }

    void deleteFile(Context ctx) throws IOException {
        Tenant tenant = authenticate.apply(ctx);
        String id = ctx.pathParam("id");
        if (!files.delete(tenant.name(), id)) throw noSuchFile(id);
        ObjectNode body = Json.object();
        body.put("id", id).put("object", "file").put("deleted", true);
        json(ctx, body);
    }

    void createBatch(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        JsonNode body = body(ctx);
        json(
                ctx,
                batches.create(
                        tenant.name(),
                        text(body, "input_file_id"),
                        text(body, "endpoint"),
                        text(body, "completion_window"),
                        body.get("metadata")));
    }

    void listBatches(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        int limit = Paging.limit(ctx, 20, 100);
        List<ObjectNode> page = batches.list(tenant.name(), ctx.queryParam("after"), limit + 1);
        ArrayNode data = Json.mapper().createArrayNode();
        page.stream().limit(limit).forEach(data::add);
        json(ctx, Paging.list(data, page.size() > limit));
    }

    void batch(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        String id = ctx.pathParam("id");
        json(ctx, batches.get(tenant.name(), id).orElseThrow(() -> Batches.notFound(id)));
    }

    void cancelBatch(Context ctx) {
        Tenant tenant = authenticate.apply(ctx);
        json(ctx, batches.cancel(tenant.name(), ctx.pathParam("id")));
    }

    private FileStore.StoredFile file(Tenant tenant, String id) {
        return files.find(tenant.name(), id).orElseThrow(() -> noSuchFile(id));
    }

    private static NotFoundException noSuchFile(String id) {
        return new NotFoundException(new ApiError("No such File object: " + id, ApiError.INVALID_REQUEST, "id", null));
    }

    private static JsonNode body(Context ctx) {
        JsonNode body;
        try {
            body = Json.tree(ctx.body());
        } catch (RuntimeException e) {
            throw InvalidRequestException.of(null, null, "We could not parse the JSON body of your request.");
        }
        if (body == null || !body.isObject()) {
            throw InvalidRequestException.of(null, null, "The body of your request must be a JSON object.");
        }
        return body;
    }

    private static String text(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) return null;
        if (!value.isTextual()) {
            throw InvalidRequestException.of(
                    field,
                    "invalid_type",
                    "Invalid type for '%s': expected a string, but got %s instead.".formatted(field, Json.kind(value)));
        }
        return value.asText();
    }

    private static void json(Context ctx, Object body) {
        ctx.status(200).contentType("application/json").result(Json.write(body));
    }
}
