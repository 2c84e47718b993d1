package dev.parley.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatMessage;
import dev.parley.api.Content;
import dev.parley.api.ContentPart;
import dev.parley.api.ToolCall;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class TokenCounterTest {

    // The seed's num_tokens_from_messages and the OpenAI API agree on these (OpenAI cookbook).
    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
        "gpt-3.5-turbo-0301, 127",
        "gpt-3.5-turbo-0613, 129",
        "gpt-3.5-turbo-16k-0613, 129",
        "gpt-3.5-turbo, 129",
        "gpt-4, 129",
        "gpt-4-0314, 129",
        "gpt-4-0613, 129",
        "gpt-4o, 124",
        "gpt-4o-mini, 124",
        "gpt-4o-2024-08-06, 124",
        "gpt-4o-mini-2024-07-18, 124"
    })
    void countsTheCookbookExampleAsOpenAIDid(String model, int expected) {
        assertThat(TokenCounter.forModel(model).count(Fixtures.seedMessages())).isEqualTo(expected);
    }

    @Test
    void countsUnknownModelsLikeTheSeedsFallback() {
        assertThat(TokenCounter.forModel("some-new-model").count(Fixtures.seedMessages()))
                .isEqualTo(129);
        assertThat(TokenCounter.forEncoding("cl100k_base").count(Fixtures.seedMessages()))
                .isEqualTo(129);
    }

    static Stream<Arguments> openaiChatTokensCases() {
        JsonNode cases = Fixtures.json("openai-chat-tokens-cases.json").path("cases");
        return StreamSupport.stream(cases.spliterator(), false)
                .map(c -> Arguments.of(
                        c.path("tokens").asInt(),
                        new ChatPrompt(
                                Fixtures.messages(c.path("messages")),
                                List.of(),
                                Fixtures.functions(c.path("functions")))));
    }

    @ParameterizedTest(name = "{0} tokens: {1}")
    @MethodSource("openaiChatTokensCases")
    void countsPromptsWithFunctionsAsOpenAIReportedForGpt35Turbo(int expected, ChatPrompt prompt) {
        assertThat(TokenCounter.forModel("gpt-3.5-turbo").count(prompt)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({"gpt-3.5-turbo, 105", "gpt-4, 105", "gpt-4o, 101", "gpt-4o-mini, 101"})
    void countsTheCookbookToolExampleAsOpenAIReported(String model, int expected) {
        JsonNode request = Fixtures.json("cookbook-tools.json");
        ChatPrompt prompt = ChatPrompt.of(Fixtures.messages(request.path("messages")))
                .withTools(Fixtures.tools(request.path("tools")));
        assertThat(TokenCounter.forModel(model).count(prompt)).isEqualTo(expected);
    }

    @Test
    void countsToolsAndLegacyFunctionsOfTheSameDefinitionsAlike() {
        JsonNode request = Fixtures.json("cookbook-tools.json");
        var messages = Fixtures.messages(request.path("messages"));
        var tools = Fixtures.tools(request.path("tools"));
        var counter = TokenCounter.forModel("gpt-4o");
        assertThat(counter.count(ChatPrompt.of(messages)
                        .withFunctions(List.of(tools.getFirst().function()))))
                .isEqualTo(counter.count(ChatPrompt.of(messages).withTools(tools)));
    }

    @Test
    void countsAPromptWithoutDefinitionsAsItsMessages() {
        var counter = TokenCounter.forModel("gpt-4");
        assertThat(counter.count(ChatPrompt.of(Fixtures.seedMessages()))).isEqualTo(129);
        assertThat(counter.count(List.of())).isEqualTo(3); // only the reply priming
    }

    @Test
    void countsTextPartsLikeTheSameTextAsAString() {
        var counter = TokenCounter.forModel("gpt-4o");
        var asString = ChatMessage.user("Describe this picture, please.");
        var asParts = new ChatMessage(
                "user",
                Content.of(List.of(ContentPart.text("Describe this picture, "), ContentPart.text("please."))),
                null,
                null,
                null,
                null,
                null);
        assertThat(counter.count(List.of(asParts))).isEqualTo(counter.count(List.of(asString)));
    }

    @Test
    void addsEachImagePartByOpenAIsImageRule() {
        var counter = TokenCounter.forModel("gpt-4o");
        var text = ChatMessage.user("What is in these?");
        var withImages = new ChatMessage(
                "user",
                Content.of(List.of(
                        ContentPart.text("What is in these?"),
                        ContentPart.imageUrl("https://example.com/a.png", "low"),
                        ContentPart.imageUrl("https://example.com/b.png", null))),
                null,
                null,
                null,
                null,
                null);
        assertThat(counter.count(List.of(withImages)) - counter.count(List.of(text)))
                .isEqualTo(85 + 1445);
    }

    @Test
    void countsAFunctionCallAsItsNameAndArgumentsPlusThree() {
        var counter = TokenCounter.forModel("gpt-4o");
        String arguments = "{\"location\":\"Paris\"}";
        var call = new ChatMessage(
                "assistant",
                null,
                null,
                List.of(ToolCall.function("call_1", "get_current_weather", arguments)),
                null,
                null,
                null);
        int expected = 3
                + counter.count("assistant")
                + 3
                + counter.count("get_current_weather")
                + counter.count(arguments)
                + 3;
        assertThat(counter.count(List.of(call))).isEqualTo(expected);
        var answer = ChatMessage.tool("call_1", "22 degrees");
        assertThat(counter.count(List.of(answer)))
                .isEqualTo(3 + counter.count("tool") + counter.count("22 degrees") + counter.count("call_1") + 3);
    }

    @Test
    void countsTheNameInsteadOfTheRoleUnderGpt35Turbo0301() {
        var plain = List.of(ChatMessage.system("hi"));
        var named = List.of(ChatMessage.system("hi").withName("example_user"));
        var counter = TokenCounter.forModel("gpt-3.5-turbo-0301");
        assertThat(counter.count(named) - counter.count(plain)).isEqualTo(counter.count("example_user") - 1);
        var later = TokenCounter.forModel("gpt-3.5-turbo-0613");
        assertThat(later.count(named) - later.count(plain)).isEqualTo(later.count("example_user") + 1);
    }

    @Test
    void countsSpecialTokenTextInMessagesAsOrdinaryText() {
        var counter = TokenCounter.forModel("gpt-4");
        assertThat(counter.count("<|endoftext|>")).isEqualTo(7);
    }

    @ParameterizedTest(name = "{0} tokens: {1}")
    @MethodSource("openaiChatTokensCases")
    void aRememberingCounterCountsAsThePlainOneTheFirstTimeAndAfter(int expected, ChatPrompt prompt) {
        var remembering = TokenCounter.forModel("gpt-3.5-turbo").remembering(1 << 20);
        assertThat(remembering.count(prompt)).isEqualTo(expected);
        assertThat(remembering.count(prompt)).isEqualTo(expected);
    }

    @Test
    void aRememberingCounterCountsEachLongTextOnceAndShortOnesEachTime() {
        var plain = TokenCounter.forModel("gpt-4o");
        var remembering = plain.remembering(1 << 20);
        String system =
                "You are a careful assistant who answers questions about the weather, briefly and politely. ".repeat(3);
        var conversation = new ArrayList<>(List.of(ChatMessage.system(system)));
        for (int turn = 0; turn < 3; turn++) {
            conversation.add(ChatMessage.user("What is the weather in city number " + turn + "?"));
            assertThat(remembering.count(conversation)).isEqualTo(plain.count(conversation));
            conversation.add(ChatMessage.assistant(
                    ("Turn " + turn + ": sunny in the morning, with rain in the afternoon and wind at night. ")
                            .repeat(2)));
        }
        TextMemo.Stats stats =
                ((RememberedCounts) remembering.encoding()).counts().stats();
        assertThat(system.length()).isGreaterThanOrEqualTo(RememberedCounts.SHORTEST_KEPT);
        assertThat(stats.misses())
                .as("the system prompt and two answers, each once")
                .isEqualTo(3);
        assertThat(stats.hits())
                .as("the system prompt twice, the first answer once")
                .isEqualTo(3);
        assertThat(stats.entries()).isEqualTo(3); // the short questions are counted each time, never kept
    }

    @Test
    void anInputIsCountedTextByTextTokenIdsOneEach() throws Exception {
        TokenCounter counter = TokenCounter.forEncoding("o200k_base");
        var json = dev.parley.api.Json.mapper();
        String story = "Once upon a time, there was a little dog.";
        assertThat(counter.countInput(json.readTree("\"" + story + "\""))).isEqualTo(counter.count(story));
        assertThat(counter.countInput(json.readTree("[[1, 2, 3], [4]]"))).isEqualTo(4);
        var message = json.readTree("{\"role\":\"user\",\"content\":\"" + story + "\"}");
        assertThat(counter.countInput(json.createArrayNode().add(story).add(message)))
                .isEqualTo(counter.count(story) + counter.count(message.toString()));
        assertThat(counter.countInput(null)).isZero();
        assertThat(counter.countInput(json.nullNode())).isZero();
        assertThat(counter.countInput(json.missingNode())).isZero();
    }
}
