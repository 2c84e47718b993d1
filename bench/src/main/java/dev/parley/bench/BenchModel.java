package dev.parley.bench;

import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The model the serving benchmarks run: a GGUF of the caller's, or a random-weight model of a 135M-parameter
 * Llama's shape (dim 576, 30 layers, 9 heads, 3 KV heads, FFN 1536, 49152 tokens, 2048 context, Q8_0)
 * written with the testkit's GgufWriter. Its output layer favours text pieces, so it keeps writing readable
 * nonsense and rarely ends a stream early.
 */
final class BenchModel {
    /** Sixteen prompts, one per stream; the same texts go to every server and, tokenized, to the library. */
    static final List<String> PROMPTS = List.of(
            "Once upon a time",
            "The little dog",
            "Lily went to the park",
            "Tom had a red ball",
            "The sun was hot",
            "A bird sang",
            "Mom made a cake",
            "The cat sat",
            "A boy found a stick",
            "The rain fell on the roof",
            "Ben and Sue played",
            "The old tree was tall",
            "A fish swam in the pond",
            "Sam lost his hat",
            "The moon came out",
            "Anna liked to draw");

    private BenchModel() {}

    /** The file after {@code --model} in {@code args}, or a 135M-shape model written to a temporary file deleted on exit. */
    static Path fromArgs(String[] args) throws IOException {
        for (int i = 0; i + 1 < args.length; i++) if (args[i].equals("--model")) return Path.of(args[i + 1]);
        Path file = Files.createTempFile("parley-bench-135m-", ".gguf");
        file.toFile().deleteOnExit();
        long start = System.nanoTime();
        GgufWriter.llama()
                .dim(576)
                .layers(30)
                .heads(9)
                .kvHeads(3)
                .ffnDim(1536)
                .vocabSize(49152)
                .contextLength(2048)
                .type(TensorType.Q8_0)
                .seed(1)
                .name("parley-bench-135m")
                .write(file);
        System.out.printf(
                "wrote a 135M-shape Q8_0 model (%d MB) in %.1f s%n",
                Files.size(file) >> 20, (System.nanoTime() - start) / 1e9);
        return file;
    }
}
