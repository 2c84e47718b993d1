package dev.parley.server.http;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/** Random identifiers in OpenAI's shapes: {@code chatcmpl-…}, {@code cmpl-…}, {@code req_…}, {@code resp_…}. Thread-safe. */
final class Ids {
    // Ids name requests and answers and grant nothing (a kept response is found only with the key that made it):
    // they need to be unique, not unguessable. A SecureRandom
    // drew under one process-wide lock (and an answer's id drew once per character): 1.7% of a relayed request's
    // processor time at 64 callers.
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
        var random = ThreadLocalRandom.current();
        return "req_" + HexFormat.of().toHexDigits(random.nextLong())
                + HexFormat.of().toHexDigits(random.nextLong());
    }

    /**
     * A Responses API id: {@code prefix} ({@code resp_}, {@code msg_}, {@code fc_}, {@code rs_}) and 48 hex digits, as
     * OpenAI's are.
     */
    static String response(String prefix) {
        var random = ThreadLocalRandom.current();
        var hex = HexFormat.of();
        return prefix
                + hex.toHexDigits(random.nextLong())
                + hex.toHexDigits(random.nextLong())
                + hex.toHexDigits(random.nextLong());
    }

    private static String base62(int length) {
        var random = ThreadLocalRandom.current();
        char[] chars = new char[length];
        for (int i = 0; i < length; i++) chars[i] = ALPHABET[random.nextInt(ALPHABET.length)];
        return new String(chars);
    }
}
