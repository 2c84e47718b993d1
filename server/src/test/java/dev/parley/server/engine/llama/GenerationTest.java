package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.server.demo.DemoModel;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GenerationTest {
    private static final ContextOptions SMALL = Generate.ONE_THREAD.withContextLength(256);
    private static LlamaModel demo;

    @BeforeAll
    static void open() {
        demo = LlamaModel.open(DemoModel.path());
    }

    @AfterAll
    static void close() {
        demo.close();
    }

    private static List<Integer> generate(SamplingOptions options, String prompt, int maxTokens) {
        try (LlamaContext context = demo.newContext(SMALL); Sampler sampler = demo.newSampler(options)) {
            return Generate.tokens(demo, context, sampler, prompt, 0, maxTokens);
        }
    }

    @Test
    void greedyGenerationIsDeterministicAndReadsLikeAStory() {
        List<Integer> first = generate(SamplingOptions.greedy(), "Once upon a time", 40);
        List<Integer> second = generate(SamplingOptions.greedy(), "Once upon a time", 40);

        assertThat(second).isEqualTo(first);
        String text = Generate.text(demo, first);
        assertThat(text).hasSizeGreaterThan(80).matches("[\\x20-\\x7E\\n]+"); // plain English text
        assertThat(text.split("\\W+")).hasSizeGreaterThan(15)
                .containsAnyOf("girl", "boy", "day", "little", "was", "the", "named");
    }

    @Test
    void aTemperatureTooSmallToDivideBySamplesGreedily() {
        assertThat(generate(SamplingOptions.seeded(5).withTemperature(1e-30), "Once upon a time", 20))
                .isEqualTo(generate(SamplingOptions.greedy(), "Once upon a time", 20));
    }

    @Test
    void theSameSeedSamplesTheSameTokens() {
        SamplingOptions options = SamplingOptions.seeded(42).withTemperature(0.9).withTopP(0.95);

        assertThat(generate(options, "Once upon a time", 30)).isEqualTo(generate(options, "Once upon a time", 30));
    }

    @Test
    void differentSeedsUsuallySampleDifferentTokens() {
        Set<List<Integer>> outputs = new HashSet<>();
        for (long seed = 1; seed <= 4; seed++) {
            outputs.add(generate(SamplingOptions.seeded(seed), "Once upon a time", 30));
        }
        assertThat(outputs).hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    void logitBiasCanBanATokenAndForceAnother() {
        List<Integer> greedy = generate(SamplingOptions.greedy(), "Once upon a time", 5);
        int banned = greedy.getFirst();
        List<Integer> withoutIt = generate(SamplingOptions.greedy().withLogitBias(Map.of(banned, -100.0)), "Once upon a time", 5);
        assertThat(withoutIt).doesNotContain(banned);

        int forced = demo.tokenize(" dragon", false, false)[0];
        assertThat(generate(SamplingOptions.greedy().withLogitBias(Map.of(forced, 100.0)), "Once upon a time", 3))
                .containsOnly(forced);
    }

    @Test
    void frequencyPenaltyStopsGreedyRepetition() {
        List<Integer> plain = generate(SamplingOptions.greedy(), "Once upon a time", 60);
        List<Integer> penalised = generate(SamplingOptions.greedy().withPenalties(0, 2), "Once upon a time", 60);

        assertThat(penalised).isNotEqualTo(plain);
        assertThat(new HashSet<>(penalised).size()).isGreaterThan(new HashSet<>(plain).size());
    }

    @Test
    void logitsAreAvailableOnlyForTokensThatAskedForThem() {
        try (LlamaContext context = demo.newContext(SMALL); Sampler sampler = demo.newSampler(SamplingOptions.greedy())) {
            int[] prompt = demo.tokenize("Once upon a time", true, false);
            context.decode(BatchToken.prompt(prompt, 0, 0));
            float[] logits = context.logits(prompt.length - 1);

            assertThat(logits).hasSize(demo.vocabSize());
            int argmax = 0;
            for (int i = 1; i < logits.length; i++) {
                argmax = logits[i] > logits[argmax] ? i : argmax;
            }
            assertThat(sampler.sample(context, prompt.length - 1)).isEqualTo(argmax);
            assertThatThrownBy(() -> context.logits(0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.logits(prompt.length)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> sampler.sample(context, 0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> sampler.sample(context, -1)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void rejectsInvalidSamplingOptions() {
        assertThatThrownBy(() -> demo.newSampler(SamplingOptions.greedy().withTemperature(-0.1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newSampler(SamplingOptions.greedy().withTemperature(Double.NaN))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newSampler(SamplingOptions.greedy().withTopP(0))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newSampler(SamplingOptions.greedy().withTopP(1.5))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newSampler(SamplingOptions.greedy().withTopK(-1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newSampler(SamplingOptions.greedy().withPenalties(Double.POSITIVE_INFINITY, 0))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newSampler(SamplingOptions.greedy().withLogitBias(Map.of(512, 1.0)))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newSampler(SamplingOptions.greedy().withLogitBias(Map.of(3, Double.NaN)))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> demo.newSampler(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void seedsFoldToThirtyTwoBitsWithoutHittingLlamaCppsRandomSeed() {
        assertThat(Sampler.seed32(42)).isEqualTo(42);
        assertThat(Sampler.seed32(0xFFFFFFFFL)).isNotEqualTo(-1);
        assertThat(Sampler.seed32(1L << 32)).isNotEqualTo(Sampler.seed32(0));
    }
}
