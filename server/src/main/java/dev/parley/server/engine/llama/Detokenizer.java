package dev.parley.server.engine.llama;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;

/**
 * Turns a stream of generated tokens into text without ever emitting half a character: a UTF-8 sequence
 * split across tokens (an emoji is often three or four byte tokens) is held back until it is complete.
 * Bytes that can never form valid UTF-8 become U+FFFD.
 *
 * <p>Not thread-safe: one detokenizer follows one generation. Spaces are kept as the tokens carry them;
 * nothing is stripped at the start.
 */
public final class Detokenizer {
    private final LlamaModel model;
    private final CharsetDecoder decoder = UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(16); // write mode: bytes not yet decoded

    private final boolean special;

    Detokenizer(LlamaModel model, boolean special) {
        this.model = model;
        this.special = special;
    }

    /** Adds a token; returns the text it completes, possibly empty. */
    public String append(int token) {
        byte[] bytes = model.tokenBytes(token, special);
        if (pending.remaining() < bytes.length) {
            ByteBuffer larger = ByteBuffer.allocate(pending.position() + bytes.length + 16);
            pending.flip();
            larger.put(pending);
            pending = larger;
        }
        pending.put(bytes);
        return decode(false);
    }

    /** Ends the stream: returns what is still held back, an incomplete character as U+FFFD, and resets. */
    public String finish() {
        String rest = decode(true);
        CharBuffer tail = CharBuffer.allocate(4);
        decoder.flush(tail);
        decoder.reset();
        return rest + tail.flip();
    }

    private String decode(boolean endOfInput) {
        pending.flip();
        // Each byte yields at most one char, or two for a supplementary character's four bytes.
        CharBuffer out = CharBuffer.allocate(pending.remaining() + 2);
        decoder.decode(pending, out, endOfInput);
        pending.compact();
        return out.flip().toString();
    }
}
