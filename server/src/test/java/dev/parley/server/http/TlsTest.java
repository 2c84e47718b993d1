package dev.parley.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.server.ParleyServer;
import dev.parley.server.ServerOptions;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.engine.proxy.ProxyEngine;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import dev.parley.testkit.TestCertificate;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS with certificates and keys as PEM files, in each form certbot, {@code openssl} and Kubernetes write them; a
 * renewal while serving; what is refused, and how. The certificates are made by the JDK's own {@code keytool}.
 */
@Timeout(120)
class TlsTest {
    @TempDir
    Path dir;

    TestCertificate issue(String algorithm, String name) throws Exception {
        return TestCertificate.issue(dir, algorithm, name);
    }

    static String pem(String label, byte[] der) {
        return TestCertificate.pem(label, der);
    }

    static String certificatePem(TestCertificate issued) {
        return issued.certificatePem();
    }

    static String pkcs8(TestCertificate issued) {
        return issued.keyPem();
    }

    /** PKCS#1: the RSA key inside the PKCS#8 wrapping, as older OpenSSL writes it. */
    static String pkcs1(TestCertificate issued) {
        return pem("RSA PRIVATE KEY", innerKey(issued.key().getEncoded()));
    }

    /**
     * SEC1 with the curve named in its parameters, after an EC PARAMETERS block, as {@code openssl ecparam -genkey}
     * writes it.
     */
    static String sec1(TestCertificate issued) {
        var info = new Pem.Der(issued.key().getEncoded()).enter(0x30);
        info.next(); // version
        var algorithm = info.enter(0x30);
        algorithm.next(); // id-ecPublicKey
        byte[] curve = algorithm.whole(); // the named curve's OID, as an element
        var fields = new Pem.Der(info.next()).enter(0x30); // the SEC1 key, without its parameters
        byte[] version = Pem.der(0x02, fields.next());
        byte[] secret = Pem.der(0x04, fields.next());
        byte[] sec1 = Pem.der(0x30, Pem.concat(version, secret, Pem.der(0xa0, curve)));
        return pem("EC PARAMETERS", curve) + pem("EC PRIVATE KEY", sec1);
    }

    private static byte[] innerKey(byte[] pkcs8) {
        var info = new Pem.Der(pkcs8).enter(0x30);
        info.next(); // version
        info.next(); // algorithm
        return info.next(); // the key's octets
    }

    /** Writes as a renewal does: to a file beside, then moved over the old one. */
    void write(Path file, String text) throws IOException {
        Path next = file.resolveSibling(file.getFileName() + ".next");
        Files.writeString(next, text);
        Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    ParleyServer serve(Path certificate, Path key) {
        return ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(128)),
                ApiKeys.open(),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                ServerOptions.defaults().withTls(new ServerOptions.Tls(certificate, key)));
    }

    /** The certificate a new connection to the server is shown. */
    static X509Certificate served(ParleyServer server) throws Exception {
        SSLContext any = SSLContext.getInstance("TLS");
        any.init(null, new javax.net.ssl.TrustManager[] {new TrustingAll()}, null);
        try (var socket = (SSLSocket) any.getSocketFactory().createSocket("127.0.0.1", server.port())) {
            socket.startHandshake();
            Certificate[] chain = socket.getSession().getPeerCertificates();
            return (X509Certificate) chain[0];
        }
    }

    /** A first look only: which certificate is served, whoever signed it. */
    static final class TrustingAll implements javax.net.ssl.X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    static ChatCompletionRequest story() {
        return ChatCompletionRequest.builder("demo")
                .messages(ChatMessage.user("Once upon a time"))
                .maxTokens(8)
                .temperature(0.0)
                .build();
    }

    ParleyClient client(ParleyServer server, TestCertificate trusted) throws Exception {
        HttpClient http = HttpClient.newBuilder()
                .sslContext(trusted.trustingIt())
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        return ParleyClient.create(
                ClientOptions.builder(name -> null)
                        .baseUrl(server.baseUrl("127.0.0.1"))
                        .apiKey("test")
                        .maxRetries(0)
                        .build(),
                http);
    }

    @Test
    void servesAnswersAndStreamsOverHttpsAndReadsARenewedCertificateWhileServing() throws Exception {
        TestCertificate rsa = issue("RSA", "first");
        Path certificate = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        write(certificate, certificatePem(rsa));
        write(key, pkcs1(rsa));
        try (ParleyServer server = serve(certificate, key)) {
            assertThat(server.baseUrl("127.0.0.1")).startsWith("https://127.0.0.1:");
            String whole;
            try (var client = client(server, rsa)) {
                ChatCompletion answer = client.chat(story());
                whole = answer.text();
                assertThat(whole).isNotBlank();
                var streamed = new StringBuilder();
                try (var stream = client.stream(story())) {
                    for (ChatCompletionChunk chunk : stream) {
                        if (!chunk.choices().isEmpty()
                                && chunk.choices().getFirst().delta().content() != null)
                            streamed.append(chunk.choices().getFirst().delta().content());
                    }
                }
                assertThat(streamed.toString()).isEqualTo(whole);
            }

            // Renewed: a new key of another kind (EC, written as openssl ecparam writes it), then its certificate.
            TestCertificate ec = issue("EC", "second");
            write(key, sec1(ec));
            write(certificate, certificatePem(ec));
            awaitServed(server, ec.certificate());
            try (var client = client(server, ec)) {
                assertThat(client.chat(story()).text()).isEqualTo(whole);
            }

            // Halfway through the next renewal, the new key beside the certificate in use: refused (the watcher
            // logs it), and the pair in use stays until the certificate comes.
            TestCertificate third = issue("RSA", "third");
            write(key, pkcs8(third));
            assertThatThrownBy(() -> ServerTls.open(new ServerOptions.Tls(certificate, key)))
                    .hasMessageContaining("does not belong to the first certificate");
            assertThat(server.reload()).as("read again at once, as SIGHUP asks").isFalse();
            assertThat(served(server).getEncoded()).isEqualTo(ec.certificate().getEncoded());
            write(certificate, certificatePem(third));
            awaitServed(server, third.certificate());
            assertThat(server.reload()).isTrue();
            assertThat(served(server).getEncoded())
                    .isEqualTo(third.certificate().getEncoded());
        }
    }

    @Test
    void oneFileMayHoldBothAndPlainHttpIsToldToUseHttps() throws Exception {
        TestCertificate ec = issue("EC", "both");
        Path both = dir.resolve("both.pem");
        write(both, certificatePem(ec) + pkcs8(ec));
        try (ParleyServer server = serve(both, both);
                var client = client(server, ec)) {
            assertThat(client.chat(story()).text()).isNotBlank();
            try (var socket = new Socket("127.0.0.1", server.port())) {
                OutputStream out = socket.getOutputStream();
                out.write("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(answer).startsWith("HTTP/1.1 400 ");
                assertThat(answer.substring(answer.indexOf("\r\n\r\n") + 4))
                        .isEqualTo("{\"error\":{\"message\":\"This server speaks HTTPS only: send the request to its"
                                + " https:// URL.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
            }
            // The connection that was refused took nothing with it.
            assertThat(client.chat(story()).text()).isNotBlank();
        }
    }

    @Test
    void whatCannotBeServedIsRefusedAtStartNamingTheFile() throws Exception {
        TestCertificate rsa = issue("RSA", "rsa");
        TestCertificate other = issue("RSA", "other");
        TestCertificate ed = issue("Ed25519", "ed");
        Path certificate = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        write(certificate, certificatePem(rsa));

        write(key, pkcs8(other));
        assertThatThrownBy(() -> serve(certificate, key))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "the private key in " + key + " does not belong to the first certificate in " + certificate);
        write(key, pem("ENCRYPTED PRIVATE KEY", new byte[] {0x30, 0}));
        assertThatThrownBy(() -> ServerTls.open(new ServerOptions.Tls(certificate, key)))
                .hasMessageStartingWith("the private key in " + key + " is encrypted");
        write(key, certificatePem(rsa));
        assertThatThrownBy(() -> ServerTls.open(new ServerOptions.Tls(certificate, key)))
                .hasMessageStartingWith(key + " holds no PEM private key");
        write(key, pem("EC PRIVATE KEY", new byte[] {0x30, 0x7f, 1}));
        assertThatThrownBy(() -> ServerTls.open(new ServerOptions.Tls(certificate, key)))
                .hasMessage("the EC private key in " + key + " is not well-formed");
        write(key, pem("PRIVATE KEY", new byte[] {1, 2, 3}));
        assertThatThrownBy(() -> ServerTls.open(new ServerOptions.Tls(certificate, key)))
                .hasMessageStartingWith("the private key in " + key + " is not an RSA, EC");
        assertThatThrownBy(() -> ServerTls.open(new ServerOptions.Tls(key, key)))
                .hasMessage(key + " holds no PEM certificate (BEGIN CERTIFICATE)");
        Path model = dir.resolve("model.gguf"); // named by mistake: not read into memory
        try (var file = new java.io.RandomAccessFile(model.toFile(), "rw")) {
            file.setLength(17L << 20);
        }
        assertThatThrownBy(() -> ServerTls.open(new ServerOptions.Tls(model, key)))
                .hasMessage(model + " is not a PEM file: it holds over 16 MiB");
        Path missing = dir.resolve("missing.pem");
        assertThatThrownBy(() -> ServerTls.open(new ServerOptions.Tls(missing, key)))
                .hasMessage("cannot read " + missing + ": no such file");

        // Every form of a key that belongs is read: PKCS#8 (RSA, Ed25519), PKCS#1.
        write(key, pkcs1(rsa));
        ServerTls.open(new ServerOptions.Tls(certificate, key)).close();
        write(key, pkcs8(rsa));
        ServerTls.open(new ServerOptions.Tls(certificate, key)).close();
        write(certificate, certificatePem(ed));
        write(key, pkcs8(ed));
        ServerTls.open(new ServerOptions.Tls(certificate, key)).close();
    }

    @Test
    void aGatewayReachesAnHttpsFleetThroughTheAuthorityItIsGiven() throws Exception {
        TestCertificate upstreamCertificate = issue("EC", "fleet");
        Path certificate = dir.resolve("fleet.pem");
        write(certificate, certificatePem(upstreamCertificate) + pkcs8(upstreamCertificate));
        try (ParleyServer upstream = serve(certificate, certificate)) {
            var toUpstream = ClientOptions.builder(name -> null)
                    .baseUrl(upstream.baseUrl("127.0.0.1"))
                    .apiKey("test")
                    .maxRetries(0);
            assertThatThrownBy(() -> ProxyEngine.connect(toUpstream.build(), List.of()))
                    .hasRootCauseInstanceOf(java.security.cert.CertPathBuilderException.class);
            try (ParleyServer gateway = ParleyServer.start(
                            ProxyEngine.connect(
                                    toUpstream.caCertificates(certificate).build(), List.of()),
                            "127.0.0.1",
                            0);
                    var direct = client(upstream, upstreamCertificate);
                    var client = ParleyClient.create(ClientOptions.builder(name -> null)
                            .baseUrl(gateway.baseUrl("127.0.0.1"))
                            .apiKey("test")
                            .maxRetries(0)
                            .build())) {
                assertThat(gateway.baseUrl("127.0.0.1")).startsWith("http://");
                assertThat(client.chat(story()).text())
                        .isEqualTo(direct.chat(story()).text());
            }
        }
    }

    /** Waits until new connections are shown {@code expected}: the watcher has read the renewed files. */
    static void awaitServed(ParleyServer server, X509Certificate expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            byte[] now = served(server).getEncoded();
            if (java.util.Arrays.equals(now, expected.getEncoded())) return;
            assertThat(System.nanoTime())
                    .as("the renewed certificate is served")
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
