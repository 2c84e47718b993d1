package dev.parley.client;

import static dev.parley.client.Fixtures.OVERLOADED;
import static dev.parley.client.Fixtures.chunk;
import static dev.parley.client.Fixtures.client;
import static dev.parley.client.Fixtures.hello;
import static dev.parley.client.ScriptedServer.Reply.drop;
import static dev.parley.client.ScriptedServer.Reply.json;
import static dev.parley.client.ScriptedServer.Reply.sse;
import static dev.parley.client.ScriptedServer.Reply.sseHeldOpen;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Json;
import dev.parley.api.RateLimitException;
import dev.parley.api.ServerException;
import dev.parley.api.StreamOptions;
import dev.parley.api.TextCompletion;
import dev.parley.api.Usage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class StreamTest {
    static final String ROLE =
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                    + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n";
    static final String STOP =
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                    + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    static final String USAGE =
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                    + "\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":3,\"total_tokens\":11}}\n\n";
    static final String DONE = "data: [DONE]\n\n";

    final ScriptedServer server = ScriptedServer.start();
    final Waits waits = new Waits();

    @AfterEach
    void stop() {
        server.close();
    }

    static List<String> texts(ChatStream stream) {
        List<String> texts = new ArrayList<>();
        for (ChatCompletionChunk chunk : stream) texts.add(chunk.deltaText());
        return texts;
    }

    @Test
    void streamsChunksUntilDoneAndAsksForAStreamKeepingTheCallersStreamOptions() {
        server.enqueue(sse(ROLE + chunk("Hel") + chunk("lo") + STOP + USAGE + DONE, "x-request-id", "req_s"));
        var request =
                hello().toBuilder().streamOptions(StreamOptions.withUsage()).build();
        try (var client = client(server, waits);
                var stream = client.stream(request)) {
            assertThat(stream.info().requestId()).isEqualTo("req_s");
            assertThat(texts(stream)).containsExactly("", "Hel", "lo", "", "");
        }
        var body = Json.tree(server.lastRequest().body());
        assertThat(body.get("stream").asBoolean()).isTrue();
        assertThat(body.get("stream_options").get("include_usage").asBoolean()).isTrue();
        assertThat(server.lastRequest().header("accept")).isEqualTo("text/event-stream");
    }

    @Test
    void ignoresCommentsAndKeepAlivesAndReadsCrlfFrames() {
        String crlf = (": OPENROUTER PROCESSING\n\n" + ROLE + ":\n\n" + chunk("a") + STOP + DONE).replace("\n", "\r\n");
        server.enqueue(sse(crlf));
        try (var client = client(server, waits);
                var stream = client.stream(hello())) {
            assertThat(texts(stream)).containsExactly("", "a", "");
        }
    }

    @Test
    void readsNothingAfterDone() {
        server.enqueue(sse(chunk("a") + DONE + chunk("after")));
        try (var client = client(server, waits);
                var stream = client.stream(hello())) {
            assertThat(texts(stream)).containsExactly("a");
        }
    }

    @Test
    void accumulatesTheWholeAnswerWithTheServersUsage() {
        server.enqueue(sse(ROLE + chunk("Hel") + chunk("lo") + STOP + USAGE + DONE));
        try (var client = client(server, waits)) {
            var result = client.stream(hello()).accumulate();
            assertThat(result.completion().text()).isEqualTo("Hello");
            assertThat(result.completion().choices().getFirst().finishReason()).isEqualTo("stop");
            assertThat(result.completion().choices().getFirst().message().role())
                    .isEqualTo("assistant");
            assertThat(result.completion().usage()).isEqualTo(Usage.of(8, 3));
            assertThat(result.usageCountedLocally()).isFalse();
        }
    }

    @Test
    void countsUsageLocallyWhenTheStreamSentNoneAndSaysSo() {
        server.enqueue(sse(ROLE + chunk("Hello") + STOP + DONE));
        UsageCounter counter = (request, answer) ->
                Usage.of(request.messages().size(), answer.text().length());
        try (var client = client(server, waits, o -> o.usageCounter(counter))) {
            var result = client.stream(hello()).accumulate();
            assertThat(result.completion().usage()).isEqualTo(Usage.of(1, 5));
            assertThat(result.usageCountedLocally()).isTrue();
        }
    }

    @Test
    void countsTheSeedsKnockKnockAsTheApiBilledItByDefault() {
        // The seed's answer "Orange who?" was billed 39 prompt + 3 completion tokens by gpt-3.5-turbo-0301.
        server.enqueue(sse(ROLE + chunk("Orange") + chunk(" who?") + STOP + DONE));
        var knockKnock = ChatCompletionRequest.builder("gpt-3.5-turbo-0301")
                .messages(
                        ChatMessage.system("You are a helpful assistant."),
                        ChatMessage.user("Knock knock."),
                        ChatMessage.assistant("Who's there?"),
                        ChatMessage.user("Orange."))
                .temperature(0.0)
                .build();
        try (var client = client(server, waits)) {
            var result = client.stream(knockKnock).accumulate();
            assertThat(result.completion().text()).isEqualTo("Orange who?");
            assertThat(result.completion().usage()).isEqualTo(Usage.of(39, 3));
            assertThat(result.usageCountedLocally()).isTrue();
        }
    }

    @Test
    void leavesUsageNullWithoutCounterOrServerUsage() {
        server.enqueue(sse(ROLE + chunk("Hello") + STOP + DONE));
        try (var client = client(server, waits, o -> o.usageCounter(null))) {
            var result = client.stream(hello()).accumulate();
            assertThat(result.completion().usage()).isNull();
            assertThat(result.usageCountedLocally()).isFalse();
        }
    }

    @Test
    void anErrorEventMidStreamThrowsItsTypedException() {
        server.enqueue(sse(chunk("a") + "data: " + Fixtures.RATE_LIMITED + "\n\n" + DONE, "x-request-id", "req_mid"));
        try (var client = client(server, waits);
                var stream = client.stream(hello())) {
            var iterator = stream.iterator();
            assertThat(iterator.next().deltaText()).isEqualTo("a");
            assertThatThrownBy(iterator::hasNext).isInstanceOfSatisfying(RateLimitException.class, e -> {
                assertThat(e.getMessage()).isEqualTo("Rate limit reached for requests");
                assertThat(e.requestId()).contains("req_mid");
            });
            assertThat(iterator.hasNext()).isFalse();
        }
    }

    @Test
    void aServerErrorEventIsAServerException() {
        server.enqueue(sse("event: error\ndata: " + OVERLOADED + "\n\n"));
        try (var client = client(server, waits);
                var stream = client.stream(hello())) {
            assertThatThrownBy(() -> texts(stream))
                    .isInstanceOf(ServerException.class)
                    .hasMessage("The engine is currently overloaded");
        }
    }

    @Test
    void aStreamCutBeforeDoneThrowsInsteadOfEndingShort() {
        server.enqueue(sse(ROLE + chunk("Hel"), "x-request-id", "req_cut"), sse(chunk("never asked for") + DONE));
        try (var client = client(server, waits);
                var stream = client.stream(hello())) {
            var received = new ArrayList<String>();
            assertThatThrownBy(() -> stream.forEach(chunk -> received.add(chunk.deltaText())))
                    .isInstanceOf(IncompleteStreamException.class)
                    .hasMessageContaining("ended after 2 events without [DONE]")
                    .hasMessageEndingWith("(request req_cut)");
            assertThat(received).containsExactly("", "Hel");
        }
        assertThat(server.requests())
                .as("a stream is not retried once it began")
                .hasSize(1);
    }

    @Test
    void aStreamCutMidLineAlsoThrows() {
        server.enqueue(sse(chunk("a") + "data: {\"id\":\"chatcmpl-1\",\"obj"));
        try (var client = client(server, waits)) {
            assertThatThrownBy(() -> client.stream(hello()).accumulate()).isInstanceOf(IncompleteStreamException.class);
        }
    }

    @Test
    void retriesAStreamThatFailsBeforeItsFirstByte() {
        server.enqueue(json(503, OVERLOADED), drop(), sse(chunk("ok") + DONE));
        try (var client = client(server, waits);
                var stream = client.stream(hello())) {
            assertThat(texts(stream)).containsExactly("ok");
        }
        assertThat(server.requests()).hasSize(3);
        assertThat(waits.waits()).hasSize(2);
    }

    @Test
    void closingAStreamCancelsTheRequest() throws InterruptedException {
        server.enqueue(sseHeldOpen(ROLE + chunk("first")));
        try (var client = client(server, waits)) {
            var stream = client.stream(hello());
            var iterator = stream.iterator();
            iterator.next();
            assertThat(iterator.next().deltaText()).isEqualTo("first");
            stream.close();
            stream.close(); // twice is fine
            assertThat(iterator.hasNext()).isFalse();
            assertThat(server.awaitClientHangUp(Duration.ofSeconds(10))).isTrue();
        }
    }

    @Test
    void aStreamThatReceivesNothingForItsIdleTimeIsGivenUpAndItsRequestClosed() throws Exception {
        // The server sends a chunk, then nothing, with the connection open (a server that stopped): the reader
        // must not wait for ever.
        server.enqueue(sseHeldOpen(ROLE + chunk("first")));
        try (var client = client(server, waits, o -> o.streamIdleTimeout(Duration.ofMillis(300)));
                var stream = client.stream(hello())) {
            var iterator = stream.iterator();
            iterator.next();
            assertThat(iterator.next().deltaText()).isEqualTo("first");
            var ended = java.util.concurrent.CompletableFuture.supplyAsync(iterator::hasNext);
            assertThatThrownBy(() -> ended.get(30, java.util.concurrent.TimeUnit.SECONDS))
                    .hasCauseInstanceOf(IncompleteStreamException.class)
                    .cause()
                    .hasMessageStartingWith("the stream received nothing for 0.3 s after 2 events, before [DONE]");
            assertThat(server.awaitClientHangUp(Duration.ofSeconds(10))).isTrue();
        }
    }

    @Test
    void closingFromAnotherThreadEndsABlockedReaderQuietly() throws Exception {
        server.enqueue(sseHeldOpen(chunk("first")));
        try (var client = client(server, waits)) {
            var stream = client.stream(hello());
            var iterator = stream.iterator();
            assertThat(iterator.next().deltaText()).isEqualTo("first");
            var ended = new java.util.concurrent.CompletableFuture<Boolean>();
            var reader = Thread.ofVirtual().start(() -> {
                try {
                    ended.complete(!iterator.hasNext());
                } catch (RuntimeException e) {
                    ended.completeExceptionally(e);
                }
            });
            // No timed wait for the reader to block: closing before or during its read must both end it quietly.
            stream.close();
            assertThat(ended.get(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            reader.join();
        }
    }

    @Test
    void aStreamIsReadOnce() {
        server.enqueue(sse(DONE));
        try (var client = client(server, waits);
                var stream = client.stream(hello())) {
            stream.iterator();
            assertThatThrownBy(stream::iterator).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void streamsALegacyCompletion() {
        String event = "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\","
                + "\"choices\":[{\"text\":\"%s\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n";
        server.enqueue(sse(event.formatted("4,") + event.formatted(" 5") + DONE));
        var texts = new ArrayList<String>();
        try (var client = client(server, waits);
                var stream = client.streamCompletion(CompletionRequest.of("m", "1,2,3,"))) {
            for (TextCompletion piece : stream) texts.add(piece.text());
        }
        assertThat(texts).containsExactly("4,", " 5");
        assertThat(Json.tree(server.lastRequest().body()).get("stream").asBoolean())
                .isTrue();
        assertThat(server.lastRequest().path()).isEqualTo("/v1/completions");
    }

    @Test
    void aMalformedEventIsATransportFailure() {
        server.enqueue(sse("data: {not json}\n\n" + DONE));
        try (var client = client(server, waits);
                var stream = client.stream(hello())) {
            assertThatThrownBy(() -> texts(stream))
                    .isInstanceOf(TransportException.class)
                    .hasMessageContaining("{not json}");
        }
    }

    /** One Responses API event as a server sends it: named by its type. */
    private static String event(String type, String fields) {
        return "event: " + type + "\ndata: {\"type\":\"" + type + "\"" + fields + "}\n\n";
    }

    private static com.fasterxml.jackson.databind.node.ObjectNode story() {
        return Json.mapper().createObjectNode().put("model", "m").put("input", "Hi");
    }

    @Test
    void aResponsesStreamEndsAtItsLastEventAndAnErrorEventThrows() {
        String created = event("response.created", ",\"sequence_number\":0,\"response\":{\"status\":\"in_progress\"}");
        String delta = event("response.output_text.delta", ",\"sequence_number\":1,\"delta\":\"Hel\"");
        String completed = event(
                "response.completed", ",\"sequence_number\":2,\"response\":{\"status\":\"completed\",\"output\":[]}");
        // What comes after the last event is not read.
        server.enqueue(sse(created + delta + completed + "data: not json\n\n"));
        try (ParleyClient client = client(server, waits)) {
            List<String> types = new ArrayList<>();
            try (ResponsesStream stream = client.streamResponses(story())) {
                for (var value : stream) types.add(value.path("type").asText());
            }
            assertThat(types).containsExactly("response.created", "response.output_text.delta", "response.completed");
            assertThat(Json.tree(server.lastRequest().body()).path("stream").asBoolean())
                    .isTrue();

            server.enqueue(sse(created + completed));
            assertThat(client.streamResponses(story()).response().path("status").asText())
                    .isEqualTo("completed");

            // An error event, then response.failed: the error throws, as a chat stream's does.
            server.enqueue(sse(created
                    + event(
                            "error",
                            ",\"sequence_number\":1,\"code\":\"server_error\",\"message\":\"The engine failed.\""
                                    + ",\"param\":null")
                    + event("response.failed", ",\"sequence_number\":2,\"response\":{\"status\":\"failed\"}")));
            assertThatThrownBy(() -> client.streamResponses(story()).response())
                    .isInstanceOf(ServerException.class)
                    .hasMessageContaining("The engine failed.");

            // Cut before its last event: incomplete, saying what was missing.
            server.enqueue(sse(created + delta));
            assertThatThrownBy(() -> client.streamResponses(story()).response())
                    .isInstanceOf(IncompleteStreamException.class)
                    .hasMessageStartingWith("the stream ended after 2 events without response.completed");

            assertThatThrownBy(() -> client.streamResponses(
                            Json.mapper().createObjectNode().put("input", "Hi")))
                    .hasMessageContaining("'model'");
        }
    }
}
