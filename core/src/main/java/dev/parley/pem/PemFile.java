package dev.parley.pem;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The blocks of a PEM file ({@code -----BEGIN LABEL-----}, base64, {@code -----END LABEL-----}), as OpenSSL, certbot
 * and Kubernetes write certificates and keys; text around the blocks is ignored. Failures are {@link
 * IllegalArgumentException}s that name the file.
 */
public final class PemFile {
    private PemFile() {}

    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----", Pattern.DOTALL);

    /** One block: its label ({@code CERTIFICATE}, {@code PRIVATE KEY}, …) and its DER bytes. */
    public record Block(String label, byte[] der) {}

    /**
     * The most a PEM file is read to: a certificate chain or a key takes a few kilobytes, a bundle of every public
     * authority a few hundred. A file named by mistake (a model) is refused, not read into memory.
     */
    static final long MOST_BYTES = 16 << 20;

    /** The blocks of {@code file}, in their order. */
    public static List<Block> blocks(Path file) {
        String text;
        try {
            if (Files.size(file) > MOST_BYTES)
                throw new IllegalArgumentException(file + " is not a PEM file: it holds over 16 MiB");
            text = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            String why = switch (e) {
                case java.nio.file.NoSuchFileException missing -> "no such file";
                case java.nio.file.AccessDeniedException denied -> "permission denied";
                default -> e.getMessage();
            };
            throw new IllegalArgumentException("cannot read " + file + ": " + why);
        }
        List<Block> blocks = new ArrayList<>();
        Matcher matcher = BLOCK.matcher(text);
        while (matcher.find()) {
            try {
                blocks.add(new Block(
                        matcher.group(1),
                        Base64.getMimeDecoder().decode(matcher.group(2).trim())));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "the " + matcher.group(1) + " block in " + file + " is not valid base64");
            }
        }
        return blocks;
    }

    /**
     * The certificates of {@code file} ({@code CERTIFICATE} blocks), in their order: for a server, its own first,
     * then the chain to its issuer; for a client, the authorities it trusts.
     */
    public static List<X509Certificate> certificates(Path file) {
        List<X509Certificate> certificates = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (Block block : blocks(file)) {
                if (!block.label().equals("CERTIFICATE")) continue;
                certificates.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(block.der())));
            }
        } catch (CertificateException e) {
            throw new IllegalArgumentException("a certificate in " + file + " cannot be read: " + e.getMessage());
        }
        if (certificates.isEmpty())
            throw new IllegalArgumentException(file + " holds no PEM certificate (BEGIN CERTIFICATE)");
        return certificates;
    }
}
