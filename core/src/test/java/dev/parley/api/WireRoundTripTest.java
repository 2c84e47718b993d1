package dev.parley.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The seed's JSON examples read into records and write back with the same names and values. */
class WireRoundTripTest {

    static String fixture(String name) {
        try (InputStream in = WireRoundTripTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            throw new AssertionError("missing fixture " + name, e);
        }
    }

    static void assertRoundTrips(String json, Class<?> type) {
        Object value = Json.read(json, type);
        JsonNode written = Json.tree(Json.write(value));
        JsonNode original = Json.tree(json);
        // Numbers compare by value: a request's 0 comes back as 0.0 from a Double, the same number.
        assertThat(written.equals(WireRoundTripTest::sameValue, original))
                .as("%s%n  wrote back%n%s", original, written)
                .isTrue();
    }

    private static int sameValue(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) return a.decimalValue().compareTo(b.decimalValue());
        return a.equals(b) ? 0 : 1;
    }

    @ParameterizedTest
    @CsvSource({
        "chat-completion.json, dev.parley.api.ChatCompletion",
        "chat-completion-count.json, dev.parley.api.ChatCompletion",
        "text-completion.json, dev.parley.api.TextCompletion",
        "chat-request-jargon.json, dev.parley.api.ChatCompletionRequest",
        "chat-request-full.json, dev.parley.api.ChatCompletionRequest",
        "completion-request.json, dev.parley.api.CompletionRequest",
    })
    void writesBackExactlyTheFieldsAndValuesItRead(String fixture, Class<?> type) {
        assertRoundTrips(fixture(fixture), type);
    }

    @Test
    void everyStreamChunkOfTheSeedRoundTripsIncludingNullFinishReasons() {
        List<String> lines = fixture("chat-chunks.jsonl").lines().toList();
        assertThat(lines).hasSize(4);
        lines.forEach(line -> assertRoundTrips(line, ChatCompletionChunk.class));
        String written = Json.write(Json.read(lines.getFirst(), ChatCompletionChunk.class));
        assertThat(written).contains("\"finish_reason\":null").doesNotContain("usage");
    }

    @Test
    void readsTheSeedCompletionIntoTypedFields() {
        ChatCompletion completion = Json.read(fixture("chat-completion.json"), ChatCompletion.class);
        assertThat(completion.text()).isEqualTo("Orange who?");
        assertThat(completion.choices().getFirst().finishReason()).isEqualTo("stop");
        assertThat(completion.usage()).isEqualTo(Usage.of(39, 3));
        assertThat(completion.created()).isEqualTo(1687671002L);
    }

    @Test
    void readsTheSeedStreamIntoTheDeltaTextsTheNotebookJoins() {
        String joined = fixture("chat-chunks.jsonl")
                .lines()
                .map(line -> Json.read(line, ChatCompletionChunk.class).deltaText())
                .reduce("", String::concat);
        assertThat(joined).isEqualTo("\n\n2");
    }

    @Test
    void omitsAbsentOptionalFieldsButWritesLegacyNulls() {
        var completion = TextCompletion.of("cmpl-1", 1, "m", List.of(TextCompletion.Choice.of("x", 0, null)), null);
        assertThat(Json.write(completion))
                .isEqualTo("{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\","
                        + "\"choices\":[{\"text\":\"x\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}");
        assertThat(Json.write(ChatMessage.user("hi"))).isEqualTo("{\"role\":\"user\",\"content\":\"hi\"}");
    }

    @Test
    void toleratesFieldsItDoesNotKnow() {
        var message = Json.read(
                "{\"role\":\"user\",\"content\":\"hi\",\"audio\":{\"id\":\"x\"},\"future\":1}", ChatMessage.class);
        assertThat(message).isEqualTo(ChatMessage.user("hi"));
    }

    @Test
    void readsStopAsAStringOrAnArray() {
        var single = Json.read("{\"model\":\"m\",\"messages\":[],\"stop\":\"END\"}", ChatCompletionRequest.class);
        var many = Json.read("{\"model\":\"m\",\"messages\":[],\"stop\":[\"a\",\"b\"]}", ChatCompletionRequest.class);
        assertThat(single.stop()).containsExactly("END");
        assertThat(many.stop()).containsExactly("a", "b");
    }

    @Test
    void readsEveryShapeOfALegacyPrompt() {
        assertThat(prompt("\"hi\"")).isEqualTo(Prompt.of("hi"));
        assertThat(prompt("[\"a\",\"b\"]")).isEqualTo(Prompt.of(List.of("a", "b")));
        assertThat(prompt("[1,2,3]")).isEqualTo(new Prompt.Tokens(List.of(List.of(1, 2, 3))));
        assertThat(prompt("[[1],[2,3]]")).isEqualTo(new Prompt.Tokens(List.of(List.of(1), List.of(2, 3))));
        assertThat(Json.write(Prompt.of("hi"))).isEqualTo("\"hi\"");
        assertThat(Json.write(new Prompt.Tokens(List.of(List.of(1, 2))))).isEqualTo("[1,2]");
    }

    private static Prompt prompt(String json) {
        return Json.read("{\"model\":\"m\",\"prompt\":" + json + "}", CompletionRequest.class)
                .prompt();
    }

    @Test
    void readsContentAsAStringOrParts() {
        var parts = Json.read(
                "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                        + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"u\"}},{\"type\":\"text\",\"text\":\"b\"}]}",
                ChatMessage.class);
        assertThat(parts.content()).isInstanceOf(Content.Parts.class);
        assertThat(parts.text()).isEqualTo("ab");
        assertThat(Json.write(parts)).contains("\"image_url\":{\"url\":\"u\"}");
    }

    @Test
    void writesToolChoiceInBothShapes() {
        assertThat(Json.write(ToolChoice.AUTO)).isEqualTo("\"auto\"");
        assertThat(Json.write(ToolChoice.function("f")))
                .isEqualTo("{\"type\":\"function\",\"function\":{\"name\":\"f\"}}");
    }

    @Test
    void writesErrorsWithNullParamAndCode() {
        assertThat(Json.write(new ApiError("boom", "server_error", null, null).body()))
                .isEqualTo("{\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
    }

    @Test
    void mapsStatusesToTheExceptionsCallersActOn() {
        var rate = new ApiError("slow down", "requests", null, "rate_limit_exceeded");
        var quota = new ApiError("pay up", "insufficient_quota", null, "insufficient_quota");
        assertThat(ApiException.of(429, rate)).isInstanceOf(RateLimitException.class);
        assertThat(ApiException.of(429, quota)).isInstanceOf(QuotaExceededException.class);
        assertThat(ApiException.of(400, rate)).isInstanceOf(InvalidRequestException.class);
        assertThat(ApiException.of(401, rate)).isInstanceOf(AuthenticationException.class);
        assertThat(ApiException.of(404, rate)).isInstanceOf(NotFoundException.class);
        assertThat(ApiException.of(503, rate))
                .isInstanceOf(ServerException.class)
                .extracting(ApiException::status)
                .isEqualTo(503);
        assertThat(ApiException.of(409, rate).getClass()).isEqualTo(ApiException.class);
    }

    @Test
    void usageFactoriesKeepTheTotalRight() {
        assertThat(Usage.of(39, 3).totalTokens()).isEqualTo(42);
        assertThat(Usage.of(1, 2).plus(Usage.of(10, 20))).isEqualTo(Usage.of(11, 22));
    }
}
