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
    private TokenSampler greedy;
    private TokenSampler draw;
    private TokenSampler nucleus;
    private double[] mathExpWeights;
    private final SplittableRandom random = new SplittableRandom(7);

    @Setup
    public void setUp() {
        SplittableRandom values = new SplittableRandom(vocabulary);
        logits = new float[vocabulary];
        for (int i = 0; i < vocabulary; i++) logits[i] = (float) (values.nextGaussian() * 3);
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

    @Benchmark
    public int drawInNucleus() {
        return nucleus.sample(logits);
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
