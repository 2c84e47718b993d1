package dev.parley.server;

import static dev.parley.server.Loopback.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatCompletion;
import dev.parley.api.Json;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bodies no client should send, against the real server and the demo model over real HTTP: each is a 400
 * in OpenAI's shape naming its param, or is served; none is a 500. The demo model has no chat template,
 * so chats are written in ChatML, whose markup its vocabulary reads as plain text; its SentencePiece
 * vocabulary has {@code </s>} (EOS) and {@code <s>} (BOS) as control tokens.
 */
@Timeout(120)
class HostileInputTest {
    static final int CONTEXT = 256;
    static final int QUEUE = 16;
    static ParleyServer server;
    static Loopback loopback;

    @BeforeAll
    static void start() {
        server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(CONTEXT)
                        .withQueue(QUEUE)),
                "127.0.0.1",
                0);
        loopback = Loopback.to(server);
    }

    @AfterAll
    static void stop() {
        server.close();
        loopback.close();
    }

    static String chat(String messages, String extra) {
        return "{\"model\":\"demo\",\"messages\":" + messages + ",\"temperature\":0,\"max_tokens\":2" + extra + "}";
    }

    static String user(String content) {
        return "[{\"role\":\"user\",\"content\":" + Json.write(content) + "}]";
    }

    /** ChatML as llama.cpp writes it, for a legacy prompt that must count as the chat does. */
    static String chatMl(String role, String content) {
        return "<|im_start|>" + role + "\n" + content + "<|im_end|>\n<|im_start|>assistant\n";
    }

    static int chatPromptTokens(String messages) throws Exception {
        var response = loopback.post("/v1/chat/completions", chat(messages, ""));
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.read(response.body(), ChatCompletion.class).usage().promptTokens();
    }

    /** A legacy prompt is read as text only: its count is the count of the text. */
    static int textTokens(String text) throws Exception {
        var response = loopback.post(
                "/v1/completions", "{\"model\":\"demo\",\"prompt\":" + Json.write(text) + ",\"max_tokens\":0}");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.tree(response.body()).path("usage").path("prompt_tokens").asInt();
    }

    @Test
    void nulInContentIsServedAsText() throws Exception {
        String content = "Once\u0000 upon a time";
        assertThat(chatPromptTokens(user(content))).isEqualTo(textTokens(chatMl("user", content)));
        assertThat(chatPromptTokens(user(content))).isGreaterThan(chatPromptTokens(user("Once upon a time")));
        var legacy = loopback.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":\"a\\u0000b\",\"max_tokens\":2}");
        assertThat(legacy.statusCode()).as(legacy.body()).isEqualTo(200);
    }

    @Test
    void controlTokenTextInContentIsReadAsText() throws Exception {
        for (String content : new String[] {"</s>", "<s>", "<|im_end|>", "Tom</s><s>Sue"}) {
            assertThat(chatPromptTokens(user(content))).as(content).isEqualTo(textTokens(chatMl("user", content)));
        }
        // Read as a control token, </s> would be one token; as text it is several.
        assertThat(chatPromptTokens(user("</s>"))).isGreaterThan(chatPromptTokens(user("")) + 1);
    }

    @Test
    void aNameNeverChangesTheRole() throws Exception {
        String asUser = "[{\"role\":\"user\",\"content\":\"Hi\"}]";
        String named = "[{\"role\":\"user\",\"name\":\"system\",\"content\":\"Hi\"}]";
        String asSystem = "[{\"role\":\"system\",\"content\":\"Hi\"}]";
        assertThat(chatPromptTokens(named))
                .isEqualTo(chatPromptTokens(asUser))
                .isEqualTo(textTokens(chatMl("user", "Hi")));
        assertThat(textTokens(chatMl("user", "Hi"))).isNotEqualTo(textTokens(chatMl("system", "Hi")));
        assertThat(chatPromptTokens(asSystem)).isEqualTo(textTokens(chatMl("system", "Hi")));
    }

    @Test
    void topPZeroIsServedAsTheMostLikelyTokenOnly() throws Exception {
        for (String topP : new String[] {"0", "-0.0"}) {
            String body = "{\"model\":\"demo\",\"messages\":" + user("Tom") + ",\"max_tokens\":8,\"temperature\":";
            var response = loopback.post("/v1/chat/completions", body + "1,\"top_p\":" + topP + "}");
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            var greedy = loopback.post("/v1/chat/completions", body + "0}");
            assertThat(Json.read(response.body(), ChatCompletion.class).text())
                    .isEqualTo(Json.read(greedy.body(), ChatCompletion.class).text());
        }
    }

    @Test
    void logprobsWithoutAlternativesAreServed() throws Exception {
        var chat = loopback.post("/v1/chat/completions", chat(user("Hi"), ",\"logprobs\":true"));
        assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
        assertThat(chat.body()).doesNotContain("\"error\"");
        var legacy = loopback.post(
                "/v1/completions", "{\"model\":\"demo\",\"prompt\":\"Hi\",\"max_tokens\":2,\"logprobs\":0}");
        assertThat(legacy.body()).doesNotContain("\"error\"");
    }

    @Test
    void nullArrayElementsAre400sNamingTheElement() throws Exception {
        String message = "{\"role\":\"user\",\"content\":\"Hi\"}";
        assertError(
                loopback.post("/v1/chat/completions", chat("[null]", "")),
                400,
                "invalid_request_error",
                "messages[0]",
                "invalid_type");
        assertError(
                loopback.post("/v1/chat/completions", chat("[" + message + ",null]", "")),
                400,
                "invalid_request_error",
                "messages[1]",
                "invalid_type");
        assertError(
                loopback.post("/v1/chat/completions", chat(user("Hi"), ",\"tools\":[null]")),
                400,
                "invalid_request_error",
                "tools[0]",
                "invalid_type");
        assertError(
                loopback.post("/v1/chat/completions", chat(user("Hi"), ",\"functions\":[null]")),
                400,
                "invalid_request_error",
                "functions[0]",
                "invalid_type");
        assertError(
                loopback.post("/v1/chat/completions", chat("[{\"role\":\"user\",\"content\":[null]}]", "")),
                400,
                "invalid_request_error",
                "messages[0].content[0]",
                "invalid_type");
        assertError(
                loopback.post("/v1/chat/completions", chat("[{\"role\":\"assistant\",\"tool_calls\":[null]}]", "")),
                400,
                "invalid_request_error",
                "messages[0].tool_calls[0]",
                "invalid_type");
        assertError(
                loopback.post("/v1/chat/completions", chat(user("Hi"), ",\"stop\":[null]")),
                400,
                "invalid_request_error",
                "stop[0]",
                "missing_required_parameter");
        assertError(
                loopback.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":[\"a\",null]}"),
                400,
                "invalid_request_error",
                "prompt",
                "invalid_type");
    }

    @Test
    void aTruncatedChunkedUploadIsA400AndNothingIsLogged() throws Exception {
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n";
        var reply = new String[1];
        String logged = logged(() -> reply[0] = sendThenHalfClose(head + "40\r\n{\"model\":\"demo\",\"messages\":["));
        assertThat(reply[0]).as(logged).startsWith("HTTP/1.1 400");
        assertThat(errorOf(reply[0]).path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(logged).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void aBodyCutShortOfItsContentLengthIsA400AndNothingIsLogged() throws Exception {
        String body = chat(user("Hi"), "");
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n";
        var reply = new String[1];
        String logged = logged(() -> reply[0] = sendThenHalfClose(head + body.substring(0, body.length() / 2)));
        assertThat(reply[0]).as(logged).startsWith("HTTP/1.1 400");
        assertThat(errorOf(reply[0]).path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(logged).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void aHugeCapIsRefusedNamingItNeverAdmittedByOverflow() throws Exception {
        for (String n : new String[] {"1", "8", "128"}) {
            var response = loopback.post(
                    "/v1/chat/completions", chat(user("Hi"), ",\"n\":" + n + ",\"max_tokens\":2147483647"));
            assertError(
                    response,
                    400,
                    "invalid_request_error",
                    Integer.parseInt(n) > QUEUE ? "n" : "max_tokens",
                    Integer.parseInt(n) > QUEUE ? "invalid_value" : "context_length_exceeded");
        }
        var message = Json.tree(loopback.post(
                                "/v1/chat/completions",
                                "{\"model\":\"demo\",\"messages\":" + user("Hi")
                                        + ",\"max_completion_tokens\":2147483647}")
                        .body())
                .path("error");
        assertThat(message.path("param").asText()).isEqualTo("max_completion_tokens");
        assertThat(message.path("message").asText())
                .contains("you requested 21474836")
                .contains("2147483647 in the completion");
        var legacy = loopback.post(
                "/v1/completions", "{\"model\":\"demo\",\"prompt\":[\"a\",\"b\"],\"n\":8,\"max_tokens\":2147483647}");
        assertError(legacy, 400, "invalid_request_error", "max_tokens", "context_length_exceeded");
    }

    @Test
    void nUpToTheQueueIsServedAndBeyondItIsA400NamingN() throws Exception {
        var served = loopback.post("/v1/chat/completions", chat(user("Hi"), ",\"n\":" + QUEUE + ",\"max_tokens\":1"));
        assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
        assertThat(Json.read(served.body(), ChatCompletion.class).choices()).hasSize(QUEUE);
        for (int n : new int[] {QUEUE + 1, 128}) {
            var refused = loopback.post("/v1/chat/completions", chat(user("Hi"), ",\"n\":" + n));
            assertError(refused, 400, "invalid_request_error", "n", "invalid_value");
            assertThat(Json.tree(refused.body()).path("error").path("message").asText())
                    .contains("at most " + QUEUE + " choices");
        }
        assertError(
                loopback.post("/v1/chat/completions", chat(user("Hi"), ",\"n\":129")),
                400,
                "invalid_request_error",
                "n",
                "integer_above_max_value");
        var prompts = loopback.post(
                "/v1/completions", "{\"model\":\"demo\",\"prompt\":[\"a\",\"b\",\"c\"],\"n\":6,\"max_tokens\":1}");
        assertError(prompts, 400, "invalid_request_error", "n", "invalid_value");
    }

    @Test
    void aTextLongerThanAnyContextIsRefusedBeforeTokenizing() throws Exception {
        String huge = "Once upon a time. ".repeat((24 << 20) / 18); // 24 MB
        var chat = loopback.post("/v1/chat/completions", chat(user(huge), ""));
        assertError(chat, 400, "invalid_request_error", "messages", "context_length_exceeded");
        assertThat(Json.tree(chat.body()).path("error").path("message").asText())
                .contains("maximum context length is " + CONTEXT + " tokens")
                .contains("at least");
        var legacy = loopback.post("/v1/completions", "{\"model\":\"demo\",\"prompt\":" + Json.write(huge) + "}");
        assertError(legacy, 400, "invalid_request_error", "prompt", "context_length_exceeded");
    }

    @Test
    void aMalformedChunkIsA400AndNothingIsLogged() throws Exception {
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n";
        var reply = new String[1];
        String logged = logged(() -> reply[0] = sendThenHalfClose(head + "zz\r\n{}\r\n0\r\n\r\n"));
        assertThat(reply[0]).as(logged).startsWith("HTTP/1.1 400");
        assertThat(logged).doesNotContain("Exception").doesNotContain("\tat ");
    }

    /** Sends raw bytes, half-closes (the server sees the body end early) and reads the whole reply. */
    static String sendThenHalfClose(String request) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.UTF_8));
            out.flush();
            socket.shutdownOutput();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static JsonNode errorOf(String reply) {
        String body = reply.substring(reply.indexOf("\r\n\r\n") + 4);
        if (reply.toLowerCase().contains("transfer-encoding: chunked")) {
            body = body.substring(body.indexOf("\r\n") + 2, body.lastIndexOf("}") + 1);
        }
        return Json.tree(body).path("error");
    }

    interface Action {
        void run() throws Exception;
    }

    /**
     * What the server logs to standard error while {@code action} runs. The server logs an unexpected
     * failure before it writes the reply, so by the time the action has read its reply, the log is written.
     */
    static String logged(Action action) throws Exception {
        PrintStream original = System.err;
        var captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(original);
        }
        original.print(captured.toString(StandardCharsets.UTF_8));
        return captured.toString(StandardCharsets.UTF_8);
    }
}
