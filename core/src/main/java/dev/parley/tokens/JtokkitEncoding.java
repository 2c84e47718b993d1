package dev.parley.tokens;

import com.knuddels.jtokkit.api.IntArrayList;
import dev.parley.api.LoneSurrogates;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * An {@link Encoding} over JTokkit's byte-pair encoder. JTokkit refuses text holding special tokens in
 * {@code encode} and has no "allow them" mode, so that mode is done here: split at each special token,
 * encode the pieces between as ordinary text, and put the special ids in between, as tiktoken does.
 *
 * <p>Text that is not well-formed UTF-16 (a lone surrogate, as JSON's {@code "\\ud800"} gives) is read as tiktoken
 * reads it: each lone surrogate as U+FFFD. JTokkit itself would take it as {@code ?} or stray bytes, and with
 * assertions on it refuses it with an {@link AssertionError}.
 */
final class JtokkitEncoding implements Encoding {

    private final com.knuddels.jtokkit.api.Encoding jtokkit;
    private final Map<String, Integer> specialTokens;

    JtokkitEncoding(com.knuddels.jtokkit.api.Encoding jtokkit, Map<String, Integer> specialTokens) {
        this.jtokkit = jtokkit;
        this.specialTokens = specialTokens;
    }

    @Override
    public String name() {
        return jtokkit.getName();
    }

    @Override
    public int[] encode(String text, Special special) {
        return switch (special) {
            case AS_TEXT -> jtokkit.encodeOrdinary(wellFormed(text)).toArray();
            case ALLOWED -> encodeAllowingSpecial(wellFormed(text));
        };
    }

    @Override
    public int count(String text) {
        return jtokkit.countTokensOrdinary(wellFormed(text));
    }

    /**
     * {@code text} with each lone surrogate replaced by U+FFFD, what tiktoken's {@code encode} does with text it
     * cannot write as UTF-8; {@code text} itself when it has none, without copying it.
     */
    static String wellFormed(String text) {
        return LoneSurrogates.replace(text, lone -> "\ufffd");
    }

    @Override
    public String decode(int[] ids) {
        return new String(decodeBytes(ids), StandardCharsets.UTF_8);
    }

    @Override
    public byte[] decodeBytes(int[] ids) {
        try {
            return jtokkit.decodeBytes(listOf(ids));
        } catch (RuntimeException e) {
            // JTokkit reports an unknown id in its own words (or with a NullPointerException); say it plainly.
            throw new IllegalArgumentException("token id not in %s: %s".formatted(name(), firstUnknown(ids)), e);
        }
    }

    @Override
    public Map<String, Integer> specialTokens() {
        return specialTokens;
    }

    private int[] encodeAllowingSpecial(String text) {
        IntArrayList out = new IntArrayList();
        int start = 0;
        while (true) {
            int at = -1;
            String found = null;
            for (String token : specialTokens.keySet()) {
                int index = text.indexOf(token, start);
                if (index >= 0 && (at < 0 || index < at)) {
                    at = index;
                    found = token;
                }
            }
            appendOrdinary(out, text.substring(start, at < 0 ? text.length() : at));
            if (found == null) return out.toArray();
            out.add(specialTokens.get(found));
            start = at + found.length();
        }
    }

    private void appendOrdinary(IntArrayList out, String piece) {
        if (piece.isEmpty()) return;
        IntArrayList ids = jtokkit.encodeOrdinary(piece);
        for (int i = 0; i < ids.size(); i++) out.add(ids.get(i));
    }

    private String firstUnknown(int[] ids) {
        for (int id : ids) {
            try {
                jtokkit.decodeBytes(listOf(new int[] {id}));
            } catch (RuntimeException e) {
                return String.valueOf(id);
            }
        }
        return "?";
    }

    private static IntArrayList listOf(int[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        for (int id : ids) list.add(id);
        return list;
    }
}
