package dev.parley.server.engine.llama;

/** Argument checks done in Java before any native call: a bad argument must never reach llama.cpp. */
final class Checks {
    private Checks() {}

    static void require(boolean condition, String format, Object... args) {
        if (!condition) {
            throw new IllegalArgumentException(format.formatted(args));
        }
    }

    static <T> T notNull(T value, String name) {
        if (value == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        return value;
    }

    static void token(int token, int vocabSize) {
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException(
                    "token id %d is outside the vocabulary 0..%d".formatted(token, vocabSize - 1));
        }
    }

    /** C strings end at the first NUL, so text with one would be cut short silently. */
    static String cString(String value, String name) {
        notNull(value, name);
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(name + " must not contain NUL characters");
        }
        return value;
    }
}
