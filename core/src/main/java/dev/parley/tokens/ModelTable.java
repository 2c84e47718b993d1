package dev.parley.tokens;

import static dev.parley.tokens.Encodings.CL100K_BASE;
import static dev.parley.tokens.Encodings.O200K_BASE;
import static dev.parley.tokens.Encodings.P50K_BASE;
import static dev.parley.tokens.Encodings.P50K_EDIT;
import static dev.parley.tokens.Encodings.R50K_BASE;
import static dev.parley.tokens.ModelInfo.Kind.CHAT;
import static dev.parley.tokens.ModelInfo.Kind.COMPLETION;
import static dev.parley.tokens.ModelInfo.Kind.EMBEDDING;

import dev.parley.tokens.ModelInfo.Kind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The models Parley knows, as data. Encodings follow tiktoken's {@code model.py}; context windows and output
 * limits follow OpenAI's model pages; message rules follow the cookbook's {@code num_tokens_from_messages}
 * (every chat model uses the 0613 rules except gpt-3.5-turbo-0301).
 */
final class ModelTable {

    private static final int K128 = 128_000;

    /** Every known name, aliases and dated snapshots alike, in the order listed. */
    static final Map<String, ModelInfo> MODELS = build();

    /**
     * Families, most specific first, each with the listed model it is counted as: a name the table does not
     * list is counted as the first family it starts with; a {@code gpt-} family also matches anywhere in
     * the name, as {@code num_tokens_from_messages} matches {@code "gpt-4" in model}.
     */
    static final List<Map.Entry<String, String>> FAMILIES = List.of(
            Map.entry("gpt-4o-mini", "gpt-4o-mini"),
            Map.entry("chatgpt-4o", "gpt-4o"),
            Map.entry("gpt-4o", "gpt-4o"),
            Map.entry("gpt-4.1-mini", "gpt-4.1-mini"),
            Map.entry("gpt-4.1-nano", "gpt-4.1-nano"),
            Map.entry("gpt-4.1", "gpt-4.1"),
            Map.entry("gpt-4.5", "gpt-4.5-preview"),
            Map.entry("gpt-5-mini", "gpt-5-mini"),
            Map.entry("gpt-5-nano", "gpt-5-nano"),
            Map.entry("gpt-5", "gpt-5"),
            Map.entry("o1-preview", "o1-preview"),
            Map.entry("o1-mini", "o1-mini"),
            Map.entry("o1", "o1"),
            Map.entry("o3-mini", "o3-mini"),
            Map.entry("o3", "o3"),
            Map.entry("o4-mini", "o4-mini"),
            Map.entry("gpt-4-32k", "gpt-4-32k"),
            Map.entry("gpt-4-turbo", "gpt-4-turbo"),
            Map.entry("gpt-4", "gpt-4-0613"),
            Map.entry("gpt-3.5-turbo-16k", "gpt-3.5-turbo-16k-0613"),
            Map.entry("gpt-3.5-turbo-instruct", "gpt-3.5-turbo-instruct"),
            Map.entry("gpt-3.5-turbo", "gpt-3.5-turbo-0613"),
            Map.entry("gpt-35-turbo", "gpt-35-turbo"));

    /** The family {@code model} belongs to, as the listed model to count it as; null when none. */
    static Map.Entry<String, String> familyOf(String model) {
        for (var family : FAMILIES) {
            String prefix = family.getKey();
            if (model.startsWith(prefix) || (prefix.startsWith("gpt-") && model.contains(prefix))) return family;
        }
        return null;
    }

    private ModelTable() {}

    private static Map<String, ModelInfo> build() {
        var t = new LinkedHashMap<String, ModelInfo>();
        // gpt-3.5-turbo: the alias points at 0125 today.
        chat(t, CL100K_BASE, 16_385, 4_096, "gpt-3.5-turbo", "gpt-3.5-turbo-0125", "gpt-3.5-turbo-1106", "gpt-3.5");
        put(t, CHAT, CL100K_BASE, 4_096, null, MessageRules.CHATML_0301, "gpt-3.5-turbo-0301");
        chat(t, CL100K_BASE, 4_096, null, "gpt-3.5-turbo-0613");
        chat(t, CL100K_BASE, 16_385, null, "gpt-3.5-turbo-16k", "gpt-3.5-turbo-16k-0613");
        chat(t, CL100K_BASE, 16_385, 4_096, "gpt-35-turbo"); // Azure's spelling, as tiktoken knows it
        // gpt-4
        chat(t, CL100K_BASE, 8_192, 8_192, "gpt-4", "gpt-4-0314", "gpt-4-0613");
        chat(t, CL100K_BASE, 32_768, null, "gpt-4-32k", "gpt-4-32k-0314", "gpt-4-32k-0613");
        chat(
                t,
                CL100K_BASE,
                K128,
                4_096,
                "gpt-4-turbo",
                "gpt-4-turbo-2024-04-09",
                "gpt-4-turbo-preview",
                "gpt-4-1106-preview",
                "gpt-4-0125-preview",
                "gpt-4-vision-preview",
                "gpt-4-1106-vision-preview");
        // gpt-4o and later: o200k_base
        chat(t, O200K_BASE, K128, 16_384, "gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "chatgpt-4o-latest");
        chat(t, O200K_BASE, K128, 4_096, "gpt-4o-2024-05-13");
        chat(t, O200K_BASE, K128, 16_384, "gpt-4o-mini", "gpt-4o-mini-2024-07-18");
        chat(
                t,
                O200K_BASE,
                1_047_576,
                32_768,
                "gpt-4.1",
                "gpt-4.1-2025-04-14",
                "gpt-4.1-mini",
                "gpt-4.1-mini-2025-04-14",
                "gpt-4.1-nano",
                "gpt-4.1-nano-2025-04-14");
        chat(t, O200K_BASE, K128, 16_384, "gpt-4.5-preview", "gpt-4.5-preview-2025-02-27");
        chat(
                t,
                O200K_BASE,
                400_000,
                128_000,
                "gpt-5",
                "gpt-5-2025-08-07",
                "gpt-5-mini",
                "gpt-5-mini-2025-08-07",
                "gpt-5-nano",
                "gpt-5-nano-2025-08-07");
        // reasoning models
        chat(t, O200K_BASE, 200_000, 100_000, "o1", "o1-2024-12-17");
        chat(t, O200K_BASE, K128, 32_768, "o1-preview", "o1-preview-2024-09-12");
        chat(t, O200K_BASE, K128, 65_536, "o1-mini", "o1-mini-2024-09-12");
        chat(
                t,
                O200K_BASE,
                200_000,
                100_000,
                "o3",
                "o3-2025-04-16",
                "o3-mini",
                "o3-mini-2025-01-31",
                "o4-mini",
                "o4-mini-2025-04-16");
        // completion models
        completion(t, CL100K_BASE, 4_096, "gpt-3.5-turbo-instruct", "gpt-3.5-turbo-instruct-0914");
        completion(t, CL100K_BASE, 16_384, "davinci-002", "babbage-002");
        completion(t, P50K_BASE, 4_097, "text-davinci-003", "text-davinci-002");
        completion(
                t,
                R50K_BASE,
                2_049,
                "text-davinci-001",
                "text-curie-001",
                "text-babbage-001",
                "text-ada-001",
                "davinci",
                "curie",
                "babbage",
                "ada");
        completion(t, P50K_BASE, 8_001, "code-davinci-002", "code-davinci-001");
        completion(t, P50K_BASE, 2_048, "code-cushman-002", "code-cushman-001");
        completion(t, P50K_EDIT, null, "text-davinci-edit-001", "code-davinci-edit-001");
        // embeddings
        put(
                t,
                EMBEDDING,
                CL100K_BASE,
                8_191,
                null,
                MessageRules.STANDARD,
                "text-embedding-ada-002",
                "text-embedding-3-small",
                "text-embedding-3-large");
        return t;
    }

    static List<String> names() {
        return new ArrayList<>(MODELS.keySet());
    }

    private static void chat(
            Map<String, ModelInfo> t, String encoding, Integer context, Integer output, String... names) {
        put(t, CHAT, encoding, context, output, MessageRules.STANDARD, names);
    }

    private static void completion(Map<String, ModelInfo> t, String encoding, Integer context, String... names) {
        put(t, COMPLETION, encoding, context, null, MessageRules.STANDARD, names);
    }

    private static void put(
            Map<String, ModelInfo> t,
            Kind kind,
            String encoding,
            Integer context,
            Integer output,
            MessageRules rules,
            String... names) {
        for (String name : names) {
            if (t.put(name, new ModelInfo(name, encoding, context, output, kind, rules)) != null) {
                throw new IllegalStateException("listed twice: " + name);
            }
        }
    }
}
