package dev.parley.tokens;

import java.util.Map;

/**
 * One of tiktoken's byte-pair encodings ({@code cl100k_base}, {@code o200k_base}, ...), exact to tiktoken.
 *
 * <p>Text that looks like a special token ({@code <|endoftext|>}) is ordinary text unless the caller passes
 * {@link Special#ALLOWED}: this is tiktoken's {@code encode_ordinary}, and it is the safe default for
 * counting what a user typed. Obtain instances from {@link Encodings#byName}. Thread-safe.
 */
public interface Encoding {

    /** How text that spells a special token is treated. */
    enum Special {
        /** As ordinary text, like tiktoken's {@code encode_ordinary}. */
        AS_TEXT,
        /** As the special token, like tiktoken's {@code encode(text, allowed_special="all")}. */
        ALLOWED
    }

    /** tiktoken's name for the encoding, e.g. {@code cl100k_base}. */
    String name();

    /** The token ids of {@code text}, special tokens spelled in it counted as ordinary text. */
    default int[] encode(String text) {
        return encode(text, Special.AS_TEXT);
    }

    int[] encode(String text, Special special);

    /** The number of tokens of {@code text}, special tokens spelled in it counted as ordinary text. */
    int count(String text);

    /**
     * The text of {@code ids}. Like tiktoken's {@code decode}, bytes that do not form valid UTF-8 (a token
     * list cut inside a character) become U+FFFD.
     *
     * @throws IllegalArgumentException if an id is not in the encoding's vocabulary
     */
    String decode(int[] ids);

    /** The raw bytes of {@code ids}; lossless even where a character spans tokens. */
    byte[] decodeBytes(int[] ids);

    /** The special tokens of the encoding and their ids, as tiktoken defines them. */
    Map<String, Integer> specialTokens();
}
