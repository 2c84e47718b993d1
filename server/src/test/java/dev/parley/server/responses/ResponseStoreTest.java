package dev.parley.server.responses;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.testkit.RedisServer;
import io.lettuce.core.RedisClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stores behind kept responses, in memory, a real folder and a real Redis, and the chain walked through them. */
class ResponseStoreTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-01T00:00:00Z"), ZoneOffset.UTC);

    static String id(int n) {
        return "resp_" + HexFormat.of().toHexDigits((long) n).repeat(3);
    }

    static StoredResponse response(int n, String previousId, String text) {
        ArrayNode input = Json.mapper().createArrayNode();
        input.addObject()
                .put("type", "message")
                .put("id", "msg_in" + n)
                .put("role", "user")
                .put("content", text);
        ObjectNode response = Json.mapper().createObjectNode().put("id", id(n)).put("object", "response");
        response.putArray("output")
                .addObject()
                .put("type", "message")
                .put("id", "msg_out" + n)
                .put("role", "assistant")
                .put("content", "answer " + n);
        return new StoredResponse(id(n), "team", CLOCK.instant().getEpochSecond(), previousId, input, response);
    }

    static void keepsReadsAndForgets(ResponseStore store) {
        StoredResponse first = response(1, null, "a lone \ud800 surrogate and \u00e9");
        store.put(first);
        assertThat(store.get(id(1))).contains(first);
        assertThat(store.get(id(2))).isEmpty();
        assertThat(store.delete(id(1))).isTrue();
        assertThat(store.delete(id(1))).isFalse();
        assertThat(store.get(id(1))).isEmpty();

        StoredResponse second = response(2, id(7), "second").withBefore(List.of(id(8), id(7)));
        StoredResponse third = response(3, null, "third").withBefore(List.of());
        store.put(second);
        store.put(third);
        assertThat(store.getAll(List.of(id(3), id(1), id(2))))
                .containsExactly(Optional.of(third), Optional.empty(), Optional.of(second));
        store.delete(id(2));
        store.delete(id(3));
    }

    @Test
    void memoryKeepsTheNewestWithinItsBytes() {
        ResponseStore store = new MemoryResponses(1_000);
        keepsReadsAndForgets(store);
        for (int n = 1; n <= 10; n++) store.put(response(n, null, "x".repeat(100)));
        long kept = java.util.stream.IntStream.rangeClosed(1, 10)
                .filter(n -> store.get(id(n)).isPresent())
                .count();
        assertThat(kept).isBetween(1L, 4L);
        assertThat(store.get(id(10))).isPresent();
        assertThat(store.get(id(1))).isEmpty();
        store.put(response(11, null, "x".repeat(2_000))); // larger than the whole room: not kept, nothing evicted
        assertThat(store.get(id(11))).isEmpty();
        assertThat(store.get(id(10))).isPresent();
    }

    @Test
    void aFolderKeepsEachWholeAndSweepsWhatExpired(@TempDir Path dir) throws Exception {
        var store = new FolderResponses(dir, Duration.ofDays(30), CLOCK);
        keepsReadsAndForgets(store);
        store.put(response(1, null, "old"));
        store.put(response(2, null, "new"));
        Path old = dir.resolve("responses").resolve(id(1) + ".json");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofDays(31))));
        try (Listing files = Listing.of(dir)) {
            assertThat(files.names()).containsExactlyInAnyOrder(id(1) + ".json", id(2) + ".json");
        }
        var reopened = new FolderResponses(dir, Duration.ofDays(30), CLOCK); // sweeps as it opens
        assertThat(reopened.get(id(1))).isEmpty();
        assertThat(reopened.get(id(2))).contains(response(2, null, "new"));
        try (Listing files = Listing.of(dir)) {
            assertThat(files.names()).containsExactly(id(2) + ".json"); // no temporary file left either
        }
    }

    /** The names of the files in a data folder's responses folder. */
    private record Listing(java.util.stream.Stream<Path> files) implements AutoCloseable {
        static Listing of(Path dataDir) throws java.io.IOException {
            return new Listing(Files.list(dataDir.resolve("responses")));
        }

        List<String> names() {
            return files.map(f -> f.getFileName().toString()).toList();
        }

        @Override
        public void close() {
            files.close();
        }
    }

    @Test
    void redisKeepsEachUntilItExpires() {
        try (var redis = RedisServer.start();
                var store = new RedisResponses(redis.uri(), Duration.ofDays(30));
                var client = RedisClient.create(redis.uri().toString());
                var connection = client.connect()) {
            keepsReadsAndForgets(store);
            store.put(response(1, null, "kept"));
            long ttl = connection.sync().ttl("parley:response:" + id(1));
            assertThat(ttl)
                    .isBetween(
                            Duration.ofDays(30).toSeconds() - 60,
                            Duration.ofDays(30).toSeconds());
            redis.stop();
            assertThatThrownBy(() -> store.get(id(1))).isInstanceOf(ResponseStoreUnavailableException.class);
            assertThatThrownBy(() -> store.put(response(2, null, "lost")))
                    .isInstanceOf(ResponseStoreUnavailableException.class);
        }
    }

    @Test
    void aConversationIsWalkedFromItsFirstResponseForItsOwnerWithinItsTime() {
        conversations(new MemoryResponses(1 << 20));
    }

    @Test
    void aConversationInRedisIsReadManyResponsesAtATime() {
        try (var redis = RedisServer.start();
                var store = new RedisResponses(redis.uri(), Duration.ofDays(30))) {
            conversations(store);
        }
    }

    /**
     * Conversations kept in {@code store}, read back for their owner within their time; where the store reads many at
     * once, each response knows the ids before it.
     */
    static void conversations(ResponseStore store) {
        var clock = new java.util.concurrent.atomic.AtomicReference<>(CLOCK.instant());
        var kept = new KeptResponses(store, Duration.ofDays(30), new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return clock.get();
            }
        });
        kept.keep(response(1, null, "one"));
        kept.keep(response(2, id(1), "two"));
        kept.keep(response(3, id(2), "three"));
        // Where the store reads many at once, each knows the ids before it; elsewhere it is walked.
        if (store.batches()) assertThat(store.get(id(3)).orElseThrow().before()).containsExactly(id(1), id(2));
        else assertThat(store.get(id(3)).orElseThrow().before()).isNull();
        assertThat(kept.conversation("team", id(3)).findValuesAsText("id"))
                .containsExactly("msg_in1", "msg_out1", "msg_in2", "msg_out2", "msg_in3", "msg_out3");
        // Responses that do not know them are walked back one at a time, to the same conversation.
        store.put(response(4, null, "four"));
        store.put(response(5, id(4), "five"));
        assertThat(store.get(id(5)).orElseThrow().before()).isNull();
        assertThat(kept.conversation("team", id(5)).findValuesAsText("id"))
                .containsExactly("msg_in4", "msg_out4", "msg_in5", "msg_out5");
        kept.keep(response(6, id(5), "six")); // continuing one that does not know its own: walked too
        assertThat(store.get(id(6)).orElseThrow().before()).isNull();
        assertThat(kept.conversation("team", id(6)).findValuesAsText("id"))
                .containsExactly("msg_in4", "msg_out4", "msg_in5", "msg_out5", "msg_in6", "msg_out6");
        assertThat(kept.find("other", id(3))).isEmpty();
        assertThatThrownBy(() -> kept.conversation("other", id(3)))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessage("Previous response with id '%s' not found.".formatted(id(3)));
        assertThat(kept.find("team", "../" + id(3))).isEqualTo(Optional.empty());
        // An id no response is kept by (another server's, say) is not kept: it would name a file or key of its own.
        StoredResponse foreign = response(9, null, "foreign");
        assertThat(kept.keep(new StoredResponse(
                        "resp_../../keys", "team", foreign.createdAt(), null, foreign.input(), foreign.response())))
                .isFalse();
        assertThat(store.get("resp_../../keys")).isEmpty();

        kept.delete("team", id(1));
        assertThatThrownBy(() -> kept.conversation("team", id(3)))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("'%s' not found: it is an earlier response".formatted(id(1)));
        kept.delete("team", id(4));
        assertThatThrownBy(() -> kept.conversation("team", id(6)))
                .isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("'%s' not found: it is an earlier response".formatted(id(4)));

        // A long conversation: where the store reads many at once, each response keeps the last 64 ids and it is read
        // back 64 at a time; either way, all of it.
        String previous = null;
        for (int n = 100; n < 250; n++) {
            kept.keep(response(n, previous, "turn " + n));
            previous = id(n);
        }
        if (store.batches())
            assertThat(store.get(id(249)).orElseThrow().before())
                    .hasSize(KeptResponses.BEFORE)
                    .startsWith(id(249 - KeptResponses.BEFORE))
                    .endsWith(id(248));
        List<String> ids = kept.conversation("team", id(249)).findValuesAsText("id");
        assertThat(ids).hasSize(300).startsWith("msg_in100", "msg_out100").endsWith("msg_in249", "msg_out249");

        clock.set(CLOCK.instant().plus(Duration.ofDays(30)).minusSeconds(1));
        assertThat(kept.find("team", id(3))).isPresent();
        clock.set(CLOCK.instant().plus(Duration.ofDays(30)));
        assertThat(kept.find("team", id(3))).isEmpty();
    }
}
