package dev.parley.server;

import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.nio.file.Path;

/** Test fixture: a random-weight model slow enough per token that a long answer takes seconds to generate. */
public final class SlowModel {
    private SlowModel() {}

    /** Writes it as {@code slow.gguf} in {@code dir}. */
    public static Path write(Path dir) {
        return GgufWriter.llama()
                .dim(256)
                .layers(4)
                .heads(4)
                .kvHeads(2)
                .ffnDim(512)
                .vocabSize(600)
                .contextLength(4096)
                .type(TensorType.Q8_0)
                .seed(6)
                .write(dir.resolve("slow.gguf"));
    }
}
