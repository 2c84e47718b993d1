package dev.parley.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A key pair and its self-signed certificate for {@code localhost} and {@code 127.0.0.1}, valid for two days, made by
 * the running JDK's own {@code keytool} (every JDK has it; nothing else is needed), with its PEM forms and a TLS
 * context that trusts it.
 */
public record TestCertificate(PrivateKey key, X509Certificate certificate) {

    /** Issues one for a key of {@code algorithm} ({@code RSA}, {@code EC} on P-256, {@code Ed25519}), named {@code name}. */
    public static TestCertificate issue(Path dir, String algorithm, String name)
            throws IOException, InterruptedException, GeneralSecurityException {
        Path store = dir.resolve(name + ".p12");
        String keytool =
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        var command = new ArrayList<>(List.of(
                keytool,
                "-genkeypair",
                "-alias",
                "k",
                "-keyalg",
                algorithm,
                "-dname",
                "CN=" + name,
                "-ext",
                "SAN=dns:localhost,ip:127.0.0.1",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                store.toString(),
                "-storepass",
                "secret",
                "-keypass",
                "secret"));
        if (algorithm.equals("EC")) command.addAll(List.of("-groupname", "secp256r1"));
        Process run = new ProcessBuilder(command).redirectErrorStream(true).start();
        String said = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (run.waitFor() != 0) throw new IllegalStateException("keytool failed: " + said);
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keys.load(in, "secret".toCharArray());
        }
        return new TestCertificate(
                (PrivateKey) keys.getKey("k", "secret".toCharArray()), (X509Certificate) keys.getCertificate("k"));
    }

    /** A PEM block of {@code label} around {@code der}, as OpenSSL writes one. */
    public static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der) + "\n-----END " + label + "-----\n";
    }

    public String certificatePem() {
        try {
            return pem("CERTIFICATE", certificate.getEncoded());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The key as PKCS#8, as certbot and OpenSSL 3 write keys. */
    public String keyPem() {
        return pem("PRIVATE KEY", key.getEncoded());
    }

    /** A TLS context that trusts this certificate alone. */
    public SSLContext trustingIt() throws GeneralSecurityException, IOException {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry("server", certificate);
        var factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return context;
    }
}
