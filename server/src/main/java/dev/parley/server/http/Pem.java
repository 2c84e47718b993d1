package dev.parley.server.http;

import dev.parley.pem.PemFile;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.List;

/**
 * Private keys as PEM files hold them ({@link PemFile}): what certbot, {@code openssl} and Kubernetes' TLS secrets
 * write. A key is read in any of the three forms they write, unencrypted: PKCS#8 ({@code PRIVATE KEY}: RSA, EC,
 * Ed25519, Ed448), PKCS#1 ({@code RSA PRIVATE KEY}) and SEC1 ({@code EC PRIVATE KEY}, a named curve). Failures are
 * {@link IllegalArgumentException}s that name the file and say what to do.
 */
final class Pem {
    private Pem() {}

    /** The private key of {@code file}: its first block that is one. */
    static PrivateKey privateKey(Path file) {
        for (PemFile.Block block : PemFile.blocks(file)) {
            switch (block.label()) {
                case "PRIVATE KEY" -> {
                    return pkcs8(block.der(), file);
                }
                case "RSA PRIVATE KEY" -> {
                    return pkcs8(wrap(RSA_ALGORITHM, block.der()), file);
                }
                case "EC PRIVATE KEY" -> {
                    byte[] algorithm;
                    try {
                        algorithm = ecAlgorithm(block.der(), file);
                    } catch (Der.Malformed e) {
                        throw new IllegalArgumentException("the EC private key in " + file + " is not well-formed");
                    }
                    return pkcs8(wrap(algorithm, block.der()), file);
                }
                case "ENCRYPTED PRIVATE KEY" ->
                    throw new IllegalArgumentException("the private key in " + file + " is encrypted; write it"
                            + " unencrypted, readable by the server's user only (openssl pkcs8 -in KEY -out"
                            + " plain.pem)");
                default -> {
                    // EC PARAMETERS before an EC key, certificates in a file holding both: not the key
                }
            }
        }
        throw new IllegalArgumentException(file + " holds no PEM private key (BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY"
                + " or BEGIN EC PRIVATE KEY)");
    }

    private static PrivateKey pkcs8(byte[] der, Path file) {
        for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException | RuntimeException e) {
                // another algorithm's key
            }
        }
        throw new IllegalArgumentException(
                "the private key in " + file + " is not an RSA, EC, Ed25519 or Ed448 key" + " this server can read");
    }

    // DER: what the two older forms need to be read as PKCS#8.

    /** AlgorithmIdentifier of rsaEncryption (1.2.840.113549.1.1.1) with its NULL parameters. */
    private static final byte[] RSA_ALGORITHM = der(
            0x30,
            concat(
                    der(0x06, new byte[] {0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01}),
                    der(0x05, new byte[0])));

    /** The OID id-ecPublicKey (1.2.840.10045.2.1). */
    private static final byte[] EC_PUBLIC_KEY =
            der(0x06, new byte[] {0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 2, 1});

    /** The AlgorithmIdentifier of a SEC1 key: id-ecPublicKey with the curve its [0] parameters name. */
    private static byte[] ecAlgorithm(byte[] sec1, Path file) {
        Der key = new Der(sec1);
        Der fields = key.enter(0x30);
        while (fields.hasMore()) {
            int tag = fields.peekTag();
            byte[] value = fields.next();
            if (tag == 0xa0) {
                Der parameters = new Der(value);
                if (parameters.hasMore() && parameters.peekTag() == 0x06)
                    return der(0x30, concat(EC_PUBLIC_KEY, parameters.whole()));
            }
        }
        throw new IllegalArgumentException("the EC private key in " + file + " names no curve; write it as PKCS#8"
                + " (openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem)");
    }

    /** A PrivateKeyInfo: version 0, the algorithm, and the key in the older form as its octets. */
    private static byte[] wrap(byte[] algorithm, byte[] key) {
        return der(0x30, concat(der(0x02, new byte[] {0}), algorithm, der(0x04, key)));
    }

    static byte[] der(int tag, byte[] value) {
        var out = new ByteArrayOutputStream();
        out.write(tag);
        int length = value.length;
        if (length < 0x80) {
            out.write(length);
        } else {
            int bytes = (32 - Integer.numberOfLeadingZeros(length) + 7) / 8;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) out.write(length >>> (8 * i));
        }
        out.writeBytes(value);
        return out.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] part : parts) out.writeBytes(part);
        return out.toByteArray();
    }

    /** A reader of DER elements, one after another, within bounds: a malformed key is an error, never a crash. */
    static final class Der {
        private final byte[] bytes;
        private int at;
        private final int end;

        Der(byte[] bytes) {
            this(bytes, 0, bytes.length);
        }

        private Der(byte[] bytes, int from, int end) {
            this.bytes = bytes;
            this.at = from;
            this.end = end;
        }

        boolean hasMore() {
            return at < end;
        }

        int peekTag() {
            need(1);
            return bytes[at] & 0xff;
        }

        /** All that is left, elements and their headers as they are. */
        byte[] whole() {
            return java.util.Arrays.copyOfRange(bytes, at, end);
        }

        /** The next element's value; the reader moves past it. */
        byte[] next() {
            int[] span = span();
            at = span[1];
            return java.util.Arrays.copyOfRange(bytes, span[0], span[1]);
        }

        /** A reader of the next element's value, which must have {@code tag}; this reader moves past it. */
        Der enter(int tag) {
            if (peekTag() != tag) throw malformed();
            int[] span = span();
            at = span[1];
            return new Der(bytes, span[0], span[1]);
        }

        /** Where the next element's value starts and ends. */
        private int[] span() {
            need(2);
            int i = at + 1;
            int length = bytes[i++] & 0xff;
            if (length >= 0x80) {
                int count = length & 0x7f;
                if (count == 0 || count > 3) throw malformed();
                need(2 + count);
                length = 0;
                for (int k = 0; k < count; k++) length = (length << 8) | (bytes[i++] & 0xff);
            }
            if (length > end - i) throw malformed();
            return new int[] {i, i + length};
        }

        private void need(int count) {
            if (end - at < count) throw malformed();
        }

        private static Malformed malformed() {
            return new Malformed();
        }

        /** Bytes that are not DER where DER was expected. */
        static final class Malformed extends IllegalArgumentException {
            Malformed() {
                super("not well-formed DER");
            }
        }
    }
}
