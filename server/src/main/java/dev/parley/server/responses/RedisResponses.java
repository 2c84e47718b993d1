package dev.parley.server.responses;

import dev.parley.api.Json;
import io.lettuce.core.KeyValue;
import io.lettuce.core.SetArgs;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Responses in Redis, shared by every replica using it: each the string {@code parley:response:<id>}, set to expire
 * when the response does, so Redis forgets them itself.
 */
final class RedisResponses implements ResponseStore {
    private final Duration keep;
    private final RedisConnection redis;

    RedisResponses(URI uri, Duration keep) {
        this.keep = keep;
        this.redis = new RedisConnection(uri);
    }

    private static String key(String id) {
        return "parley:response:" + id;
    }

    @Override
    public void put(StoredResponse response) {
        // as UTF-8 JSON with a lone surrogate escaped, which Redis's UTF-8 would turn into "?"
        String json = new String(Json.bytes(response.toJson()), StandardCharsets.UTF_8);
        redis.call(r -> r.set(key(response.id()), json, SetArgs.Builder.ex(Math.max(1, keep.toSeconds()))));
    }

    @Override
    public Optional<StoredResponse> get(String id) {
        String json = redis.call(r -> r.get(key(id)));
        return json == null ? Optional.empty() : Optional.of(StoredResponse.fromJson(Json.tree(json)));
    }

    @Override
    public boolean batches() {
        return true;
    }

    /** One {@code MGET} for them all. */
    @Override
    public List<Optional<StoredResponse>> getAll(List<String> ids) {
        if (ids.isEmpty()) return List.of();
        List<Optional<StoredResponse>> found = new ArrayList<>();
        for (KeyValue<String, String> value :
                redis.call(r -> r.mget(ids.stream().map(RedisResponses::key).toArray(String[]::new))))
            found.add(
                    value.hasValue()
                            ? Optional.of(StoredResponse.fromJson(Json.tree(value.getValue())))
                            : Optional.empty());
        return found;
    }

    @Override
    public boolean delete(String id) {
        return redis.call(r -> r.del(key(id))) > 0;
    }

    @Override
    public void requestCancel(String id) {
        redis.call(r -> r.set("parley:response-cancel:" + id, "1", SetArgs.Builder.ex(Math.max(1, keep.toSeconds()))));
    }

    @Override
    public boolean cancelRequested(String id) {
        return redis.call(r -> r.exists("parley:response-cancel:" + id)) > 0;
    }

    @Override
    public void beat(String id) {
        redis.call(r -> r.set("parley:response-alive:" + id, "1", SetArgs.Builder.px(ALIVE_FOR.toMillis())));
    }

    @Override
    public boolean alive(String id) {
        return redis.call(r -> r.exists("parley:response-alive:" + id)) > 0;
    }

    @Override
    public String where() {
        return redis.where();
    }

    @Override
    public void close() {
        redis.close();
    }
}
