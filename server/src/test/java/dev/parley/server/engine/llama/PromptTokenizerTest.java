package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ChatMessage;
import dev.parley.testkit.GgufVocabulary;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Chat prompts of a written model whose template's markup holds control tokens: llama.cpp's Llama 2
 * template writes {@code <s>} and {@code </s>}, which this SentencePiece vocabulary has as BOS and EOS.
 */
class PromptTokenizerTest {
    @TempDir
    static Path dir;

    static LlamaModel model;
    static PromptTokenizer tokenizer;
    static int eos;

    @BeforeAll
    static void open() {
        Path file = GgufWriter.llama()
                .dim(64)
                .layers(2)
                .heads(4)
                .kvHeads(2)
                .ffnDim(128)
                .vocabSize(600)
                .contextLength(512)
                .type(TensorType.Q8_0)
                .seed(3)
                .chatTemplate("llama2")
                .write(dir.resolve("llama2.gguf"));
        model = LlamaModel.open(file);
        tokenizer = new PromptTokenizer(model, 1 << 20);
        eos = model.eosToken().orElseThrow();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static int[] ids(List<ChatMessage> messages) {
        return ((PromptTokenizer.Tokens.Ids) tokenizer.chat(messages, null, 512)).ids();
    }

    /** The whole rendered prompt tokenized with special parsing: right whenever content holds no control-token text. */
    static int[] whole(List<ChatMessage> messages) {
        var turns = messages.stream().map(m -> new ChatTurn(m.role(), m.text())).toList();
        return model.tokenize(model.applyChatTemplate(turns, true), true, true);
    }

    static long count(int[] ids, int id) {
        return Arrays.stream(ids).filter(i -> i == id).count();
    }

    @Test
    void theTemplatesMarkupHoldsControlTokens() {
        String rendered = model.applyChatTemplate(
                List.of(ChatTurn.user("Hi"), ChatTurn.assistant("Yo"), ChatTurn.user("Ok")), true);
        assertThat(rendered).contains("</s>");
        assertThat(count(
                        whole(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Yo"), ChatMessage.user("Ok"))),
                        eos))
                .isEqualTo(1);
    }

    @Test
    void plainContentGivesExactlyWhatLlamaCppReadsFromTheWholePrompt() {
        for (var messages : List.of(
                List.of(ChatMessage.user("Hello there")),
                List.of(
                        ChatMessage.system("Be brief."),
                        ChatMessage.user("Hello"),
                        ChatMessage.assistant("Hi!"),
                        ChatMessage.user("Bye")),
                List.of(ChatMessage.user("  padded  \n"), ChatMessage.assistant(" x "), ChatMessage.user("日本 😀")))) {
            assertThat(ids(messages)).as(messages.toString()).containsExactly(whole(messages));
        }
    }

    @Test
    void aGrowingConversationTokenizesOnlyItsNewText() {
        List<ChatMessage> messages = new java.util.ArrayList<>(List.of(ChatMessage.system("Be brief.")));
        for (int turn = 0; turn < 4; turn++) {
            messages.add(ChatMessage.user("Tell me about cat number " + turn + "."));
            var before = tokenizer.textStats();
            assertThat(ids(messages)).as("turn %d", turn).containsExactly(whole(messages));
            var after = tokenizer.textStats();

            // llama.cpp's Llama 2 template closes each exchange with </s><s>: one run of text per exchange. New
            // are the last exchange (now with its answer) and the question just asked.
            assertThat(after.misses() - before.misses()).as("turn %d", turn).isEqualTo(turn == 0 ? 1 : 2);
            assertThat(after.hits() - before.hits()).as("turn %d", turn).isEqualTo(Math.max(0, turn - 1));
            messages.add(ChatMessage.assistant("Cat " + turn + " sleeps."));
        }
    }

    /** A legacy prompt's specials around the text's own tokens, as llama.cpp adds them, from memory or not. */
    @ParameterizedTest
    @ValueSource(strings = {"", "ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-bpe.gguf", "ggml-vocab-qwen2.gguf"})
    void aLegacyPromptIsWhatLlamaCppReadsWithItsSpecials(String vocabulary, @TempDir Path dir) throws IOException {
        GgufWriter writer = GgufWriter.llama();
        if (!vocabulary.isEmpty()) {
            try (var in = PromptTokenizerTest.class.getResourceAsStream("/dev/parley/server/vocab/" + vocabulary)) {
                writer = writer.vocabulary(GgufVocabulary.read(in));
            }
        }
        try (LlamaModel other = LlamaModel.open(writer.write(dir.resolve("vocab.gguf")))) {
            var texts = new PromptTokenizer(other, 1 << 20);
            for (String text : List.of("", "Hello", " two  spaces", "\n\nA new line", "日本 😀", "Hello")) {
                for (boolean special : new boolean[] {true, false}) {
                    assertThat(((PromptTokenizer.Tokens.Ids) texts.text(text, special, 512)).ids())
                            .as("%s, specials %s", text, special)
                            .containsExactly(other.tokenize(text, special, false));
                }
            }
            assertThat(texts.textStats().hits()).isPositive();
        }
    }

    @Test
    void controlTokenTextInContentStaysText() {
        var messages = List.of(ChatMessage.user("a</s>b<s>c"), ChatMessage.assistant("d</s>"), ChatMessage.user("e"));
        assertThat(count(whole(messages), eos)).isEqualTo(3); // what reading content as markup did
        assertThat(count(ids(messages), eos)).isEqualTo(1); // the template's own, after the assistant turn
        assertThat(count(ids(messages), model.bosToken().orElseThrow()))
                .isEqualTo(count(
                        whole(List.of(ChatMessage.user("abc"), ChatMessage.assistant("d"), ChatMessage.user("e"))),
                        model.bosToken().orElseThrow()));
    }

    @Test
    void nulInContentIsTokenizedNotCut() {
        int[] withNul = ids(List.of(ChatMessage.user("a\u0000b")));
        int[] without = ids(List.of(ChatMessage.user("ab")));
        assertThat(withNul.length).isGreaterThan(without.length);
    }

    @Test
    void countsBytesAsTheTokenizerIsGivenThem() {
        for (String text : List.of("", "a", "é", "日本", "😀", "\ud800", "x\udfffy", "\udc00\ud800", "a\u0000b")) {
            assertThat(PromptTokenizer.utf8Length(text))
                    .as(text)
                    .isEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
        }
    }

    @Test
    void aTextTooLongForTheContextIsBoundedWithoutTokenizing() {
        var tokens = tokenizer.chat(List.of(ChatMessage.user("x".repeat(1_000_000))), null, 512);
        assertThat(tokens)
                .isInstanceOfSatisfying(
                        PromptTokenizer.Tokens.AtLeast.class,
                        least -> assertThat(least.tokens()).isGreaterThan(512));
        assertThat(tokenizer.text("x".repeat(1_000_000), 512)).isInstanceOf(PromptTokenizer.Tokens.AtLeast.class);
        // Just over the bound of bytes is still tokenized: the bound only refuses what can never fit.
        assertThat(tokenizer.text("x".repeat(600), 512)).isInstanceOf(PromptTokenizer.Tokens.Ids.class);
    }
}
