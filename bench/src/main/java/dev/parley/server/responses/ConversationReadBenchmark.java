package dev.parley.server.responses;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.Json;
import dev.parley.testkit.RedisServer;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Reading the conversation a {@code previous_response_id} continues ({@link KeptResponses#conversation}), {@code
 * turns} responses long, from Redis, and the same turns as a conversation of the Conversations API ({@code
 * conversation}: its log, one entry a response, read with one {@code LRANGE} and folded): {@code batched} as responses are kept there now (each knows the last {@value
 * KeptResponses#BEFORE} ids before it: one read of the last response, then one {@code MGET} for each {@value
 * KeptResponses#BEFORE} before it), beside {@code walked}, the baseline (read back one response after another, as
 * under a data folder). In this package to write the baseline's responses straight to the store. Redis is {@code
 * -Dparley.redis=redis://host:port}, or a redis-server it starts on a loopback port.
 *
 * <p>Measured on the shared 2-core build machine (JDK 25, Redis 7.0 on loopback, {@code -f 1 -wi 2 -i 3 -w 1s -r
 * 1s}), microseconds a read, walked → batched: 10 turns 805 → 214, 50: 4,510 → 539, 200: 16,340 → 2,298. The same
 * under a data folder, where each response is a file read either way, went 1,451 → 2,003 at 200 turns (the ids cost
 * parsing and save nothing), so only a store that reads many at once keeps them. The same turns as a conversation,
 * in a later run beside them (walked 738 / 5,587 / 18,786, batched 223 / 667 / 3,049): 118 / 280 / 666.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ConversationReadBenchmark {
    @Param({"10", "50", "200"})
    public int turns;

    @Param({"walked", "batched", "conversation"})
    public String read;

    private RedisServer redis;
    private ResponseStore target;
    private KeptResponses kept;
    private KeptConversations conversations;
    private String last;

    @Setup
    public void setUp() {
        String given = System.getProperty("parley.redis");
        URI uri;
        if (given != null) {
            uri = URI.create(given);
        } else {
            redis = RedisServer.start();
            uri = redis.uri();
        }
        target = new RedisResponses(uri, Duration.ofHours(1));
        kept = new KeptResponses(target, Duration.ofHours(1), Clock.systemUTC());
        String run = HexFormat.of().toHexDigits(System.nanoTime());
        if (read.equals("conversation")) { // the same turns, each response's items added to one conversation
            conversations = new KeptConversations(new RedisConversations(uri));
            last = "conv_" + run;
            conversations.create(last, "bench", 0, Json.object(), Json.mapper().createArrayNode());
            for (int n = 0; n < turns; n++) {
                StoredResponse response = response("resp_" + run + n, null, n);
                ArrayNode items = response.input().deepCopy();
                response.response().path("output").forEach(items::add);
                conversations.add("bench", last, items);
            }
            return;
        }
        List<String> before = new ArrayList<>();
        String previous = null;
        for (int n = 0; n < turns; n++) {
            StoredResponse response = response("resp_" + run + n, previous, n);
            List<String> known = before.subList(Math.max(0, before.size() - KeptResponses.BEFORE), before.size());
            target.put(read.equals("batched") ? response.withBefore(known) : response);
            before.add(response.id());
            previous = response.id();
        }
        last = previous;
    }

    /** A turn of about a paragraph each way. */
    private static StoredResponse response(String id, String previous, int n) {
        ArrayNode input = Json.mapper().createArrayNode();
        input.addObject()
                .put("type", "message")
                .put("id", "msg_in" + n)
                .put("role", "user")
                .putArray("content")
                .addObject()
                .put("type", "input_text")
                .put("text", "Question " + n + ": " + "what happened next in the story? ".repeat(6));
        ObjectNode response = Json.mapper().createObjectNode().put("id", id).put("object", "response");
        response.putArray("output")
                .addObject()
                .put("type", "message")
                .put("id", "msg_out" + n)
                .put("role", "assistant")
                .putArray("content")
                .addObject()
                .put("type", "output_text")
                .put("text", "Answer " + n + ": " + "then the little dog ran across the park. ".repeat(8));
        return new StoredResponse(id, "bench", Clock.systemUTC().instant().getEpochSecond(), previous, input, response);
    }

    @Benchmark
    public ArrayNode conversation() {
        return conversations != null
                ? conversations.find("bench", last).orElseThrow().itemArray()
                : kept.conversation("bench", last);
    }

    @TearDown
    public void tearDown() {
        if (conversations != null) conversations.close();
        kept.close();
        if (redis != null) redis.close();
    }
}
