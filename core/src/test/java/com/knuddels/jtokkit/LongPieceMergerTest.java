package com.knuddels.jtokkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Long pieces are merged as tiktoken merges them: the same token ids as a plain implementation of tiktoken's
 * loop (the lowest-ranked adjacent pair, leftmost first, until none is in the vocabulary) and as JTokkit's own
 * encoding, over words of thousands of bytes drawn from small and large alphabets.
 */
class LongPieceMergerTest {
    private static final Map<String, String> FILES = Map.of(
            "cl100k_base", "/com/knuddels/jtokkit/cl100k_base.tiktoken",
            "o200k_base", "/com/knuddels/jtokkit/o200k_base.tiktoken",
            "p50k_base", "/com/knuddels/jtokkit/p50k_base.tiktoken",
            "r50k_base", "/com/knuddels/jtokkit/r50k_base.tiktoken");

    @ParameterizedTest
    @ValueSource(strings = {"cl100k_base", "o200k_base", "p50k_base", "r50k_base"})
    void noTokenIsAsLongAsALongPiece(String name) {
        int longest = EncodingFactory.loadMergeableRanks(FILES.get(name)).keySet().stream()
                .mapToInt(token -> token.length)
                .max()
                .orElseThrow();
        assertThat(longest).isLessThan(LongPieceMerger.LONG);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cl100k_base", "o200k_base"})
    void mergesLongWordsAsTiktokenDoes(String name) {
        Map<ByteBuffer, Integer> ranks = new HashMap<>();
        EncodingFactory.loadMergeableRanks(FILES.get(name))
                .forEach((token, rank) -> ranks.put(ByteBuffer.wrap(token), rank));
        PresplitBytePairEncoding encoding = (PresplitBytePairEncoding)
                (name.equals("cl100k_base")
                        ? PresplitBytePairEncoding.cl100kBase(Map.of())
                        : PresplitBytePairEncoding.o200kBase((text, start) -> text.length(), Map.of()));
        Encoding jtokkit = Encodings.newDefaultEncodingRegistry()
                .getEncoding(EncodingType.fromName(name).orElseThrow());
        List<String> alphabets = List.of("a", "ab", "abcdefghijklmnopqrstuvwxyz", "ABCabc", "абвгдежз", "日本語の文字列", "é");
        var random = new SplittableRandom(11);
        for (int round = 0; round < 60; round++) {
            String alphabet = alphabets.get(round % alphabets.size());
            int length = LongPieceMerger.LONG + random.nextInt(2500);
            StringBuilder word = new StringBuilder();
            while (word.toString().getBytes(StandardCharsets.UTF_8).length < length) {
                word.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            byte[] bytes = word.toString().getBytes(StandardCharsets.UTF_8);
            IntArrayList merged = new IntArrayList();
            int count = LongPieceMerger.addTokensAndGetCount(
                    encoding.encoder, Integer.MAX_VALUE, true, bytes, merged, new IntArrayList());
            List<Integer> expected = tiktoken(bytes, ranks);
            assertThat(merged.boxed())
                    .as("%s, %d bytes of %s", name, bytes.length, alphabet)
                    .isEqualTo(expected);
            assertThat(count).isEqualTo(expected.size());
            if (!alphabet.equals("é")) { // a run of é is cut into pieces by the pattern; a letter word is one
                assertThat(jtokkit.encodeOrdinary(word.toString()).boxed()).isEqualTo(expected);
            }
        }
    }

    /**
     * tiktoken's {@code _byte_pair_merge} as it is written: the parts' starts and their pair ranks in arrays, the
     * leftmost lowest rank found by a scan and merged, its neighbours' ranks computed again.
     */
    private static List<Integer> tiktoken(byte[] bytes, Map<ByteBuffer, Integer> ranks) {
        int parts = bytes.length + 1;
        int[] start = new int[parts];
        int[] rank = new int[parts];
        for (int i = 0; i < parts; i++) {
            start[i] = i;
            rank[i] = i + 2 <= bytes.length ? rank(bytes, i, i + 2, ranks) : Integer.MAX_VALUE;
        }
        while (true) {
            int best = -1;
            for (int i = 0; i < parts - 1; i++)
                if (rank[i] != Integer.MAX_VALUE && (best < 0 || rank[i] < rank[best])) best = i;
            if (best < 0) break;
            if (best > 0)
                rank[best - 1] =
                        best + 2 < parts ? rank(bytes, start[best - 1], start[best + 2], ranks) : Integer.MAX_VALUE;
            rank[best] = best + 3 < parts ? rank(bytes, start[best], start[best + 3], ranks) : Integer.MAX_VALUE;
            System.arraycopy(start, best + 2, start, best + 1, parts - best - 2);
            System.arraycopy(rank, best + 2, rank, best + 1, parts - best - 2);
            parts--;
        }
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i + 1 < parts; i++) ids.add(rank(bytes, start[i], start[i + 1], ranks));
        return ids;
    }

    private static int rank(byte[] bytes, int from, int to, Map<ByteBuffer, Integer> ranks) {
        return ranks.getOrDefault(ByteBuffer.wrap(bytes, from, to - from), Integer.MAX_VALUE);
    }
}
