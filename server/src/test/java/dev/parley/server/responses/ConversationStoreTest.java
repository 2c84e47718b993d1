package dev.parley.server.responses;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.Json;
import dev.parley.testkit.RedisServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stores behind conversations, in memory, a real folder and a real Redis, and the conversation read from them. */
class ConversationStoreTest {
    private static final String ID = "conv_" + "ab".repeat(24);

    private static ArrayNode items(String... texts) {
        ArrayNode items = Json.mapper().createArrayNode();
        for (String text : texts)
            items.addObject()
                    .put("type", "message")
                    .put("id", "msg_" + text)
                    .put("role", "user")
                    .put("content", text);
        return items;
    }

    private static List<String> texts(Conversation conversation) {
        return conversation.items().stream()
                .map(item -> item.path("content").asText())
                .toList();
    }

    /** Every change of a conversation, through {@code conversations}, read back as it stands. */
    static void changesAndReads(KeptConversations conversations) {
        ObjectNode metadata = Json.object().put("topic", "a lone \ud800 surrogate and \u00e9");
        conversations.create(ID, "team", 1_700_000_000L, metadata, items("one", "two"));
        Conversation read = conversations.find("team", ID).orElseThrow();
        assertThat(read.createdAt()).isEqualTo(1_700_000_000L);
        assertThat(read.metadata()).isEqualTo(metadata);
        assertThat(texts(read)).containsExactly("one", "two");
        assertThat(conversations.find("other", ID)).isEmpty();
        assertThat(conversations.find("team", "conv_none")).isEmpty();
        assertThat(conversations.find("team", "../" + ID)).isEmpty();

        assertThat(conversations.add("team", ID, items("three"))).isTrue();
        assertThat(conversations.add("other", ID, items("four"))).isFalse();
        assertThat(conversations.removeItem("team", ID, "msg_one")).isPresent();
        assertThat(conversations.removeItem("team", ID, "msg_one")).isEmpty();
        assertThat(conversations
                        .setMetadata("team", ID, Json.object().put("k", "v"))
                        .orElseThrow()
                        .metadata()
                        .path("k")
                        .asText())
                .isEqualTo("v");
        assertThat(texts(conversations.find("team", ID).orElseThrow())).containsExactly("two", "three");

        assertThat(conversations.delete("other", ID)).isFalse();
        assertThat(conversations.delete("team", ID)).isTrue();
        assertThat(conversations.find("team", ID)).isEmpty();
        assertThat(conversations.add("team", ID, items("late"))).isFalse();
        assertThat(conversations.delete("team", ID)).isFalse();
    }

    @Test
    void inMemory() {
        changesAndReads(new KeptConversations(new MemoryConversations(1 << 20)));
    }

    @Test
    void memoryForgetsTheOldestConversationsBeyondItsBytes() {
        var store = new MemoryConversations(1_000);
        for (int n = 0; n < 10; n++) store.create("conv_" + n, List.of("x".repeat(200)));
        assertThat(store.read("conv_0")).isEmpty();
        assertThat(store.read("conv_9")).isPresent();
        assertThat(store.append("conv_9", List.of("y".repeat(600)))).isTrue();
        assertThat(store.read("conv_7")).isEmpty(); // the growth of one pushed out others, oldest first
        assertThat(store.read("conv_8")).isPresent();
        assertThat(store.read("conv_9").orElseThrow()).hasSize(2);
    }

    @Test
    void underAFolder(@TempDir Path dir) {
        changesAndReads(new KeptConversations(new FolderConversations(dir)));
    }

    @Test
    void inRedisAnAppendAfterADeleteDoesNotBringTheConversationBack() {
        try (var redis = RedisServer.start();
                var conversations = new KeptConversations(new RedisConversations(redis.uri()))) {
            changesAndReads(conversations);
            var store = new RedisConversations(redis.uri());
            assertThat(store.append(ID, List.of("{}"))).isFalse();
            assertThat(store.read(ID)).isEmpty();
            store.close();
        }
    }

    @Test
    void aLineCutShortByACrashIsSkippedAndTheNextAppendStartsALineOfItsOwn(@TempDir Path dir) throws Exception {
        var conversations = new KeptConversations(new FolderConversations(dir));
        conversations.create(ID, "team", 0, Json.object(), items("one"));
        Path file = dir.resolve("conversations").resolve(ID + ".jsonl");
        Files.writeString(
                file, "{\"op\":\"added\",\"items\":[{\"ty", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        // While it is the last line, a reader takes it for an append still being written.
        assertThat(texts(conversations.find("team", ID).orElseThrow())).containsExactly("one");
        assertThat(conversations.add("team", ID, items("two"))).isTrue();
        assertThat(texts(conversations.find("team", ID).orElseThrow())).containsExactly("one", "two");
    }

    @Test
    void twoStoresSharingAFolderAppendAtOnceWithoutLosingAnEntry(@TempDir Path dir) throws Exception {
        var one = new FolderConversations(dir);
        var two = new FolderConversations(dir);
        one.create(ID, List.of("{\"op\":\"created\",\"owner\":\"team\"}"));
        List<Future<Boolean>> appends = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(4)) {
            for (int n = 0; n < 400; n++) {
                var store = n % 2 == 0 ? one : two;
                String entry =
                        Json.write(Json.object().put("op", "added").put("n", n).put("pad", "x".repeat(n * 37)));
                appends.add(pool.submit(() -> store.append(ID, List.of(entry))));
            }
            for (Future<Boolean> append : appends) assertThat(append.get()).isTrue();
        }
        List<String> entries = two.read(ID).orElseThrow();
        assertThat(entries).hasSize(401);
        assertThat(entries.stream().skip(1).map(e -> Json.tree(e).path("n").asInt()))
                .containsExactlyInAnyOrderElementsOf(
                        java.util.stream.IntStream.range(0, 400).boxed().toList());
    }
}
