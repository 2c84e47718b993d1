package dev.parley.bench;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A fixed text of mixed English prose, source code and non-Latin scripts with emoji, generated from a fixed
 * seed so that every run (and every machine) tokenizes the same bytes.
 */
final class Corpus {

    static final int TARGET_CHARS = 64 * 1024;

    private static final String[] WORDS =
            ("the of and to in is that for it as was with be by on not he this are or his from at which but have an "
                            + "they you were her she there been one all we their has would when if so no will more can who about "
                            + "tokenizer streaming request response latency throughput model context window budget limit retry "
                            + "completion message assistant system user function argument schema encoding vocabulary merge rank")
                    .split(" ");

    private static final String[] CODE = {
        "public static int count(List<ChatMessage> messages) {\n    return messages.stream().mapToInt(this::count).sum();\n}\n",
        "for (int i = 0; i < ids.length; i++) {\n\tsum += ranks.getOrDefault(ids[i], -1);\n}\n",
        "def encode(text: str) -> list[int]:\n    return [ranks[b] for b in pieces(text)]  # TODO: cache\n",
        "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi!\"}], \"max_tokens\": 256}\n",
        "SELECT id, name FROM users WHERE created_at > '2024-01-01' ORDER BY id DESC LIMIT 100;\n",
    };

    private static final String[] UNICODE = {
        "我能吞下玻璃而不伤身体。",
        "お誕生日おめでとう",
        "Привет, как дела?",
        "Γειά σου Κόσμε",
        "مرحبا بالعالم",
        "naïve café — “quoted” … ½ €",
        "emoji 👋🌍🍣🫡 👨‍👩‍👧",
        "한국어 텍스트입니다",
        "क्षत्रिय देवनागरी",
    };

    private Corpus() {}

    static String text() {
        var random = new SplittableRandom(20240718);
        var out = new StringBuilder(TARGET_CHARS + 256);
        while (out.length() < TARGET_CHARS) {
            int kind = random.nextInt(10);
            if (kind < 6) {
                int words = 8 + random.nextInt(30);
                for (int i = 0; i < words; i++) {
                    String word = WORDS[random.nextInt(WORDS.length)];
                    out.append(i == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : word);
                    out.append(i == words - 1 ? ". " : random.nextInt(12) == 0 ? ", " : " ");
                }
                if (random.nextInt(4) == 0) out.append("\n\n");
            } else if (kind < 8) {
                out.append('\n').append(CODE[random.nextInt(CODE.length)]).append('\n');
            } else {
                out.append(UNICODE[random.nextInt(UNICODE.length)]).append(' ');
                out.append(random.nextInt(100_000)).append(' ');
            }
        }
        return out.toString();
    }

    /**
     * The corpus cut into chat-sized messages, 40 to 1,200 characters each (never inside a character), as a
     * gateway or a batch estimate counts them one at a time.
     */
    static List<String> messages() {
        String text = text();
        var random = new SplittableRandom(20240719);
        List<String> messages = new ArrayList<>();
        for (int start = 0; start < text.length(); ) {
            int end = Math.min(text.length(), start + 40 + random.nextInt(1_160));
            if (end < text.length() && Character.isLowSurrogate(text.charAt(end))) end++;
            messages.add(text.substring(start, end));
            start = end;
        }
        return messages;
    }

    static int utf8Bytes(List<String> texts) {
        return texts.stream()
                .mapToInt(t -> t.getBytes(StandardCharsets.UTF_8).length)
                .sum();
    }

    public static void main(String[] args) {
        String text = text();
        System.out.println(text.length() + " chars, " + text.getBytes(StandardCharsets.UTF_8).length + " UTF-8 bytes");
    }
}
