package dev.parley.server.http;

import java.security.SecureRandom;
import java.util.HexFormat;

/** Random identifiers in OpenAI's shapes: {@code chatcmpl-…}, {@code cmpl-…}, {@code req_…}. Thread-safe. */
final class Ids {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] ALPHABET =
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

    private Ids() {}

    static String chatCompletion() {
        return "chatcmpl-" + base62(29);
    }

    static String completion() {
        return "cmpl-" + base62(29);
    }

    static String request() {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        return "req_" + HexFormat.of().formatHex(bytes);
    }

    private static String base62(int length) {
        char[] chars = new char[length];
        for (int i = 0; i < length; i++) chars[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
        return new String(chars);
    }
}
