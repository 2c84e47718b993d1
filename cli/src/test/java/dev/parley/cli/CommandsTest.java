package dev.parley.cli;

import static dev.parley.client.ScriptedServer.Reply.json;
import static dev.parley.client.ScriptedServer.Reply.sse;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.client.ScriptedServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CommandsTest {
    static final String DONE = "data: [DONE]\n\n";
    static final String USAGE =
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                    + "\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n";

    final ScriptedServer server = ScriptedServer.start();
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    @AfterEach
    void stop() {
        server.close();
    }

    static String chunk(String content) {
        return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"},\"finish_reason\":null}]}\n\n";
    }

    static String answer(String... pieces) {
        var body = new StringBuilder();
        for (String piece : pieces) body.append(chunk(piece));
        return body.append(DONE).toString();
    }

    int run(CommandLine commandLine, String... args) {
        commandLine.setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
        var all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--base-url", server.baseUrl(), "--api-key", "sk-cli"));
        return commandLine.execute(all.toArray(String[]::new));
    }

    int parley(String... args) {
        return run(Main.commandLine(), args);
    }

    int chatReading(String stdin, String... args) {
        var command = new ChatCommand(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), false);
        var all = new ArrayList<>(List.of("-m", "m"));
        all.addAll(List.of(args));
        return run(new CommandLine(command), all.toArray(String[]::new));
    }

    JsonNode sent(int request) {
        return Json.tree(server.requests().get(request).body());
    }

    @Test
    void chatStreamsTheAnswerToStdout() {
        server.enqueue(sse(answer("Hel", "lo", "!")));
        int exit = parley(
                "chat",
                "--system",
                "Be brief.",
                "--model",
                "tiny",
                "--temperature",
                "0.2",
                "--max-tokens",
                "20",
                "Say",
                "hi");
        assertThat(exit).isZero();
        assertThat(out).hasToString("Hello!" + System.lineSeparator());
        assertThat(err.toString()).isEmpty();
        JsonNode body = sent(0);
        assertThat(body.get("model").asText()).isEqualTo("tiny");
        assertThat(body.get("stream").asBoolean()).isTrue();
        assertThat(body.get("temperature").asDouble()).isEqualTo(0.2);
        assertThat(body.get("max_tokens").asInt()).isEqualTo(20);
        assertThat(body.get("messages").toString())
                .isEqualTo(
                        "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Say hi\"}]");
        assertThat(server.lastRequest().header("authorization")).isEqualTo("Bearer sk-cli");
    }

    @Test
    void aSubcommandsNameBuildsThatSubcommandAloneAndHelpOrAnythingElseBuildsThemAll() {
        List<String> all = List.of("serve", "chat", "batch", "complete", "models", "tokens", "keys", "help");
        assertThat(Main.commandLine().getSubcommands().keySet()).containsExactlyElementsOf(all);
        for (String name : all.subList(0, all.size() - 1)) {
            assertThat(Main.commandLine(name, "--help").getSubcommands().keySet())
                    .as(name)
                    .containsExactly(name);
        }
        for (String first : List.of("help", "--help", "-V", "serv", "")) {
            assertThat(Main.commandLine(first).getSubcommands().keySet())
                    .as(first)
                    .containsExactlyElementsOf(all);
        }

        // "help serve" still finds serve, and a mistyped name is still refused as one.
        assertThat(run(Main.commandLine("help", "serve"), "help", "serve")).isZero();
        assertThat(out.toString()).startsWith("Usage: parley serve ");
        assertThat(run(Main.commandLine("serv"), "serv")).isEqualTo(2);
        assertThat(err.toString()).startsWith("parley: Unmatched arguments from index 0: 'serv'");
    }

    static String thought(String reasoning) {
        return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"" + reasoning
                + "\"},\"finish_reason\":null}]}\n\n";
    }

    @Test
    void chatPrintsAReasoningModelsReasoningOnStderrAndSendsItBackWithTheAnswer() {
        String reply = thought("Add ") + thought("them.") + chunk("Fo") + chunk("ur") + DONE;
        server.enqueue(sse(reply), sse(reply), sse(reply));
        int exit = chatReading("What is 2 + 2?\nAnd 3 + 3?\n", "--reasoning-effort", "high");
        assertThat(exit).isZero();
        String nl = System.lineSeparator();
        assertThat(out).hasToString("Four" + nl + "Four" + nl);
        assertThat(err).hasToString("Add them." + nl + "Add them." + nl);
        assertThat(sent(0).get("reasoning_effort").asText()).isEqualTo("high");
        JsonNode earlier = sent(1).get("messages").get(1);
        assertThat(earlier.get("content").asText()).isEqualTo("Four");
        assertThat(earlier.get("reasoning_content").asText()).isEqualTo("Add them.");

        // Hidden: only the answer is printed, and the reasoning still goes back.
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        assertThat(parley("chat", "-m", "m", "--hide-reasoning", "hi")).isZero();
        assertThat(out).hasToString("Four" + nl);
        assertThat(err.toString()).isEmpty();
        assertThat(sent(2).has("reasoning_effort")).isFalse();
    }

    @Test
    void chatPrintsUsageOnStderrWhenAsked() {
        server.enqueue(sse(chunk("ok") + USAGE + DONE));
        assertThat(parley("chat", "-m", "m", "--usage", "hi")).isZero();
        assertThat(out).hasToString("ok" + System.lineSeparator());
        assertThat(err.toString().strip()).isEqualTo("usage: 5 prompt + 2 completion = 7 tokens");
        assertThat(sent(0).get("stream_options").get("include_usage").asBoolean())
                .isTrue();
    }

    @Test
    void chatKeepsTheConversationOfPipedLinesUntilResetAndExit() {
        server.enqueue(sse(answer("One")), sse(answer("Two")), sse(answer("Three")));
        int exit = chatReading("Hi\n\nMore\n/reset\nAgain\n/exit\nNever sent\n", "--system", "S");
        assertThat(exit).isZero();
        assertThat(out.toString().lines()).containsExactly("One", "Two", "Three");
        assertThat(server.requests()).hasSize(3);
        assertThat(sent(1).get("messages").toString())
                .isEqualTo("[{\"role\":\"system\",\"content\":\"S\"},"
                        + "{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"One\"},"
                        + "{\"role\":\"user\",\"content\":\"More\"}]");
        assertThat(sent(2).get("messages").toString())
                .isEqualTo("[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"Again\"}]");
    }

    @Test
    void aFailedTurnIsReportedAndLeftOutOfTheConversation() {
        server.enqueue(
                json(
                        400,
                        "{\"error\":{\"message\":\"bad turn\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}"),
                sse(answer("Fine")));
        int exit = chatReading("Broken\nHello\n");
        assertThat(exit).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("parley chat: bad turn (HTTP 400)");
        assertThat(sent(1).get("messages").toString()).isEqualTo("[{\"role\":\"user\",\"content\":\"Hello\"}]");
    }

    @Test
    void anEmptyMessageIsRefusedBeforeAnythingIsSent() {
        assertThat(parley("chat", "-m", "m", "")).isEqualTo(2);
        assertThat(parley("chat", "-m", "m", " ", "\t")).isEqualTo(2);
        assertThat(err.toString().lines())
                .containsOnly("parley chat: the message is empty; give one, or none to read a conversation from stdin");
        assertThat(server.requests()).isEmpty();
    }

    @Test
    void anErrorResponseIsOneLineOnStderrAndExitOne() {
        server.enqueue(json(
                401,
                "{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":\"invalid_request_error\","
                        + "\"param\":null,\"code\":\"invalid_api_key\"}}",
                "x-request-id",
                "req_9"));
        assertThat(parley("chat", "-m", "m", "hi")).isEqualTo(1);
        assertThat(err)
                .hasToString(
                        "parley chat: Incorrect API key provided (HTTP 401, request req_9)" + System.lineSeparator());
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void aCutStreamIsAnErrorNotAShortAnswer() {
        server.enqueue(sse(chunk("partial")));
        assertThat(parley("chat", "-m", "m", "hi")).isEqualTo(1);
        assertThat(err.toString()).startsWith("parley chat: the stream ended after 1 events without [DONE]");
        assertThat(err.toString().lines()).hasSize(1);
    }

    @Test
    void anUnreachableServerIsOneLineOnStderr() throws IOException {
        int closedPort;
        try (var probe = new ServerSocket(0)) {
            closedPort = probe.getLocalPort();
        }
        var commandLine = Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
        int exit = commandLine.execute(
                "chat", "-m", "m", "--max-retries", "0", "--base-url", "http://127.0.0.1:" + closedPort + "/v1", "hi");
        assertThat(exit).isEqualTo(1);
        assertThat(err.toString())
                .startsWith("parley chat: POST http://127.0.0.1:" + closedPort + "/v1/chat/completions failed");
        assertThat(err.toString().lines()).hasSize(1);
        assertThat(err.toString()).doesNotContain("\tat ");
    }

    @Test
    void aServerThatNeverAnswersFailsAfterTheTimeout() throws IOException {
        // The kernel accepts the connection for the socket's backlog; nothing ever reads the request or answers.
        try (var silent = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            String baseUrl = "http://127.0.0.1:" + silent.getLocalPort() + "/v1";
            var commandLine =
                    Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
            int exit = commandLine.execute("models", "--timeout", "0.2", "--max-retries", "0", "--base-url", baseUrl);
            assertThat(exit).isEqualTo(1);
            assertThat(err.toString())
                    .startsWith("parley models: GET " + baseUrl + "/models failed")
                    .contains("timed out")
                    .endsWith("; the answer had not begun when --timeout ran out (a model reading a long prompt may"
                            + " need more: --timeout SECONDS)" + System.lineSeparator());
            assertThat(err.toString().lines()).hasSize(1);
        }
    }

    @Test
    void aTimeoutOutsideADayOrNotANumberIsAUsageError() {
        for (String given : List.of("0", "-1", "86401", "NaN", "soon")) {
            err.getBuffer().setLength(0);
            var commandLine =
                    Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
            assertThat(commandLine.execute("models", "--timeout", given))
                    .as(given)
                    .isEqualTo(2);
            assertThat(err.toString())
                    .as(given)
                    .contains("Invalid value for option '--timeout': '" + given
                            + "' is not a number of seconds more than 0 and at most 86400");
        }
    }

    @Test
    void completeStreamsTheLegacyCompletion() {
        String event = "data: {\"id\":\"cmpl\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\","
                + "\"choices\":[{\"text\":\"%s\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n";
        server.enqueue(sse(event.formatted("4,") + event.formatted("5,") + DONE));
        assertThat(parley("complete", "-m", "m", "--max-tokens", "4", "1,2,3,")).isZero();
        assertThat(out).hasToString("4,5," + System.lineSeparator());
        assertThat(sent(0).get("prompt").asText()).isEqualTo("1,2,3,");
        assertThat(sent(0).get("max_tokens").asInt()).isEqualTo(4);
        assertThat(server.lastRequest().path()).isEqualTo("/v1/completions");
    }

    @Test
    void aConversationThatNoLongerFitsPointsToReset() {
        server.enqueue(
                sse(answer("One")),
                json(
                        400,
                        "{\"error\":{\"message\":\"too long\",\"type\":\"invalid_request_error\",\"param\":\"messages\","
                                + "\"code\":\"context_length_exceeded\"}}"),
                json(
                        400,
                        "{\"error\":{\"message\":\"too long\",\"type\":\"invalid_request_error\",\"param\":\"messages\","
                                + "\"code\":\"context_length_exceeded\"}}"));
        assertThat(chatReading("Hi\nLonger\n/reset\nAlone\n")).isEqualTo(1);
        assertThat(err.toString().lines())
                .containsExactly(
                        "parley chat: too long (HTTP 400); /reset starts the conversation over",
                        "parley chat: too long (HTTP 400)"); // nothing before it to forget
    }

    @Test
    void retriesBeyondTheirLimitsAreAUsageError() {
        for (String retries : List.of("-1", "101", "many")) {
            err.getBuffer().setLength(0);
            assertThat(parley("chat", "-m", "m", "--max-retries", retries, "hi"))
                    .as(retries)
                    .isEqualTo(2);
            assertThat(err.toString().lines().findFirst().orElseThrow())
                    .as(retries)
                    .startsWith("parley chat: Invalid value for option '--max-retries': ")
                    .endsWith(retries.equals("many") ? "'many' is not a whole number" : "not " + retries);
        }
        assertThat(server.requests()).isEmpty();
    }

    @Test
    void completeTakesItsPromptFromWordsOrFromStdinAsItIs() {
        String event = "data: {\"id\":\"cmpl\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\","
                + "\"choices\":[{\"text\":\"!\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n";
        server.enqueue(sse(event + DONE), sse(event + DONE));
        assertThat(parley("complete", "-m", "m", "Lily", "and", "Tom")).isZero();
        assertThat(sent(0).get("prompt").asText()).isEqualTo("Lily and Tom");
        var piped =
                new CompleteCommand(new ByteArrayInputStream("Once upon\na time\n".getBytes(StandardCharsets.UTF_8)));
        assertThat(run(new CommandLine(piped), "-m", "m")).isZero();
        assertThat(sent(1).get("prompt").asText()).isEqualTo("Once upon\na time\n");
        assertThat(out).hasToString("!" + System.lineSeparator() + "!" + System.lineSeparator());

        var nothing = new CompleteCommand(new ByteArrayInputStream(new byte[0]));
        assertThat(run(new CommandLine(nothing), "-m", "m")).isEqualTo(2);
        assertThat(err.toString())
                .isEqualTo("parley complete: no prompt: give PROMPT, or pipe it on stdin" + System.lineSeparator());
        assertThat(server.requests()).hasSize(2);
    }

    @Test
    void modelsListsOneIdPerLine() {
        server.enqueue(json(
                200,
                "{\"object\":\"list\",\"data\":[{\"id\":\"a\",\"object\":\"model\",\"created\":1,\"owned_by\":\"x\"},"
                        + "{\"id\":\"b\",\"object\":\"model\",\"created\":1,\"owned_by\":\"x\"}]}"));
        assertThat(parley("models")).isZero();
        assertThat(out.toString().lines()).containsExactly("a", "b");
    }

    @Test
    void chatWithoutAModelAgainstAServerOfSeveralNamesThemAndSendsNothing() {
        server.enqueue(json(
                200,
                "{\"object\":\"list\",\"data\":[{\"id\":\"a\",\"object\":\"model\",\"created\":1,\"owned_by\":\"x\"},"
                        + "{\"id\":\"b\",\"object\":\"model\",\"created\":1,\"owned_by\":\"x\"}]}"));
        assertThat(parley("chat", "Hi")).isEqualTo(Failures.EXIT);
        assertThat(err.toString()).contains("the server serves 2 models; pick one with --model: a, b");
        assertThat(server.requests()).hasSize(1); // the model list only
    }

    @Test
    void modelsReportsErrorsUnderItsOwnName() {
        server.enqueue(
                json(
                        404,
                        "{\"error\":{\"message\":\"Not found\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}"));
        assertThat(parley("models")).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("parley models: Not found (HTTP 404)");
    }

    @Test
    void aPageThatIsNoOpenAiErrorIsQuotedWithItsStatusOnce() {
        server.enqueue(ScriptedServer.Reply.text(
                404, "text/html", "<!DOCTYPE html><title>Not Found</title>", "x-request-id", "req_7"));
        assertThat(parley("models")).isEqualTo(1);
        assertThat(err.toString().strip())
                .isEqualTo("parley models: HTTP 404: <!DOCTYPE html><title>Not Found</title> (request req_7)");
    }

    @Test
    void theCommandsAreRegistered() {
        assertThat(Main.commandLine().getSubcommands()).containsKeys("chat", "complete", "models");
    }
}
