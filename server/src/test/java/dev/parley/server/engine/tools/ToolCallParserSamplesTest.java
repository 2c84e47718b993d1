package dev.parley.server.engine.tools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.FunctionCall;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * However a model's text is cut into tokens, each syntax's parser reads the same words and the same calls from it as
 * from the whole text, and never fails: seeded random texts made of calls as the model writes them, pieces of them
 * (markup cut short, calls broken off, stray brackets and quotes) and words, read whole and in random pieces, with
 * a call required and with words allowed.
 *
 * <p>{@code -Dparley.samples.seed=N} replays a run; {@code -Dparley.samples.texts=N} sets how many texts each syntax
 * gets.
 */
class ToolCallParserSamplesTest {
    static final long SEED = Long.getLong("parley.samples.seed", 20261204L);
    static final int TEXTS = Integer.getInteger("parley.samples.texts", 300);

    @ParameterizedTest
    @EnumSource(ToolSyntax.class)
    void anyPiecesOfATextReadAsTheWholeText(ToolSyntax syntax) {
        var random = new Random(SEED ^ syntax.ordinal());
        List<String> fragments = fragments(syntax);
        for (int t = 0; t < TEXTS; t++) {
            var text = new StringBuilder();
            for (int i = random.nextInt(8); i >= 0; i--) text.append(fragments.get(random.nextInt(fragments.size())));
            boolean required = random.nextBoolean();
            String whole = read(syntax, required, List.of(text.toString()));
            List<String> pieces = new ArrayList<>();
            for (int at = 0; at < text.length(); ) {
                int end = Math.min(text.length(), at + 1 + random.nextInt(7));
                if (Character.isHighSurrogate(text.charAt(end - 1)) && end < text.length()) end++;
                pieces.add(text.substring(at, end));
                at = end;
            }
            assertThat(read(syntax, required, pieces))
                    .as("%s%s, in pieces %s", syntax, required ? " (required)" : "", pieces)
                    .isEqualTo(whole);
        }
    }

    /** The words and the calls (each joined from its pieces) a parser read from the pieces of a text. */
    private static String read(ToolSyntax syntax, boolean required, List<String> pieces) {
        var parser = new ToolCallParser(syntax, required, ToolCallParserTest.WEATHER);
        var out = new ToolCallParserTest.Collected();
        for (String piece : pieces) parser.append(piece, out);
        parser.finish(out);
        assertThat(parser.called()).isEqualTo(!out.pieces.isEmpty());
        return "words [" + out.text + "] calls " + out.names() + " " + out.arguments();
    }

    /** Calls as the syntax writes them, whole and cut at every few characters, with words and stray characters. */
    private static List<String> fragments(ToolSyntax syntax) {
        var weather =
                new FunctionCall("get_weather", "{\"city\": \"Paris \\\"Nord\\\"\", \"days\": 3, \"tags\": [1, {}]}");
        var now = new FunctionCall("now", "{}");
        List<String> written = new ArrayList<>();
        written.add(syntax.written(List.of(weather)));
        written.add(syntax.written(List.of(now)));
        if (syntax != ToolSyntax.LLAMA3) written.add(syntax.written(List.of(weather, now)));
        List<String> fragments = new ArrayList<>(written);
        for (String call : written) {
            for (int cut = 1; cut < call.length(); cut += 1 + call.length() / 9) {
                fragments.add(call.substring(0, cut));
                fragments.add(call.substring(cut));
            }
        }
        if (syntax.trigger() != null) fragments.add(syntax.trigger());
        fragments.addAll(List.of(" ", "\n", "Sure.", "{", "}", "[", "]", "\"", "\\", "<", ">", "é😀", "(", ")", ","));
        return fragments;
    }
}
