package dev.parley.client;

import dev.parley.pem.PemFile;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** The certificates of a PEM file as the only ones a client trusts ({@link ClientOptions#caCertificates}). */
public final class CaCertificates {
    private CaCertificates() {}

    /**
     * A TLS context that trusts the certificates in {@code pemFile} alone.
     *
     * @throws IllegalArgumentException naming the file, when it cannot be read or holds no certificate
     */
    public static SSLContext trusting(Path pemFile) {
        List<X509Certificate> certificates = PemFile.certificates(pemFile);
        try {
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            int i = 0;
            for (X509Certificate certificate : certificates) trusted.setCertificateEntry("ca-" + i++, certificate);
            var factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("the JDK cannot trust certificates it read: " + e.getMessage(), e);
        }
    }
}
