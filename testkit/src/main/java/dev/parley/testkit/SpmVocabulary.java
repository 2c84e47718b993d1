package dev.parley.testkit;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A SentencePiece-style ("llama") vocabulary that llama.cpp can tokenize any text with: {@code <unk>},
 * {@code <s>}, {@code </s>}, the 256 byte tokens {@code <0x00>..<0xFF>} (the fallback for every character
 * without a piece), then pieces of English text scored so that llama.cpp merges them greedily.
 */
record SpmVocabulary(List<String> tokens, float[] scores, int[] types) implements Vocabulary {
    static final int UNKNOWN = 0;
    static final int BOS = 1;
    static final int EOS = 2;
    /** Specials plus byte tokens: the smallest vocabulary. */
    static final int MIN_SIZE = 3 + 256;

    private static final String SPACE = "\u2581"; // SentencePiece's word-start mark

    static SpmVocabulary of(int size) {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            tokens.add("<0x%02X>".formatted(b));
        }
        for (String piece : pieces(size - tokens.size())) {
            tokens.add(piece);
        }
        float[] scores = new float[size];
        int[] types = new int[size];
        types[UNKNOWN] = UNKNOWN_TYPE;
        types[BOS] = CONTROL;
        types[EOS] = CONTROL;
        for (int i = 3; i < MIN_SIZE; i++) {
            types[i] = BYTE;
        }
        for (int i = MIN_SIZE; i < size; i++) {
            types[i] = NORMAL;
            scores[i] = -(i - MIN_SIZE); // earlier pieces merge first
        }
        return new SpmVocabulary(List.copyOf(tokens), scores, types);
    }

    @Override
    public int size() {
        return tokens.size();
    }

    @Override
    public int tokenType(int token) {
        return types[token];
    }

    @Override
    public int eos() {
        return EOS;
    }

    @Override
    public boolean hasChatTemplate() {
        return false;
    }

    @Override
    public void writeTo(GgufFile gguf, boolean withChatTemplate) {
        gguf.string("tokenizer.ggml.model", "llama")
                .strings("tokenizer.ggml.tokens", tokens)
                .float32s("tokenizer.ggml.scores", scores)
                .int32s("tokenizer.ggml.token_type", types)
                .uint32("tokenizer.ggml.unknown_token_id", UNKNOWN)
                .uint32("tokenizer.ggml.bos_token_id", BOS)
                .uint32("tokenizer.ggml.eos_token_id", EOS)
                .bool("tokenizer.ggml.add_bos_token", true)
                .bool("tokenizer.ggml.add_eos_token", false);
    }

    /** {@code count} distinct text pieces: single characters first, then word starts, letter pairs, triples, quadruples. */
    private static Set<String> pieces(int count) {
        Set<String> pieces = new LinkedHashSet<>();
        String letters = "etaoinshrdlucmfwypvbgkjqxz";
        List<String> candidates = new ArrayList<>();
        candidates.add(SPACE);
        for (char c : letters.toCharArray()) {
            candidates.add(String.valueOf(c));
        }
        for (char c : "TOSWAHILBMDNC.,!?'\"-0123456789".toCharArray()) {
            candidates.add(String.valueOf(c));
        }
        for (String word :
                List.of("the", "and", "was", "to", "a", "he", "she", "it", "they", "said", "Once", "upon", "time")) {
            candidates.add(SPACE + word);
        }
        for (char c : letters.toCharArray()) {
            candidates.add(SPACE + c);
        }
        for (char a : letters.toCharArray()) {
            for (char b : letters.toCharArray()) {
                candidates.add("" + a + b);
            }
        }
        for (char a : letters.toCharArray()) {
            for (char b : letters.toCharArray()) {
                for (char c : letters.toCharArray()) {
                    candidates.add("" + a + b + c);
                }
            }
        }
        for (String candidate : candidates) {
            if (pieces.size() == count) {
                break;
            }
            pieces.add(candidate);
        }
        // Four-letter pieces only when asked for: a 49152-token vocabulary (a 135M Llama's) needs them.
        for (int i = 0; pieces.size() < count && i < 26 * 26 * 26 * 26; i++) {
            pieces.add("" + letters.charAt(i / (26 * 26 * 26)) + letters.charAt(i / (26 * 26) % 26)
                    + letters.charAt(i / 26 % 26) + letters.charAt(i % 26));
        }
        if (pieces.size() < count) {
            throw new IllegalArgumentException("vocabulary size must be at most " + (MIN_SIZE + pieces.size()));
        }
        return pieces;
    }
}
