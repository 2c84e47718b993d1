package dev.parley.tokens;

import com.knuddels.jtokkit.PresplitBytePairEncoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The encodings by name. Each is loaded on first use (reading a vocabulary takes a few hundred
 * milliseconds) and then shared. Thread-safe.
 */
public final class Encodings {

    public static final String R50K_BASE = "r50k_base";
    public static final String P50K_BASE = "p50k_base";
    public static final String P50K_EDIT = "p50k_edit";
    public static final String CL100K_BASE = "cl100k_base";
    public static final String O200K_BASE = "o200k_base";

    private static final String ENDOFTEXT = "<|endoftext|>";
    private static final String FIM_PREFIX = "<|fim_prefix|>";
    private static final String FIM_MIDDLE = "<|fim_middle|>";
    private static final String FIM_SUFFIX = "<|fim_suffix|>";
    private static final String ENDOFPROMPT = "<|endofprompt|>";

    // tiktoken_ext/openai_public.py: the special tokens of each encoding.
    private static final Map<String, Map<String, Integer>> SPECIAL_TOKENS = Map.of(
            R50K_BASE, Map.of(ENDOFTEXT, 50256),
            P50K_BASE, Map.of(ENDOFTEXT, 50256),
            P50K_EDIT, Map.of(ENDOFTEXT, 50256, FIM_PREFIX, 50281, FIM_MIDDLE, 50282, FIM_SUFFIX, 50283),
            CL100K_BASE,
                    Map.of(
                            ENDOFTEXT,
                            100257,
                            FIM_PREFIX,
                            100258,
                            FIM_MIDDLE,
                            100259,
                            FIM_SUFFIX,
                            100260,
                            ENDOFPROMPT,
                            100276),
            O200K_BASE, Map.of(ENDOFTEXT, 199999, ENDOFPROMPT, 200018));

    private static final List<String> NAMES = List.of(O200K_BASE, CL100K_BASE, P50K_BASE, P50K_EDIT, R50K_BASE);

    private static final Map<String, Encoding> LOADED = new ConcurrentHashMap<>();

    private Encodings() {}

    /**
     * The encoding of that name, loading it on first use.
     *
     * @throws IllegalArgumentException if no encoding has that name; the message lists the known names
     */
    public static Encoding byName(String name) {
        if (!SPECIAL_TOKENS.containsKey(name)) {
            throw new IllegalArgumentException(
                    "unknown encoding '%s'; known encodings: %s".formatted(name, String.join(", ", NAMES)));
        }
        return LOADED.computeIfAbsent(name, Encodings::load);
    }

    /** The names {@link #byName} knows, newest first. */
    public static List<String> names() {
        return NAMES;
    }

    private static Encoding load(String name) {
        Map<String, Integer> specialTokens = SPECIAL_TOKENS.get(name);
        if (name.equals(O200K_BASE)) {
            // JTokkit splits o200k_base with java.util.regex; Parley's hand-written splitter cuts the same pieces
            // several times faster, and JTokkit's byte-pair encoder and vocabulary do the rest.
            return new JtokkitEncoding(
                    PresplitBytePairEncoding.o200kBase(O200kSplitter::pieceEnd, specialTokens), specialTokens);
        }
        if (name.equals(CL100K_BASE)) {
            return new JtokkitEncoding(PresplitBytePairEncoding.cl100kBase(specialTokens), specialTokens);
        }
        EncodingType type = EncodingType.fromName(name).orElseThrow();
        return new JtokkitEncoding(Registry.INSTANCE.getEncoding(type), specialTokens);
    }

    // Holder idiom: the registry is created on first load, not when this class is initialised.
    private static final class Registry {
        static final EncodingRegistry INSTANCE = com.knuddels.jtokkit.Encodings.newLazyEncodingRegistry();
    }
}
