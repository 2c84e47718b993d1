package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The edges of the HTTP surface on a real server: what Jetty refuses by itself is still an OpenAI error
 * body, browsers get CORS only from allowed origins, and a client's own request id is kept.
 */
@Timeout(60)
class EdgesTest {
    static final String ALLOWED = "https://app.example.com";
    static ParleyServer server;
    static Loopback loopback;

    @BeforeAll
    static void start() {
        server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(1)
                        .withContextPerSequence(128)),
                ApiKeys.open(),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                ServerOptions.defaults().withCorsOrigins(List.of(ALLOWED)));
        loopback = Loopback.to(server);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (loopback != null) loopback.close();
    }

    /** A raw HTTP exchange: the status, headers (lower-cased names) and body of the reply to {@code bytes}. */
    record Raw(int status, Map<String, String> headers, String body) {
        JsonNode error() {
            assertThat(headers.get("content-type")).as(body).startsWith("application/json");
            assertThat(headers.get("x-request-id")).as(body).isNotBlank();
            JsonNode error = Json.tree(body).path("error");
            assertThat(error.path("message").asText()).isNotBlank();
            assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
            assertThat(error.has("param")).isTrue();
            assertThat(error.has("code")).isTrue();
            return error;
        }
    }

    static Raw raw(byte[] request, boolean closeOutput) throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write(request);
            out.flush();
            if (closeOutput) socket.shutdownOutput();
            return reply(socket.getInputStream());
        }
    }

    /** The reply read from {@code in}: its status line, headers and body. */
    static Raw reply(InputStream in) throws Exception {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new AssertionError("no reply header: " + head);
            head.write(b);
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new TreeMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(
                    lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT),
                    lines[i].substring(colon + 1).strip());
        }
        if (status == 100) return new Raw(status, headers, "");
        String length = headers.get("content-length");
        byte[] body = length != null ? in.readNBytes(Integer.parseInt(length)) : in.readAllBytes();
        return new Raw(status, headers, new String(body, StandardCharsets.UTF_8));
    }

    static Raw raw(String request) throws Exception {
        return raw(request.getBytes(StandardCharsets.ISO_8859_1), false);
    }

    @Test
    void aMalformedRequestLineIsA400InOpenAiShape() throws Exception {
        Raw reply = raw("THIS IS NOT HTTP\r\n\r\n");
        assertThat(reply.status()).isEqualTo(400);
        reply.error();
        Raw version = raw("GET /v1/models HTTP/9.9\r\nHost: x\r\n\r\n");
        assertThat(version.status()).isBetween(400, 505);
        assertThat(version.headers().get("content-type")).startsWith("application/json");
        assertThat(Json.tree(version.body()).path("error").path("message").asText())
                .isNotBlank();
    }

    /** More than the platform threads Jetty's pool would start: each stalled upload holds a thread of its own. */
    static final int STALLED_UPLOADS = 250;

    /**
     * Every request is served on a virtual thread of its own: uploads waiting for their body inside the handler, more
     * of them than Jetty's pool has platform threads, hold up no other request, and each is answered once its body
     * comes. Each asks for {@code 100 Continue}, which Jetty sends when the handler starts reading: the upload is
     * then known to hold its thread.
     */
    @Test
    void uploadsWaitingForTheirBodyHoldUpNoOtherRequest() throws Exception {
        byte[] body = "{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":-1}".getBytes(StandardCharsets.UTF_8);
        byte[] head = ("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "Expect: 100-continue\r\nContent-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < STALLED_UPLOADS; i++) {
                Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port());
                stalled.add(socket);
                socket.setSoTimeout(20_000);
                socket.getOutputStream().write(head);
                socket.getOutputStream().flush();
                assertThat(reply(socket.getInputStream()).status())
                        .as("upload %d", i)
                        .isEqualTo(100);
            }
            Raw models = raw("GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertThat(models.status()).isEqualTo(200);
            assertThat(Json.tree(models.body()).path("data").get(0).path("id").asText())
                    .isEqualTo("demo");
            for (Socket socket : stalled) {
                socket.getOutputStream().write(body);
                socket.getOutputStream().flush();
            }
            for (Socket socket : stalled) {
                Raw reply = reply(socket.getInputStream());
                assertThat(reply.status()).as(reply.body()).isEqualTo(400);
                assertThat(reply.error().path("param").asText()).isEqualTo("max_tokens");
            }
        } finally {
            for (Socket socket : stalled) socket.close();
        }
    }

    @Test
    void anOverlongUriIsA414InOpenAiShape() throws Exception {
        Raw reply = raw("GET /v1/models?x=" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(reply.status()).isEqualTo(414);
        assertThat(reply.error().path("message").asText()).isEqualTo("The request URI is too long.");
    }

    @Test
    void overlargeHeadersAreA431InOpenAiShape() throws Exception {
        Raw reply = raw("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(20_000) + "\r\n\r\n");
        assertThat(reply.status()).isEqualTo(431);
        assertThat(reply.error().path("message").asText()).isEqualTo("The request headers are too large.");
    }

    @Test
    void aBadHeaderLineIsA400InOpenAiShape() throws Exception {
        Raw reply = raw("GET /v1/models HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n");
        assertThat(reply.status()).isEqualTo(400);
        reply.error();
    }

    @Test
    void everyOtherMalformedRequestIsA4xxInOpenAiShape() throws Exception {
        String[] requests = {
            "GET /v1/models HTTP/1.1\r\nConnection: close\r\n\r\n", // no Host
            "GET /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n",
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
            "GET /v1/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "GET /v1/models%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "GET /v1/models HTTP/1.1\r\nHost: x\r\nExpect: 100-banana\r\nConnection: close\r\n\r\n",
            "BREW /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        };
        for (String request : requests) {
            Raw reply = raw(request);
            assertThat(reply.status()).as(request).isBetween(400, 499);
            reply.error();
        }
    }

    @Test
    void anAmbiguousPathIsA400InOpenAiShape() throws Exception {
        Raw reply = raw("GET /v1/%2e%2e/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(reply.status()).isIn(400, 404);
        reply.error();
    }

    @Test
    void aTruncatedChunkedBodyIsA400NotA500() throws Exception {
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n";
        Raw truncated = raw((head + "64\r\n{\"model\":\"demo\"").getBytes(StandardCharsets.ISO_8859_1), true);
        assertThat(truncated.status()).isEqualTo(400);
        truncated.error();
        Raw malformed = raw((head + "zz\r\n{}\r\n0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1), false);
        assertThat(malformed.status()).isEqualTo(400);
        malformed.error();
    }

    @Test
    void aPreflightFromAnAllowedOriginIsGrantedAndItsRepliesAreReadable() throws Exception {
        var preflight = loopback.http()
                .send(
                        HttpRequest.newBuilder(URI.create(loopback.base() + "/v1/chat/completions"))
                                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                                .header("Origin", ALLOWED)
                                .header("Access-Control-Request-Method", "POST")
                                .header("Access-Control-Request-Headers", "authorization, content-type")
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(preflight.statusCode()).isEqualTo(204);
        assertThat(preflight.headers().firstValue("access-control-allow-origin"))
                .hasValue(ALLOWED);
        assertThat(preflight.headers().firstValue("access-control-allow-methods"))
                .hasValueSatisfying(m -> assertThat(m).contains("POST"));
        assertThat(preflight.headers().firstValue("access-control-allow-headers"))
                .hasValue("authorization, content-type");

        var reply = loopback.http()
                .send(
                        HttpRequest.newBuilder(URI.create(loopback.base() + "/v1/models"))
                                .header("Origin", ALLOWED)
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(reply.statusCode()).isEqualTo(200);
        assertThat(reply.headers().firstValue("access-control-allow-origin")).hasValue(ALLOWED);
        assertThat(reply.headers().firstValue("access-control-expose-headers"))
                .hasValueSatisfying(h -> assertThat(h).contains("x-request-id"));
    }

    @Test
    void anotherOriginGetsNoGrant() throws Exception {
        var preflight = loopback.http()
                .send(
                        HttpRequest.newBuilder(URI.create(loopback.base() + "/v1/chat/completions"))
                                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                                .header("Origin", "https://evil.example.com")
                                .header("Access-Control-Request-Method", "POST")
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(preflight.statusCode()).isEqualTo(204);
        assertThat(preflight.headers().firstValue("access-control-allow-origin"))
                .isEmpty();
        assertThat(preflight.headers().firstValue("access-control-allow-methods"))
                .isEmpty();
        var reply = loopback.http()
                .send(
                        HttpRequest.newBuilder(URI.create(loopback.base() + "/v1/models"))
                                .header("Origin", "https://evil.example.com")
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(reply.headers().firstValue("access-control-allow-origin")).isEmpty();
    }

    @Test
    void everyOriginIsAllowedWithAStarAndNoneByDefault() throws Exception {
        for (var origins : List.of(List.of("*"), List.<String>of())) {
            try (var other = ParleyServer.start(
                            LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                                    .withModelId("demo")
                                    .withParallel(1)
                                    .withContextPerSequence(64)),
                            ApiKeys.open(),
                            new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                            "127.0.0.1",
                            0,
                            ServerOptions.defaults().withCorsOrigins(origins));
                    var http = Loopback.to(other)) {
                var preflight = http.http()
                        .send(
                                HttpRequest.newBuilder(URI.create(http.base() + "/v1/models"))
                                        .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                                        .header("Origin", "https://anywhere.example")
                                        .header("Access-Control-Request-Method", "GET")
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                assertThat(preflight.statusCode()).isEqualTo(204);
                if (origins.isEmpty()) {
                    assertThat(preflight.headers().firstValue("access-control-allow-origin"))
                            .isEmpty();
                } else {
                    assertThat(preflight.headers().firstValue("access-control-allow-origin"))
                            .hasValue("*");
                }
            }
        }
    }

    @Test
    void anOriginWithAPathIsRefusedAtStart() {
        assertThatThrownBy(() -> ServerOptions.defaults().withCorsOrigins(List.of("https://app.example.com/page")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "a CORS origin is * or scheme://host[:port] without a path, not https://app.example.com/page");
    }

    @Test
    void aWellFormedRequestIdIsKeptAndAnyOtherReplaced() throws Exception {
        var kept = loopback.http()
                .send(
                        HttpRequest.newBuilder(URI.create(loopback.base() + "/v1/models"))
                                .header("x-request-id", "trace-42.a:b_c")
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(kept.headers().firstValue("x-request-id")).hasValue("trace-42.a:b_c");
        var replaced = loopback.http()
                .send(
                        HttpRequest.newBuilder(URI.create(loopback.base() + "/v1/models"))
                                .header("x-request-id", "has spaces and <html>")
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(replaced.headers().firstValue("x-request-id"))
                .hasValueSatisfying(id -> assertThat(id).matches("req_[0-9a-f]{32}"));
    }
}
