package dev.parley.server.engine.reasoning;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * However an answer's text is cut into tokens, each reasoning syntax's parser splits it as it splits the whole text:
 * seeded random texts made of the syntax's own markup, pieces of it, white space and words, fed whole and in random
 * pieces, after a prompt that opens the reasoning and after one that does not.
 *
 * <p>{@code -Dparley.samples.seed=N} replays a run; {@code -Dparley.samples.texts=N} sets how many texts each syntax
 * gets.
 */
class ReasoningSamplesTest {
    static final long SEED = Long.getLong("parley.samples.seed", 20261204L);
    static final int TEXTS = Integer.getInteger("parley.samples.texts", 400);

    static List<ReasoningSyntax> syntaxes() {
        return List.of(
                new ReasoningSyntax.Tags("<think>", "</think>"),
                new ReasoningSyntax.Tags("[THINK]", "[/THINK]"),
                new ReasoningSyntax.Tags("<seed:think>", "</seed:think>"),
                new ReasoningSyntax.Tags("<|channel>thought", "<channel|>"),
                new ReasoningSyntax.Tags("<|inner_prefix|>", "<|inner_suffix|>"),
                new ReasoningSyntax.Tags(
                        "<|START_THINKING|>", "<|END_THINKING|>", List.of("<|START_RESPONSE|>", "<|END_RESPONSE|>")),
                new ReasoningSyntax.Tags("<mm:think>", "</mm:think>", List.of("</mm:think>")),
                new ReasoningSyntax.Tags(
                        "Here are my reasoning steps:", "[BEGIN FINAL RESPONSE]", List.of("[END FINAL RESPONSE]")),
                new ReasoningSyntax.Tags(
                        "<|open|>think<|sep|>",
                        "<|close|>think<|sep|>",
                        List.of("<|open|>response<|sep|>", "<|close|>response<|sep|>", "<|close|>message<|sep|>")),
                new ReasoningSyntax.Channels());
    }

    @ParameterizedTest
    @MethodSource("syntaxes")
    void anyPiecesOfATextSplitAsTheWholeText(ReasoningSyntax syntax) {
        var random = new Random(SEED ^ syntax.hashCode());
        List<String> fragments = fragments(syntax);
        for (int t = 0; t < TEXTS; t++) {
            var text = new StringBuilder();
            for (int i = random.nextInt(12); i >= 0; i--) text.append(fragments.get(random.nextInt(fragments.size())));
            String promptEnd = random.nextBoolean() && syntax instanceof ReasoningSyntax.Tags tags
                    ? "<|im_start|>assistant\n" + tags.open() + "\n"
                    : "<|im_start|>assistant\n";
            String whole = split(syntax, promptEnd, List.of(text.toString()));
            List<String> pieces = new ArrayList<>();
            for (int at = 0; at < text.length(); ) {
                int end = Math.min(text.length(), at + 1 + random.nextInt(6));
                pieces.add(text.substring(at, end));
                at = end;
            }
            assertThat(split(syntax, promptEnd, pieces))
                    .as("%s after %s, in pieces %s", syntax, promptEnd, pieces)
                    .isEqualTo(whole);
        }
    }

    /** The text's reasoning and answer as the parser tells them, each piece of reasoning non-empty. */
    private static String split(ReasoningSyntax syntax, String promptEnd, List<String> pieces) {
        var split = ReasoningParserTest.parse(syntax, promptEnd, pieces);
        return "reasoning [" + split.reasoning() + "] content [" + split.content() + "]";
    }

    /** What the texts are made of: the syntax's markup whole and cut short, white space, words. */
    private static List<String> fragments(ReasoningSyntax syntax) {
        List<String> markup = new ArrayList<>();
        if (syntax instanceof ReasoningSyntax.Tags tags) {
            markup.add(tags.open());
            markup.add(tags.close());
            markup.addAll(tags.answer());
        } else {
            markup.addAll(List.of(
                    "<|channel|>analysis<|message|>",
                    "<|channel|>final<|message|>",
                    "<|start|>assistant<|channel|>final<|message|>",
                    "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>",
                    "<|end|>",
                    "<|start|>",
                    "<|channel|>",
                    "<|message|>",
                    "x".repeat(300)));
        }
        List<String> fragments = new ArrayList<>(markup);
        for (String m : markup) {
            fragments.add(m.substring(0, m.length() / 2));
            fragments.add(m.substring(1));
        }
        fragments.addAll(List.of(" ", "\n", "  \n ", "word", "Hello, world.", "<", "[", "|", "think", "é😀"));
        return fragments;
    }
}
