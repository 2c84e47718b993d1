package dev.parley.server.engine.llama;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What picking one token costs the scheduler thread, per vocabulary size: the most likely token, a draw at
 * temperature 1, a draw in a {@code top_p} 0.9 nucleus, and, as the baseline, the draw as it was written before
 * {@link SoftmaxWeights} ({@link Math#exp} per token into doubles, then a cumulative walk). In this package because
 * the sampler is package-private. Not a test: it prints microseconds per token.
 *
 * <pre>
 * ./mvnw -B -q -Pbench -pl bench -am package -DskipTests
 * java -cp bench/target/benchmarks.jar org.openjdk.jmh.Main SamplerBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SamplerBenchmark {

    /** A small model's vocabulary (SmolLM), Qwen's. */
    @Param({"49152", "151936"})
    public int vocabulary;

    private float[] logits;
    private float[] peaked;
    private TokenSampler greedy;
    private TokenSampler draw;
    private TokenSampler nucleus;
    private double[] mathExpWeights;
    private int[] heap;
    private float[] heapWeights;
    private double[] heapBlocks;
    private final SplittableRandom random = new SplittableRandom(7);

    @Setup
    public void setUp() {
        SplittableRandom values = new SplittableRandom(vocabulary);
        logits = new float[vocabulary];
        for (int i = 0; i < vocabulary; i++) logits[i] = (float) (values.nextGaussian() * 3);
        // As a model's next token mostly is: a dozen likely tokens, 0.9 of the mass among a few of them.
        peaked = logits.clone();
        for (int i = 0; i < 12; i++) peaked[values.nextInt(vocabulary)] += 16 + i;
        greedy = new TokenSampler(SamplingOptions.greedy(), vocabulary);
        draw = new TokenSampler(SamplingOptions.seeded(1).withTemperature(1), vocabulary);
        nucleus = new TokenSampler(SamplingOptions.seeded(1).withTemperature(1).withTopP(0.9), vocabulary);
        mathExpWeights = new double[vocabulary];
    }

    @Benchmark
    public int mostLikely() {
        return greedy.sample(logits);
    }

    @Benchmark
    public int drawAtTemperatureOne() {
        return draw.sample(logits);
    }

    /** {@code top_p} 0.9 over broad logits: thousands of tokens in the nucleus. */
    @Benchmark
    public int drawInNucleus() {
        return nucleus.sample(logits);
    }

    /** {@code top_p} 0.9 over peaked logits: a few tokens in the nucleus. */
    @Benchmark
    public int drawInNarrowNucleus() {
        return nucleus.sample(peaked);
    }

    /** The former nucleus, for comparison: a max-heap over every token, popped until the nucleus is full. */
    @Benchmark
    public int drawInNucleusByHeap() {
        return heapNucleus(logits);
    }

    @Benchmark
    public int drawInNarrowNucleusByHeap() {
        return heapNucleus(peaked);
    }

    private int heapNucleus(float[] values) {
        int n = values.length;
        if (heap == null) {
            heap = new int[n];
            heapWeights = new float[n];
            heapBlocks = new double[SoftmaxWeights.blocks(n)];
        }
        double sum = SoftmaxWeights.fill(values, SoftmaxWeights.max(values), 1f, heapWeights, heapBlocks);
        for (int id = 0; id < n; id++) heap[id] = id;
        for (int i = n / 2 - 1; i >= 0; i--) siftDown(i, n);
        double nucleus = 0.9 * sum;
        double mass = 0;
        int size = n;
        int taken = 0;
        while (size > 0 && mass < nucleus && heapWeights[heap[0]] > 0) {
            int top = heap[0];
            heap[0] = heap[--size];
            heap[size] = top;
            siftDown(0, size);
            mass += heapWeights[top];
            taken++;
        }
        double left = random.nextDouble() * mass;
        for (int i = n - 1; i >= n - taken; i--) {
            left -= heapWeights[heap[i]];
            if (left < 0) return heap[i];
        }
        return heap[n - taken];
    }

    private void siftDown(int i, int size) {
        int id = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && heavier(heap[child + 1], heap[child])) child++;
            if (!heavier(heap[child], id)) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = id;
    }

    private boolean heavier(int a, int b) {
        return heapWeights[a] > heapWeights[b] || heapWeights[a] == heapWeights[b] && a < b;
    }

    /** The baseline: the draw over {@code Math.exp} weights in doubles. */
    @Benchmark
    public int drawByMathExp() {
        float max = logits[TokenSampler.argmax(logits)];
        double sum = 0;
        for (int id = 0; id < logits.length; id++) {
            double weight = Math.exp(logits[id] - max);
            mathExpWeights[id] = weight;
            sum += weight;
        }
        double left = random.nextDouble() * sum;
        for (int id = 0; id < mathExpWeights.length; id++) {
            left -= mathExpWeights[id];
            if (left < 0) return id;
        }
        return mathExpWeights.length - 1;
    }
}
