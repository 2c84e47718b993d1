package dev.parley.server.responses;

import io.lettuce.core.ScriptOutputType;
import java.net.URI;
import java.util.List;
import java.util.Optional;

/**
 * Conversations in Redis, shared by every replica using it: each the list {@code parley:conversation:<id>}, an
 * append one {@code RPUSH} that a script runs only while the list exists, so that nothing added after a delete
 * brings the conversation back. Conversations do not expire (as at OpenAI): they last until deleted.
 */
final class RedisConversations implements ConversationStore {
    private static final String APPEND =
            "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('RPUSH', KEYS[1], unpack(ARGV)) end return 0";

    private final RedisConnection redis;

    RedisConversations(URI uri) {
        this.redis = new RedisConnection(uri);
    }

    private static String key(String id) {
        return "parley:conversation:" + id;
    }

    @Override
    public void create(String id, List<String> entries) {
        redis.call(r -> r.rpush(key(id), entries.toArray(String[]::new)));
    }

    @Override
    public boolean append(String id, List<String> entries) {
        Long length = redis.call(r ->
                r.<Long>eval(APPEND, ScriptOutputType.INTEGER, new String[] {key(id)}, entries.toArray(String[]::new)));
        return length != null && length > 0;
    }

    @Override
    public Optional<List<String>> read(String id) {
        List<String> entries = redis.call(r -> r.lrange(key(id), 0, -1));
        return entries.isEmpty() ? Optional.empty() : Optional.of(entries);
    }

    @Override
    public Optional<String> first(String id) {
        return Optional.ofNullable(redis.call(r -> r.lindex(key(id), 0)));
    }

    @Override
    public boolean delete(String id) {
        return redis.call(r -> r.del(key(id))) > 0;
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
