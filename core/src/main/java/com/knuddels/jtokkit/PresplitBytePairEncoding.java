package com.knuddels.jtokkit;

import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.GptBytePairEncodingParams;
import com.knuddels.jtokkit.api.IntArrayList;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * JTokkit's byte-pair encoder and ranks fed by a pre-tokenizer written in Java instead of a regex, with long
 * pieces merged by {@link LongPieceMerger}.
 *
 * <p>JTokkit's public API takes a {@link java.util.regex.Pattern} for the pre-tokenizer; only its own
 * {@code cl100k_base} bypasses the regex, by overriding the package-private {@code encodeOrdinaryInternal}.
 * Parley does the same for {@code o200k_base}, and for {@code cl100k_base} with JTokkit's own splitter, which is
 * why these classes live in JTokkit's package: they depend on JTokkit's internals as of the version Parley pins
 * (1.1.0), and Parley's tests compare their token ids with JTokkit's own encodings, so a JTokkit upgrade that
 * changes them fails the build. The vocabulary, the merges of pieces under {@value LongPieceMerger#LONG} bytes,
 * decoding and special tokens are JTokkit's, unchanged.
 */
public final class PresplitBytePairEncoding extends GptBytePairEncoding {

    /** A pre-tokenizer: the end of the piece of {@code text} that starts at {@code start}. */
    @FunctionalInterface
    public interface Splitter {
        int pieceEnd(String text, int start);
    }

    private final Splitter splitter; // null: JTokkit's cl100k_base splitter

    private PresplitBytePairEncoding(GptBytePairEncodingParams params, Splitter splitter) {
        super(params);
        this.splitter = splitter;
    }

    /**
     * {@code o200k_base}, JTokkit's vocabulary bundled in its jar, split by {@code splitter} (which must cut
     * text exactly as tiktoken's {@code o200k_base} pattern does).
     */
    public static Encoding o200kBase(Splitter splitter, Map<String, Integer> specialTokens) {
        Map<byte[], Integer> ranks = EncodingFactory.loadMergeableRanks("/com/knuddels/jtokkit/o200k_base.tiktoken");
        return new PresplitBytePairEncoding(
                new GptBytePairEncodingParams("o200k_base", null, ranks, specialTokens), splitter);
    }

    /** {@code cl100k_base}, JTokkit's vocabulary bundled in its jar, split by JTokkit's own splitter. */
    public static Encoding cl100kBase(Map<String, Integer> specialTokens) {
        Map<byte[], Integer> ranks = EncodingFactory.loadMergeableRanks("/com/knuddels/jtokkit/cl100k_base.tiktoken");
        return new PresplitBytePairEncoding(
                new GptBytePairEncodingParams("cl100k_base", null, ranks, specialTokens), null);
    }

    @Override
    int encodeOrdinaryInternal(String text, int maxTokenCount, boolean keepEncodings, IntArrayList out) {
        IntArrayList scratch = new IntArrayList(); // the encoder's working space, reused for every piece
        if (splitter == null) {
            int[] count = {0};
            Cl100kParser.split(text, piece -> {
                count[0] += LongPieceMerger.addTokensAndGetCount(
                        encoder, maxTokenCount, keepEncodings, piece.toArray(), out, scratch);
                return count[0] >= maxTokenCount; // true: no more pieces
            });
            return count[0];
        }
        int count = 0;
        int length = text.length();
        for (int start = 0; start < length && count < maxTokenCount; ) {
            int end = splitter.pieceEnd(text, start);
            count += LongPieceMerger.addTokensAndGetCount(
                    encoder, maxTokenCount, keepEncodings, utf8(text, start, end), out, scratch);
            start = end;
        }
        return count;
    }

    /** The UTF-8 bytes of {@code text[start, end)}, as {@code String.getBytes(UTF_8)} gives them. */
    private static byte[] utf8(String text, int start, int end) {
        int length = end - start;
        for (int i = start; i < end; i++) {
            if (text.charAt(i) >= 0x80) return text.substring(start, end).getBytes(StandardCharsets.UTF_8);
        }
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte) text.charAt(start + i);
        return bytes;
    }
}
