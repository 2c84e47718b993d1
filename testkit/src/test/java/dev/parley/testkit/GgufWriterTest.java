package dev.parley.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file format only; that llama.cpp loads and runs these files is tested in the server module. */
class GgufWriterTest {
    @TempDir
    Path dir;

    @Test
    void writesAGgufV3HeaderWithLlamaMetadataAndAlignedTensors() throws IOException {
        Path file = GgufWriter.llama()
                .dim(64)
                .layers(2)
                .vocabSize(300)
                .chatTemplate("{{ x }}")
                .write(dir.resolve("m.gguf"));
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);

        assertThat(in.getInt()).isEqualTo(0x46554747); // "GGUF"
        assertThat(in.getInt()).isEqualTo(3);
        long tensors = in.getLong();
        long keys = in.getLong();
        assertThat(tensors).isEqualTo(3 + 2 * 9);
        Map<String, Object> metadata = new LinkedHashMap<>();
        for (long i = 0; i < keys; i++) {
            metadata.put(string(in), value(in, in.getInt()));
        }
        assertThat(metadata)
                .containsEntry("general.architecture", "llama")
                .containsEntry("llama.embedding_length", 64)
                .containsEntry("llama.block_count", 2)
                .containsEntry("tokenizer.ggml.model", "llama")
                .containsEntry("tokenizer.chat_template", "{{ x }}")
                .containsEntry("tokenizer.ggml.tokens", 300L);

        long expectedOffset = 0;
        long lastSize = 0;
        for (long i = 0; i < tensors; i++) {
            string(in);
            int dims = in.getInt();
            long count = 1;
            for (int d = 0; d < dims; d++) {
                count *= in.getLong();
            }
            assertThat(in.getInt()).isZero(); // F32
            long offset = in.getLong();
            assertThat(offset).isEqualTo(expectedOffset).isEqualTo(offset / 32 * 32);
            lastSize = count * 4;
            expectedOffset = (offset + lastSize + 31) / 32 * 32;
        }
        long dataStart = (in.position() + 31) / 32 * 32;
        assertThat(Files.size(file)).isEqualTo(dataStart + expectedOffset);
    }

    @Test
    void refusesShapesLlamaCppCannotLoad() {
        assertThatThrownBy(() -> GgufWriter.llama().dim(60).heads(8).write(dir.resolve("x.gguf")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GgufWriter.llama().heads(4).kvHeads(3).write(dir.resolve("x.gguf")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GgufWriter.llama().vocabSize(258).write(dir.resolve("x.gguf")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GgufWriter.llama()
                        .dim(48)
                        .heads(4)
                        .type(TensorType.Q8_0)
                        .write(dir.resolve("x.gguf")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void quantisesQ8_0AsGgmlDoes() {
        float[] values = new float[32];
        for (int i = 0; i < 32; i++) {
            values[i] = (i - 16) / 4f; // -4 .. 3.75
        }
        ByteBuffer out = ByteBuffer.allocate(34).order(ByteOrder.LITTLE_ENDIAN);
        TensorType.Q8_0.encode(values, out);

        assertThat(Float.float16ToFloat(out.getShort(0)))
                .isCloseTo(4f / 127, org.assertj.core.data.Offset.offset(1e-4f));
        assertThat(out.get(2)).isEqualTo((byte) -127);
        assertThat(out.get(2 + 16)).isEqualTo((byte) 0);
        assertThat(out.get(2 + 31)).isEqualTo((byte) Math.round(3.75f / (4f / 127)));
    }

    @Test
    void writesQwen3sPerHeadNormsAndAHeadSizeOfItsOwn() throws IOException {
        Gguf gguf = Gguf.read(GgufWriter.qwen3()
                .dim(64)
                .heads(4)
                .kvHeads(2)
                .headDim(32)
                .layers(1)
                .tiedOutput(true)
                .write(dir.resolve("q.gguf")));

        assertThat(gguf.metadata())
                .containsEntry("general.architecture", "qwen3")
                .containsEntry("qwen3.attention.key_length", 32)
                .containsEntry("qwen3.rope.dimension_count", 32)
                .containsEntry("qwen3.rope.freq_base", 1_000_000f);
        assertThat(gguf.tensors())
                .containsOnlyKeys(
                        "token_embd.weight",
                        "output_norm.weight",
                        "blk.0.attn_norm.weight",
                        "blk.0.attn_q.weight",
                        "blk.0.attn_k.weight",
                        "blk.0.attn_v.weight",
                        "blk.0.attn_q_norm.weight",
                        "blk.0.attn_k_norm.weight",
                        "blk.0.attn_output.weight",
                        "blk.0.ffn_norm.weight",
                        "blk.0.ffn_gate.weight",
                        "blk.0.ffn_up.weight",
                        "blk.0.ffn_down.weight");
        assertThat(gguf.tensors().get("blk.0.attn_q.weight")).containsExactly(64, 128);
        assertThat(gguf.tensors().get("blk.0.attn_k.weight")).containsExactly(64, 64);
        assertThat(gguf.tensors().get("blk.0.attn_q_norm.weight")).containsExactly(32);
        assertThat(gguf.tensors().get("blk.0.attn_output.weight")).containsExactly(128, 64);
    }

    @Test
    void writesLfm2sConvolutionLayersBesideAttentionOnes() throws IOException {
        Gguf gguf = Gguf.read(GgufWriter.lfm2().layers(3).attentionEvery(3).write(dir.resolve("l.gguf")));

        assertThat(gguf.metadata())
                .containsEntry("general.architecture", "lfm2")
                .containsEntry("lfm2.attention.head_count_kv", 3L) // one count per layer
                .containsEntry("lfm2.shortconv.l_cache", 3);
        assertThat(gguf.tensors())
                .containsKeys("token_embd_norm.weight", "blk.2.attn_q.weight", "blk.2.attn_k_norm.weight")
                .doesNotContainKeys("output_norm.weight", "blk.0.attn_q.weight", "blk.2.shortconv.conv.weight");
        assertThat(gguf.tensors().get("blk.0.shortconv.conv.weight")).containsExactly(3, 64);
        assertThat(gguf.tensors().get("blk.1.shortconv.in_proj.weight")).containsExactly(64, 192);
        assertThat(gguf.tensors().get("blk.1.shortconv.out_proj.weight")).containsExactly(64, 64);
        assertThatThrownBy(() -> GgufWriter.lfm2().layers(2).attentionEvery(3).write(dir.resolve("bad.gguf")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("attentionEvery must be 1..layers, got 3");
    }

    @Test
    void writesQwen35sLinearAttentionLayersBesideGatedAttentionOnes() throws IOException {
        Gguf gguf = Gguf.read(GgufWriter.qwen35().layers(4).write(dir.resolve("q.gguf")));

        assertThat(gguf.metadata())
                .containsEntry("general.architecture", "qwen35")
                .containsEntry("qwen35.full_attention_interval", 4)
                .containsEntry("qwen35.rope.dimension_sections", 4L)
                .containsEntry("qwen35.ssm.inner_size", 64);
        assertThat(gguf.tensors().get("blk.3.attn_q.weight"))
                .as("queries and their gate")
                .containsExactly(64, 128);
        assertThat(gguf.tensors().get("blk.0.attn_qkv.weight")).containsExactly(64, 128);
        assertThat(gguf.tensors().get("blk.0.ssm_conv1d.weight")).containsExactly(4, 128);
        assertThat(gguf.tensors().get("blk.0.ssm_out.weight")).containsExactly(64, 64);
        assertThat(gguf.tensors())
                .containsKeys("blk.2.ssm_a", "blk.2.ssm_dt.bias", "blk.3.post_attention_norm.weight")
                .doesNotContainKeys("blk.3.ssm_out.weight", "blk.0.attn_q.weight", "blk.0.ffn_norm.weight");
    }

    @Test
    void writesGemma3sPostNormsAndSlidingWindow() throws IOException {
        Gguf gguf = Gguf.read(GgufWriter.gemma3().slidingWindow(16).layers(2).write(dir.resolve("g.gguf")));

        assertThat(gguf.metadata())
                .containsEntry("general.architecture", "gemma3")
                .containsEntry("gemma3.attention.sliding_window", 16)
                .containsEntry("gemma3.attention.sliding_window_pattern", 2)
                .containsEntry("gemma3.rope.freq_base_swa", 10_000f);
        assertThat(gguf.tensors())
                .containsKeys(
                        "output.weight",
                        "blk.1.post_attention_norm.weight",
                        "blk.1.post_ffw_norm.weight",
                        "blk.1.attn_q_norm.weight",
                        "blk.1.attn_k_norm.weight");
        assertThat(gguf.tensors()).hasSize(3 + 2 * 13);
    }

    @Test
    void refusesSettingsThatDoNotFitTheArchitecture() {
        assertThatThrownBy(() -> GgufWriter.llama().slidingWindow(16).write(dir.resolve("x.gguf")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gemma3");
        assertThatThrownBy(() -> GgufWriter.gemma3()
                        .slidingWindow(256)
                        .contextLength(256)
                        .write(dir.resolve("x.gguf")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() ->
                        GgufWriter.llama().tiedOutput(true).successor(300, 301).write(dir.resolve("x.gguf")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() ->
                        GgufWriter.qwen3().headDim(20).type(TensorType.Q8_0).write(dir.resolve("x.gguf")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** A written file read back: metadata (arrays as their length) and tensor shapes. */
    record Gguf(Map<String, Object> metadata, Map<String, long[]> tensors) {
        static Gguf read(Path file) throws IOException {
            ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            in.getInt();
            in.getInt();
            long tensors = in.getLong();
            long keys = in.getLong();
            Map<String, Object> metadata = new LinkedHashMap<>();
            for (long i = 0; i < keys; i++) {
                metadata.put(string(in), value(in, in.getInt()));
            }
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (long i = 0; i < tensors; i++) {
                String name = string(in);
                long[] shape = new long[in.getInt()];
                for (int d = 0; d < shape.length; d++) shape[d] = in.getLong();
                in.getInt();
                in.getLong();
                shapes.put(name, shape);
            }
            return new Gguf(metadata, shapes);
        }
    }

    private static String string(ByteBuffer in) {
        byte[] bytes = new byte[Math.toIntExact(in.getLong())];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Scalars as Java values; arrays as their length. */
    private static Object value(ByteBuffer in, int type) {
        return switch (type) {
            case 4, 5 -> in.getInt();
            case 6 -> in.getFloat();
            case 7 -> in.get() != 0;
            case 8 -> string(in);
            case 9 -> {
                int elementType = in.getInt();
                long length = in.getLong();
                for (long i = 0; i < length; i++) {
                    value(in, elementType);
                }
                yield length;
            }
            default -> throw new IllegalStateException("unexpected GGUF type " + type);
        };
    }

    @Test
    void aVocabularyAsLargeAsA135mLlamasHasDistinctPieces() {
        SpmVocabulary vocabulary = SpmVocabulary.of(49152);
        assertThat(vocabulary.tokens()).hasSize(49152).doesNotHaveDuplicates();
        assertThat(vocabulary.tokens().getLast()).hasSize(4);
    }
}
