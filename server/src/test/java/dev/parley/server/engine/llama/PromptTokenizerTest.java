package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ChatMessage;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
        tokenizer = new PromptTokenizer(model);
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
