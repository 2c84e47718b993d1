package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.server.demo.DemoModel;
import dev.parley.testkit.GgufVocabulary;
import dev.parley.testkit.GgufWriter;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LlamaModelTest {
    private static LlamaModel demo;

    @BeforeAll
    static void open() {
        demo = LlamaModel.open(DemoModel.path());
    }

    @AfterAll
    static void close() {
        demo.close();
    }

    @Test
    void loadsTheDemoModelWithItsVocabularyAndMetadata() {
        assertThat(demo.vocabSize()).isEqualTo(512);
        assertThat(demo.contextTrainLength()).isEqualTo(2048);
        assertThat(demo.chatTemplate()).isEmpty();
        assertThat(demo.bosToken()).hasValue(1);
        assertThat(demo.eosToken()).hasValue(2);
        assertThat(demo.isEndOfGeneration(2)).isTrue();
        assertThat(demo.isEndOfGeneration(300)).isFalse();
        assertThat(demo.metadata("general.architecture")).hasValue("llama");
        assertThat(demo.metadata("no.such.key")).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "Once upon a time",
                "Hello, world!",
                "héllo wörld",
                "日本語のテキスト",
                "emoji 😀👍🏽 and 🇩🇪 flags",
                "tabs\tand\nnewlines",
                "  leading spaces",
                ""
            })
    void tokenizesAndDetokenizesBackToTheSameText(String text) {
        assertThat(demo.detokenize(demo.tokenize(text, false, false))).isEqualTo(text);
        assertThat(demo.detokenize(demo.tokenize(text, true, false))).isEqualTo(text);
    }

    @Test
    void aLoneSurrogateIsReadAsTheReplacementCharacterNotAsAQuestionMark() {
        for (String cut : List.of("x\udfff y", "Hi \ud83d", "\ude00\ud83d")) {
            String replaced = cut.replaceAll("[\\ud800-\\udfff]", "\ufffd");
            assertThat(demo.tokenize(cut, false, false)).as(cut).isEqualTo(demo.tokenize(replaced, false, false));
            assertThat(demo.tokenize(cut, false, false))
                    .as(cut)
                    .isNotEqualTo(demo.tokenize(cut.replaceAll("[\\ud800-\\udfff]", "?"), false, false));
        }
    }

    @Test
    void addsBosOnlyWhenAskedToAddSpecialTokens() {
        assertThat(demo.tokenize("Once", true, false)).startsWith(1);
        assertThat(demo.tokenize("Once", false, false)).doesNotContain(1);
    }

    @Test
    void streamingDetokenizerNeverEmitsHalfACharacter() {
        int[] tokens = demo.tokenize("a😀b日", false, false);
        Detokenizer detokenizer = demo.detokenizer();
        List<String> pieces = new ArrayList<>();
        for (int token : tokens) {
            pieces.add(detokenizer.append(token));
        }
        pieces.add(detokenizer.finish());

        assertThat(String.join("", pieces)).isEqualTo(" a😀b日");
        assertThat(pieces).allSatisfy(piece -> assertThat(piece).doesNotContain("\uFFFD"));
        assertThat(pieces)
                .allSatisfy(piece -> assertThat(
                                piece.isEmpty() || !Character.isHighSurrogate(piece.charAt(piece.length() - 1)))
                        .isTrue());
        assertThat(pieces).contains("😀"); // held back over its four byte tokens, then emitted whole
    }

    @Test
    void streamingDetokenizerEndsAnIncompleteCharacterWithAReplacementCharacter() {
        int[] emoji = demo.tokenize("😀", false, false);
        Detokenizer detokenizer = demo.detokenizer();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < emoji.length - 1; i++) {
            text.append(detokenizer.append(emoji[i]));
        }
        assertThat(text.toString()).doesNotContain("\uFFFD");
        assertThat(detokenizer.finish()).isEqualTo("\uFFFD");
    }

    @Test
    void chatTemplateFallsBackToChatMlWhenTheModelHasNone() {
        String prompt = demo.applyChatTemplate(List.of(ChatTurn.system("Be kind."), ChatTurn.user("Hi 😀")), true);

        assertThat(prompt)
                .isEqualTo(
                        "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi 😀<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void chatTemplateUsesTheModelsOwnTemplateWhenItHasOne(@TempDir Path dir) {
        String gemma = "{{ bos_token }}{% for message in messages %}<start_of_turn>{{ message['role'] }}\n"
                + "{{ message['content'] | trim }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";
        Path file = GgufWriter.llama().chatTemplate(gemma).write(dir.resolve("gemma-template.gguf"));
        try (LlamaModel model = LlamaModel.open(file)) {
            assertThat(model.chatTemplate()).hasValue(gemma);
            assertThat(model.applyChatTemplate(List.of(ChatTurn.user("Hello"), ChatTurn.assistant("Hi!")), true))
                    .isEqualTo(
                            "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\nHi!<end_of_turn>\n<start_of_turn>model\n");
        }
    }

    @Test
    void chatTemplateFallsBackToChatMlWhenLlamaCppDoesNotKnowTheModelsTemplate(@TempDir Path dir) {
        Path file = GgufWriter.llama()
                .chatTemplate("{{ something llama.cpp has never seen }}")
                .write(dir.resolve("odd.gguf"));
        try (LlamaModel model = LlamaModel.open(file)) {
            assertThat(model.applyChatTemplate(List.of(ChatTurn.user("Hello")), false))
                    .isEqualTo("<|im_start|>user\nHello<|im_end|>\n");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "ggml-vocab-qwen2.gguf", "ggml-vocab-llama-spm.gguf"})
    void theLongestPieceIsTheLongestTokenText(String vocabulary, @TempDir Path dir) throws IOException {
        LlamaModel model = demo;
        if (!vocabulary.isEmpty()) {
            try (var in = LlamaModelTest.class.getResourceAsStream("/dev/parley/server/vocab/" + vocabulary)) {
                model = LlamaModel.open(
                        GgufWriter.llama().vocabulary(GgufVocabulary.read(in)).write(dir.resolve("vocab.gguf")));
            }
        }
        try {
            int longest = 0;
            for (int id = 0; id < model.vocabSize(); id++) longest = Math.max(longest, model.tokenBytes(id).length);

            assertThat(longest).isPositive();
            assertThat(model.longestPiece()).isEqualTo(longest);
        } finally {
            if (model != demo) model.close();
        }
    }

    /**
     * Short texts are tokenized in kept native buffers, long ones in buffers of their own: both give llama.cpp's ids for the same
     * bytes. Seeded random texts up to the longest short one, from pieces that tokenizers split differently (words,
     * digits, spaces and newlines, accents, CJK, emoji, markup that is a special token's text), with and without the
     * vocabulary's BOS/EOS and special parsing.
     */
    @ParameterizedTest
    @ValueSource(strings = {"", "ggml-vocab-qwen2.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-bpe.gguf"})
    void aShortTextGetsTheSameIdsInAKeptBufferAsInItsOwn(String vocabulary, @TempDir Path dir) throws Exception {
        LlamaModel model = vocabulary.isEmpty() ? demo : vocabularyModel(vocabulary, dir);
        String[] pieces = {
            "Once",
            " upon",
            " a",
            " time",
            " ",
            "  ",
            "\n",
            "\n\n",
            "\t",
            "12345",
            " 3.14",
            "héllo",
            " wörld",
            "日本語",
            "😀",
            "👍🏽",
            "<s>",
            "</s>",
            "<|im_end|>",
            "<|endoftext|>",
            "'s",
            "don't",
            "!?",
            "\u00a0",
            "x"
        };
        var random = new Random(7);
        try {
            for (int run = 0; run < 300; run++) {
                var text = new StringBuilder();
                int target = run < 10 ? run : random.nextInt(LlamaModel.SHORT_TEXT_BYTES + 1);
                while (true) {
                    String piece = pieces[random.nextInt(pieces.length)];
                    if (utf8Length(text + piece) > target) break;
                    text.append(piece);
                }
                byte[] utf8 = text.toString().getBytes(StandardCharsets.UTF_8);
                for (int flags = 0; flags < 4; flags++) {
                    boolean addSpecial = (flags & 1) != 0;
                    boolean parseSpecial = (flags & 2) != 0;
                    assertThat(model.tokenizeShort(utf8, addSpecial, parseSpecial))
                            .as("%s %s add %s parse %s", vocabulary, text, addSpecial, parseSpecial)
                            .isEqualTo(model.tokenizeAny(utf8, addSpecial, parseSpecial))
                            .isEqualTo(model.tokenize(text.toString(), addSpecial, parseSpecial));
                }
            }
            // Callers at once each get a buffer of their own.
            try (var callers = Executors.newFixedThreadPool(4)) {
                List<Future<?>> done = new ArrayList<>();
                for (int caller = 0; caller < 4; caller++) {
                    int seed = caller;
                    done.add(callers.submit(() -> {
                        var own = new Random(seed);
                        for (int i = 0; i < 200; i++) {
                            byte[] utf8 = pieces[own.nextInt(pieces.length)]
                                    .repeat(1 + own.nextInt(40))
                                    .getBytes(StandardCharsets.UTF_8);
                            assertThat(model.tokenizeShort(utf8, false, false))
                                    .isEqualTo(model.tokenizeAny(utf8, false, false));
                        }
                        return null;
                    }));
                }
                for (Future<?> caller : done) caller.get();
            }
            // Either side of the boundary, through the public call.
            for (int length : new int[] {LlamaModel.SHORT_TEXT_BYTES, LlamaModel.SHORT_TEXT_BYTES + 1}) {
                String text = "ab ".repeat(length).substring(0, length);
                byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
                assertThat(model.tokenize(text, true, false)).isEqualTo(model.tokenizeAny(utf8, true, false));
            }
        } finally {
            if (model != demo) model.close();
        }
    }

    private static int utf8Length(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }

    private static LlamaModel vocabularyModel(String vocabulary, Path dir) throws IOException {
        try (var in = LlamaModelTest.class.getResourceAsStream("/dev/parley/server/vocab/" + vocabulary)) {
            return LlamaModel.open(
                    GgufWriter.llama().vocabulary(GgufVocabulary.read(in)).write(dir.resolve("vocab.gguf")));
        }
    }

    @Test
    void aTokensTextIsLlamaCppsEachTimeAndTheCallersOwn() {
        try (LlamaModel fresh = LlamaModel.open(DemoModel.path())) {
            for (int id = 0; id < demo.vocabSize(); id++) {
                for (boolean special : new boolean[] {false, true}) {
                    byte[] first = demo.tokenBytes(id, special);
                    Arrays.fill(first, (byte) '#'); // what a caller writes into its copy changes nothing for others
                    // Kept after the first call, as llama.cpp gives it to a model that was never asked before.
                    assertThat(demo.tokenBytes(id, special)).isEqualTo(fresh.tokenBytes(id, special));
                }
            }
            assertThat(demo.tokenBytes(1, true)).isNotEqualTo(demo.tokenBytes(1, false)); // <s>'s text only if asked
        }
    }

    @Test
    void rejectsInvalidArgumentsBeforeCallingLlamaCpp() {
        assertThatThrownBy(() -> demo.tokenize(null, true, false)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.detokenize(new int[] {5, 512})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.detokenize(new int[] {-1})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.tokenBytes(Integer.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.isEndOfGeneration(-7)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.detokenizer().append(512)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.metadata("general.name\0evil")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.applyChatTemplate(null, true)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.applyChatTemplate(List.of(new ChatTurn(null, "x")), true))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.applyChatTemplate(List.of(ChatTurn.user("a\0b")), true))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newContext(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newContext(Generate.ONE_THREAD.withMaxSequences(0)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newContext(Generate.ONE_THREAD.withMaxSequences(65)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newContext(Generate.ONE_THREAD.withContextLength(-1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newContext(Generate.ONE_THREAD.withThreads(0)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newContext(Generate.ONE_THREAD.withKvCache(null)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void refusesFilesThatAreMissingOrNotModels(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> LlamaModel.open(dir.resolve("missing.gguf")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LlamaModel.open(dir)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LlamaModel.open(null)).isInstanceOf(IllegalArgumentException.class);
        Path garbage = Files.write(dir.resolve("garbage.gguf"), "GGUF but not really a model".getBytes());
        assertThatThrownBy(() -> LlamaModel.open(garbage)).isInstanceOf(LlamaException.class);
        byte[] model = Files.readAllBytes(DemoModel.path());
        Path truncated = Files.write(dir.resolve("truncated.gguf"), java.util.Arrays.copyOf(model, model.length / 2));
        assertThatThrownBy(() -> LlamaModel.open(truncated)).isInstanceOf(LlamaException.class);
    }

    @Test
    void aLoadedModelKeepsGeneratingWhenItsFileIsCutShort(@TempDir Path dir) throws IOException {
        Path file = Files.copy(DemoModel.path(), dir.resolve("replaced.gguf"));
        List<Integer> expected;
        try (LlamaContext context = demo.newContext(Generate.ONE_THREAD.withContextLength(64));
                Sampler sampler = demo.newSampler(SamplingOptions.greedy())) {
            expected = Generate.tokens(demo, context, sampler, "Once upon a time", 0, 8);
        }
        try (LlamaModel model = LlamaModel.open(file)) {
            // Mapped, the weights' pages would now be gone, and reading one a SIGBUS that ends the JVM.
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                channel.truncate(4096);
            }
            try (LlamaContext context = model.newContext(Generate.ONE_THREAD.withContextLength(64));
                    Sampler sampler = model.newSampler(SamplingOptions.greedy())) {
                assertThat(Generate.tokens(model, context, sampler, "Once upon a time", 0, 8))
                        .isEqualTo(expected);
            }
        }
    }

    @Test
    void loadsMemoryMappedToo() {
        try (LlamaModel copy = LlamaModel.open(
                        DemoModel.path(), ModelOptions.defaults().withMemoryMap(true));
                LlamaContext context = copy.newContext(Generate.ONE_THREAD.withContextLength(64));
                Sampler sampler = copy.newSampler(SamplingOptions.greedy())) {
            assertThat(Generate.tokens(copy, context, sampler, "Once upon a time", 0, 8))
                    .hasSize(8);
        }
    }

    @Test
    void vocabularyOnlyModelTokenizesButCannotDecode() {
        try (LlamaModel vocab =
                LlamaModel.open(DemoModel.path(), ModelOptions.defaults().withVocabularyOnly(true))) {
            assertThat(vocab.tokenize("Once upon a time", true, false))
                    .isEqualTo(demo.tokenize("Once upon a time", true, false));
            assertThatThrownBy(() -> vocab.newContext(Generate.ONE_THREAD))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void closeIsIdempotentAndClosesWhatTheModelMade() {
        LlamaModel model = LlamaModel.open(DemoModel.path());
        LlamaContext context = model.newContext(Generate.ONE_THREAD.withContextLength(64));
        Sampler sampler = model.newSampler(SamplingOptions.greedy());
        context.close();
        context.close();

        LlamaContext open = model.newContext(Generate.ONE_THREAD.withContextLength(64));
        model.close();
        model.close();
        open.close();
        sampler.close();

        assertThatThrownBy(() -> model.tokenize("x", false, false)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> open.decode(List.of(new BatchToken(1, 0, 0, true))))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> sampler.sample(open, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> model.newContext(Generate.ONE_THREAD)).isInstanceOf(IllegalStateException.class);
    }
}
