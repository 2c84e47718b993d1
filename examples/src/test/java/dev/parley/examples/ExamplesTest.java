package dev.parley.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.CompletionRequest;
import dev.parley.api.StreamOptions;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.server.ParleyServer;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Parley's client against Parley's server, both real, on loopback: the library calls, and the cookbook
 * examples run as programs the way a user runs them (their own JVM, configured by environment).
 */
@Timeout(120)
class ExamplesTest {
    static ParleyServer server;
    static ParleyClient client;
    static String baseUrl;

    @BeforeAll
    static void start() {
        var engine = LlamaEngine.open(
                LlamaEngineOptions.of(DemoModel.path()).withModelId("demo").withContextPerSequence(512));
        server = ParleyServer.start(engine, "127.0.0.1", 0);
        baseUrl = server.baseUrl("127.0.0.1");
        client = ParleyClient.create(ClientOptions.builder(name -> null)
                .baseUrl(baseUrl)
                .apiKey("test")
                .build());
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    static ChatCompletionRequest.Builder story() {
        return ChatCompletionRequest.builder("demo")
                .messages(ChatMessage.user("Once upon a time"))
                .temperature(0.0)
                .maxTokens(40);
    }

    @Test
    void theStreamsAccumulatedMessageEqualsTheWholeAnswerAtTemperatureZero() {
        var whole = client.chat(story().build());
        var streamed = client.stream(
                        story().streamOptions(StreamOptions.withUsage()).build())
                .accumulate();
        assertThat(streamed.completion().text()).isEqualTo(whole.text()).isNotBlank();
        assertThat(streamed.completion().choices().getFirst().finishReason())
                .isEqualTo(whole.choices().getFirst().finishReason());
        // The counts; the stream may find the whole answer's prompt cached.
        assertThat(streamed.completion().usage())
                .usingRecursiveComparison()
                .ignoringFields("promptTokensDetails")
                .isEqualTo(whole.usage());
        assertThat(streamed.usageCountedLocally()).isFalse();
    }

    @Test
    void completesListsModelsAndStreamsLegacyCompletions() {
        var request = CompletionRequest.of("demo", "Once upon a time")
                .withMaxTokens(12)
                .withTemperature(0.0);
        var whole = client.complete(request);
        StringBuilder streamed = new StringBuilder();
        try (var stream = client.streamCompletion(request)) {
            stream.forEach(event -> streamed.append(event.text()));
        }
        assertThat(streamed.toString()).isEqualTo(whole.text());
        assertThat(whole.usage().completionTokens()).isEqualTo(12);
        assertThat(client.models().data()).extracting(m -> m.id()).containsExactly("demo");
    }

    @Test
    void exposesTheRequestIdOfEveryResponse() {
        var response = client.withResponse().chat(story().maxTokens(2).build());
        assertThat(response.info().requestId()).startsWith("req_");
        assertThat(response.info().status()).isEqualTo(200);
    }

    @Test
    void knockKnockPrintsTheResponseAndTheReply() throws Exception {
        List<String> lines = run(KnockKnock.class);
        String printed = String.join("\n", lines);
        int end = printed.indexOf("\n}") + 2;
        var response = dev.parley.api.Json.read(printed.substring(0, end), dev.parley.api.ChatCompletion.class);
        assertThat(response.object()).isEqualTo("chat.completion");
        assertThat(response.model()).isEqualTo("demo");
        assertThat(response.usage().totalTokens()).isPositive();
        assertThat(printed.substring(end + 1)).isEqualTo(response.text());
    }

    @Test
    void blackbeardAsksWithAndWithoutASystemMessage() throws Exception {
        List<String> lines = run(Blackbeard.class);
        assertThat(lines).contains("# with a system message", "# without a system message");
    }

    @Test
    void theJargonTranslatorCountsNamedExamplesInItsPrompt() throws Exception {
        List<String> lines = run(JargonTranslator.class);
        assertThat(lines).contains("# as a conversation", "# with named example messages");
        assertThat(lines).anyMatch(line -> line.matches("\\(\\d+ prompt tokens\\)"));
    }

    @Test
    void countTo100TimesEveryChunkAndJoinsThemIntoTheWholeAnswer() throws Exception {
        List<String> lines = run(CountTo100.class);
        assertThat(lines)
                .anyMatch(line -> line.matches(
                        "Message received \\d+\\.\\d\\d seconds after request: \\{\"role\": \"assistant\"}"));
        assertThat(lines).anyMatch(line -> line.startsWith("Text received: "));
        String whole = lines.get(lines.indexOf("Full response received:") + 1);
        String streamed = lines.stream()
                .filter(l -> l.startsWith("Full conversation received: "))
                .findFirst()
                .orElseThrow()
                .substring("Full conversation received: ".length());
        assertThat(streamed).isEqualTo(whole);
    }

    /** Runs an example's main in a JVM of its own, configured as a user would: by environment. */
    private static List<String> run(Class<?> example) throws IOException, InterruptedException {
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var process = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), example.getName())
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        process.environment().put("OPENAI_BASE_URL", baseUrl);
        process.environment().put("OPENAI_API_KEY", "test");
        process.environment().put("PARLEY_MODEL", "demo");
        Process running = process.start();
        byte[] output = running.getInputStream().readAllBytes();
        assertThat(running.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String text = new String(output, StandardCharsets.UTF_8);
        assertThat(running.exitValue()).as(text).isZero();
        return text.lines().toList();
    }
}
