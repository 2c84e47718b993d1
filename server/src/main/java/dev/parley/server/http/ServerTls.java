package dev.parley.server.http;

import dev.parley.api.ApiError;
import dev.parley.api.Json;
import dev.parley.pem.PemFile;
import dev.parley.server.FileWatcher;
import dev.parley.server.ServerOptions;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.OptionalSslConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTPS: the server's certificate chain and private key read from PEM files ({@link Pem}), checked to belong
 * together, and served over TLS (HTTP/1.1). Whenever either file changes (certbot's renewal, a Kubernetes TLS secret
 * updated), both are read again and new connections get the new certificate; connections already open keep theirs.
 * A file read halfway through a renewal (the new certificate beside the old key) is refused, the certificate in use
 * stays, and the next change tries again. Plain HTTP sent to the port gets a 400 in OpenAI's shape saying to use
 * https, rather than a closed connection.
 *
 * <p>Thread-safe.
 */
public final class ServerTls implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ServerTls.class);

    /** The in-memory key store's password: it never leaves the process. */
    private static final String STORE_PASSWORD = "parley";

    private final ServerOptions.Tls files;
    private final SslContextFactory.Server factory = new SslContextFactory.Server();
    private FileWatcher watcher; // guarded by this

    private ServerTls(ServerOptions.Tls files, KeyStore store) {
        this.files = files;
        factory.setKeyStore(store);
        factory.setKeyStorePassword(STORE_PASSWORD);
    }

    /** Reads and checks the files now: a server with a certificate it cannot serve does not start. */
    public static ServerTls open(ServerOptions.Tls files) {
        return new ServerTls(files, read(files));
    }

    /** The connector serving HTTPS on {@code host}:{@code port} with Jetty's {@code http} settings. */
    Connector connector(Server server, HttpConfiguration http, String host, int port) {
        // Clients check the certificate's names themselves; a request naming another host is still served.
        http.addCustomizer(new SecureRequestCustomizer(false));
        var tls = new SslConnectionFactory(factory, HttpVersion.HTTP_1_1.asString());
        var connector = new ServerConnector(server, new PlainRefused(tls), tls, new HttpConnectionFactory(http));
        connector.setHost(host);
        connector.setPort(port);
        return connector;
    }

    /** What the files are called in the log. */
    private static final String WHAT = "the TLS certificate and key";

    /** Starts reloading the files whenever they change. */
    public synchronized void watch() {
        if (watcher == null) watcher = FileWatcher.start("parley-tls-watcher", watched(), WHAT, this::reload);
    }

    /**
     * Reads both files again now, as a change of them would (SIGHUP asks for this): whether they were read; when
     * not, what is served stays, and why is logged.
     */
    public boolean reloadNow() {
        return FileWatcher.reloadNow(WHAT, watched(), this::reload);
    }

    private List<Path> watched() {
        return List.of(files.certificate(), files.key());
    }

    /** Reads both files again and serves what they hold to new connections; on failure, what is served stays. */
    public void reload() {
        KeyStore store = read(files);
        try {
            factory.reload(f -> f.setKeyStore(store));
        } catch (Exception e) {
            throw new IllegalStateException("Jetty could not load the new certificate: " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void close() {
        if (watcher != null) watcher.close();
    }

    private static KeyStore read(ServerOptions.Tls files) {
        List<X509Certificate> chain = PemFile.certificates(files.certificate());
        PrivateKey key = Pem.privateKey(files.key());
        X509Certificate own = chain.getFirst();
        requireMatch(key, own, files);
        Instant expires = own.getNotAfter().toInstant();
        if (expires.isBefore(Instant.now())) {
            log.warn(
                    "The TLS certificate {} ({}) expired on {}: clients will refuse it",
                    files.certificate(),
                    own.getSubjectX500Principal().getName(),
                    expires);
        } else {
            log.info(
                    "TLS certificate {} ({}), valid until {}",
                    files.certificate(),
                    own.getSubjectX500Principal().getName(),
                    expires);
        }
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("parley", key, STORE_PASSWORD.toCharArray(), chain.toArray(X509Certificate[]::new));
            return store;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalArgumentException("the TLS key and certificate cannot be used: " + e.getMessage(), e);
        }
    }

    /** The key must be the certificate's: what it signs, the certificate's public key verifies. */
    private static void requireMatch(PrivateKey key, X509Certificate certificate, ServerOptions.Tls files) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "Ed448", "EdDSA" -> key.getAlgorithm();
            default -> null; // RSASSA-PSS: left to the handshake
        };
        if (algorithm == null) return;
        byte[] probe = new byte[32];
        new SecureRandom().nextBytes(probe);
        boolean matches;
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            matches = verifier.verify(signature);
        } catch (GeneralSecurityException | RuntimeException e) {
            matches = false; // keys of different kinds
        }
        if (!matches) {
            throw new IllegalArgumentException("the private key in " + files.key()
                    + " does not belong to the first certificate in " + files.certificate());
        }
    }

    /**
     * Bytes on the port that are not TLS (plain HTTP, the {@code http://} URL by mistake): a 400 in OpenAI's shape
     * naming the scheme to use, then the connection is closed. Jetty's own answer is an HTML page and a warning in the
     * log for each one.
     */
    private static final class PlainRefused extends OptionalSslConnectionFactory {
        private static final byte[] ANSWER = answer();

        PlainRefused(SslConnectionFactory tls) {
            super(tls, null);
        }

        @Override
        protected void otherProtocol(ByteBuffer buffer, EndPoint endPoint) {
            endPoint.write(Callback.from(endPoint::close, failure -> endPoint.close()), ByteBuffer.wrap(ANSWER));
        }

        private static byte[] answer() {
            byte[] body = Json.bytes(new ApiError(
                            "This server speaks HTTPS only: send the request to its https:// URL.",
                            ApiError.INVALID_REQUEST,
                            null,
                            null)
                    .body());
            String head = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n";
            byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
            byte[] all = new byte[headBytes.length + body.length];
            System.arraycopy(headBytes, 0, all, 0, headBytes.length);
            System.arraycopy(body, 0, all, headBytes.length, body.length);
            return all;
        }
    }
}
