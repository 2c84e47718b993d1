package dev.parley.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufVocabularyTest {
    @TempDir
    Path dir;

    @Test
    void readsEveryTokenizerKeyAndWritesThemUnchanged() throws IOException {
        Path source = GgufWriter.llama().vocabSize(400).chatTemplate("{{ x }}").write(dir.resolve("source.gguf"));
        GgufVocabulary vocabulary = GgufVocabulary.read(source);

        assertThat(vocabulary.size()).isEqualTo(400);
        assertThat(vocabulary.model()).isEqualTo("llama");
        assertThat(vocabulary.eos()).isEqualTo(2);
        assertThat(vocabulary.tokenType(1)).isEqualTo(Vocabulary.CONTROL);
        assertThat(vocabulary.keys())
                .contains("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.chat_template")
                .allSatisfy(key -> assertThat(key).startsWith("tokenizer."));

        Path copy = GgufWriter.qwen3().vocabulary(vocabulary).tiedOutput(true).write(dir.resolve("copy.gguf"));
        var original = GgufWriterTest.Gguf.read(source).metadata();
        var copied = GgufWriterTest.Gguf.read(copy);
        vocabulary
                .keys()
                .forEach(key -> assertThat(copied.metadata().get(key)).as(key).isEqualTo(original.get(key)));
        assertThat(copied.metadata()).containsEntry("qwen3.vocab_size", 400);
        assertThat(copied.tensors()).doesNotContainKey("output.weight");
        assertThat(copied.tensors().get("token_embd.weight")).containsExactly(64, 400);
        assertThat(GgufVocabulary.read(copy).keys()).containsExactlyElementsOf(vocabulary.keys());
    }

    @Test
    void aChatTemplateOfTheWritersOwnReplacesTheVocabularysOne() throws IOException {
        GgufVocabulary vocabulary =
                GgufVocabulary.read(GgufWriter.llama().chatTemplate("{{ x }}").write(dir.resolve("source.gguf")));

        Path model = GgufWriter.llama()
                .vocabulary(vocabulary)
                .chatTemplate("{{ y }}")
                .write(dir.resolve("m.gguf"));

        assertThat(GgufWriterTest.Gguf.read(model).metadata()).containsEntry("tokenizer.chat_template", "{{ y }}");
    }

    @Test
    void readsFromAStreamAsFromAFile() throws IOException {
        Path source = GgufWriter.llama().write(dir.resolve("source.gguf"));

        GgufVocabulary vocabulary = GgufVocabulary.read(new ByteArrayInputStream(Files.readAllBytes(source)));

        assertThat(vocabulary.keys())
                .containsExactlyElementsOf(GgufVocabulary.read(source).keys());
    }

    @Test
    void refusesWhatIsNotAGgufWithTokens() throws IOException {
        assertThatThrownBy(() -> GgufVocabulary.read(new ByteArrayInputStream("not a model".getBytes())))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] whole = Files.readAllBytes(GgufWriter.llama().write(dir.resolve("m.gguf")));
        assertThatThrownBy(() -> GgufVocabulary.read(new ByteArrayInputStream(java.util.Arrays.copyOf(whole, 2000))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ends inside");
    }
}
