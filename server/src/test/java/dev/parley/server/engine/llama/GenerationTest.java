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

    /** Generation as the scheduler samples it: in Java, over the logits of each decode. */
    private static List<Integer> generate(SamplingOptions options, String prompt, int maxTokens) {
        try (LlamaContext context = demo.newContext(SMALL)) {
            return Generate.tokens(demo, context, new TokenSampler(options, demo.vocabSize()), prompt, 0, maxTokens);
        }
    }

    @Test
    void greedyGenerationIsDeterministicAndReadsLikeAStory() {
        List<Integer> first = generate(SamplingOptions.greedy(), "Once upon a time", 40);
        List<Integer> second = generate(SamplingOptions.greedy(), "Once upon a time", 40);

        assertThat(second).isEqualTo(first);
        String text = Generate.text(demo, first);
        assertThat(text).hasSizeGreaterThan(80).matches("[\\x20-\\x7E\\n]+"); // plain English text
        assertThat(text.split("\\W+"))
                .hasSizeGreaterThan(15)
                .containsAnyOf("girl", "boy", "day", "little", "was", "the", "named");
    }

    @Test
    void aTemperatureTooSmallToDivideBySamplesGreedily() {
        assertThat(generate(SamplingOptions.seeded(5).withTemperature(1e-30), "Once upon a time", 20))
                .isEqualTo(generate(SamplingOptions.greedy(), "Once upon a time", 20));
    }

    @Test
    void theSameSeedSamplesTheSameTokens() {
        SamplingOptions options =
                SamplingOptions.seeded(42).withTemperature(0.9).withTopP(0.95);

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
        List<Integer> withoutIt =
                generate(SamplingOptions.greedy().withLogitBias(Map.of(banned, -100.0)), "Once upon a time", 5);
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
        try (LlamaContext context = demo.newContext(SMALL)) {
            int[] prompt = demo.tokenize("Once upon a time", true, false);
            context.decode(BatchToken.prompt(prompt, 0, 0));
            float[] logits = context.logits(prompt.length - 1);

            assertThat(logits).hasSize(demo.vocabSize());
            int argmax = 0;
            for (int i = 1; i < logits.length; i++) {
                argmax = logits[i] > logits[argmax] ? i : argmax;
            }
            assertThat(sampler(SamplingOptions.greedy()).sample(logits.clone())).isEqualTo(argmax);
            try (Sampler chain = demo.newSampler(SamplingOptions.greedy())) {
                assertThat(chain.sample(context, prompt.length - 1)).isEqualTo(argmax); // llama.cpp agrees
            }
            assertThat(context.argmax(prompt.length - 1)).isEqualTo(argmax); // read in place, without a copy
            assertThatThrownBy(() -> context.argmax(0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.logits(0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.logits(prompt.length)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.logits(-1)).isInstanceOf(IllegalArgumentException.class);

            // The same copied into an array of the caller's, reused: every float, nothing left of what it held.
            float[] scratch = new float[demo.vocabSize()];
            java.util.Arrays.fill(scratch, Float.NaN);
            assertThat(context.logits(prompt.length - 1, scratch))
                    .isSameAs(scratch)
                    .isEqualTo(logits);
            assertThatThrownBy(() -> context.logits(prompt.length - 1, new float[demo.vocabSize() - 1]))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.logits(0, scratch)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    private static TokenSampler sampler(SamplingOptions options) {
        return new TokenSampler(options, demo.vocabSize());
    }

    @Test
    void rejectsInvalidSamplingOptions() {
        assertThatThrownBy(() -> sampler(SamplingOptions.greedy().withTemperature(-0.1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sampler(SamplingOptions.greedy().withTemperature(Double.NaN)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sampler(SamplingOptions.greedy().withTopP(-0.1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sampler(SamplingOptions.greedy().withTopP(1.5)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sampler(SamplingOptions.greedy().withTopK(-1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sampler(SamplingOptions.greedy().withPenalties(Double.POSITIVE_INFINITY, 0)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sampler(SamplingOptions.greedy().withLogitBias(Map.of(512, 1.0))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sampler(SamplingOptions.greedy().withLogitBias(Map.of(3, Double.NaN))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sampler(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void topPZeroAndATinyNucleusSampleGreedilyAsOpenAiDoes() {
        List<Integer> greedy = generate(SamplingOptions.greedy(), "Once upon a time", 20);
        assertThat(generate(SamplingOptions.seeded(5).withTemperature(1.5).withTopP(0), "Once upon a time", 20))
                .isEqualTo(greedy);
        assertThat(generate(SamplingOptions.seeded(5).withTemperature(1.5).withTopP(1e-9), "Once upon a time", 20))
                .isEqualTo(greedy);
    }

    @Test
    void aNucleusKeepsOnlyTheMostLikelyTokensThatAddUpToTopP() {
        // Probabilities 0.5, 0.3, 0.15, 0.05: top_p 0.75 keeps the first two, so token 2 and 3 never come.
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        int[] counts = draws(SamplingOptions.seeded(3).withTopP(0.75), logits, 4000);
        assertThat(counts[2]).isZero();
        assertThat(counts[3]).isZero();
        assertThat(counts[0] / 4000.0).isBetween(0.5 / 0.8 - 0.03, 0.5 / 0.8 + 0.03); // renormalised within the nucleus
    }

    @Test
    void aNucleusDrawPicksWhatSortingEveryTokenWouldPick() {
        // Against the plain definition: every token sorted by weight (ties: lower id first), the prefix whose
        // mass first reaches top_p, a draw over it. Logits with many exact ties and masked tokens, small and large
        // vocabularies, narrow and broad nuclei: the histogram must never change a pick.
        var random = new java.util.SplittableRandom(11);
        int compared = 0;
        for (int vocabulary : new int[] {3, 100, 5_000, 49_152}) {
            for (double spread : new double[] {0.5, 3, 12}) {
                float[] logits = new float[vocabulary];
                for (int id = 0; id < vocabulary; id++) {
                    double logit = random.nextGaussian() * spread;
                    logits[id] = random.nextInt(4) == 0 ? Math.round(logit) : (float) logit; // ties
                    if (random.nextInt(10) == 0) logits[id] = Float.NEGATIVE_INFINITY; // masked
                }
                logits[random.nextInt(vocabulary)] = (float) spread; // at least one token is allowed
                for (double topP : new double[] {1e-6, 0.1, 0.5, 0.9, 0.999999}) {
                    for (double temperature : new double[] {0.6, 1, 1.7}) {
                        for (long seed = 0; seed < 3; seed++) {
                            var options = SamplingOptions.seeded(seed)
                                    .withTemperature(temperature)
                                    .withTopP(topP);
                            int picked = new TokenSampler(options, vocabulary).sample(logits.clone());
                            assertThat(picked)
                                    .as(
                                            "vocabulary %d, spread %s, top_p %s, temperature %s, seed %d",
                                            vocabulary, spread, topP, temperature, seed)
                                    .isEqualTo(nucleusBySorting(logits, temperature, topP, seed));
                            compared++;
                        }
                    }
                }
            }
        }
        assertThat(compared).isEqualTo(4 * 3 * 5 * 3 * 3);
    }

    /** The nucleus draw by its definition, over the same weights and the same random number as the sampler's. */
    private static int nucleusBySorting(float[] logits, double temperature, double topP, long seed) {
        float[] weights = new float[logits.length];
        double sum = SoftmaxWeights.fill(
                logits,
                SoftmaxWeights.max(logits),
                (float) (1 / temperature),
                weights,
                new double[SoftmaxWeights.blocks(logits.length)]);
        double target = new java.util.SplittableRandom(seed).nextDouble();
        Integer[] order = new Integer[logits.length];
        for (int id = 0; id < order.length; id++) order[id] = id;
        java.util.Arrays.sort(
                order, (a, b) -> weights[a] != weights[b] ? Float.compare(weights[b], weights[a]) : a - b);
        double mass = 0;
        int taken = 0;
        while (taken < order.length && mass < topP * sum && weights[order[taken]] > 0) mass += weights[order[taken++]];
        double left = target * mass;
        for (int i = 0; i < taken; i++) {
            left -= weights[order[i]];
            if (left < 0) return order[i];
        }
        return order[taken - 1];
    }

    @Test
    void drawsFollowTheSoftmaxAtTheTemperature() {
        float[] logits = {0, (float) Math.log(3)}; // 1 : 3 at temperature 1
        int[] counts = draws(SamplingOptions.seeded(9), logits, 4000);
        assertThat(counts[1] / 4000.0).isBetween(0.72, 0.78);
        int[] hot = draws(SamplingOptions.seeded(9).withTemperature(2), logits, 4000); // 1 : √3
        assertThat(hot[1] / 4000.0)
                .isBetween(Math.sqrt(3) / (1 + Math.sqrt(3)) - 0.03, Math.sqrt(3) / (1 + Math.sqrt(3)) + 0.03);
    }

    /** How often each token is drawn from the same logits by fresh samplers of successive seeds (no penalties). */
    private static int[] draws(SamplingOptions options, float[] logits, int times) {
        int[] counts = new int[logits.length];
        for (int i = 0; i < times; i++)
            counts[new TokenSampler(options.withSeed(options.seed() + i), logits.length).sample(logits.clone())]++;
        return counts;
    }

    @Test
    void penaltiesFollowOpenAisDefinitionOverTheTokensPickedSoFar() {
        // logit -= presence × (count > 0) + frequency × count. Greedy over fixed logits 1.0, 0.7, 0.0:
        float[] logits = {1.0f, 0.7f, 0.0f};
        var frequency = new TokenSampler(SamplingOptions.greedy().withPenalties(0, 0.2), 3);
        List<Integer> picked = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) picked.add(frequency.sample(logits.clone()));
        // 1.0 → 0.8 (> 0.7) → 0.6: then 0.7 wins, → 0.5, and 0.6 wins again, → 0.4, then 0.5.
        assertThat(picked).containsExactly(0, 0, 1, 0, 1);
        var presence = new TokenSampler(SamplingOptions.greedy().withPenalties(0.5, 0), 3);
        picked.clear();
        for (int i = 0; i < 4; i++) picked.add(presence.sample(logits.clone()));
        // Once each: 0.5, 0.2, -0.5 after their first pick, and never more.
        assertThat(picked).containsExactly(0, 1, 0, 0);
    }

    @Test
    void onlyAChoiceOfTheLargestLogitAsItIsTakesItInPlace() {
        assertThat(sampler(SamplingOptions.greedy()).takesLargest()).isTrue();
        assertThat(sampler(SamplingOptions.greedy().withTemperature(1).withTopP(0))
                        .takesLargest())
                .isTrue();
        assertThat(sampler(SamplingOptions.greedy().withTemperature(1)).takesLargest())
                .isFalse();
        assertThat(sampler(SamplingOptions.greedy().withLogitBias(Map.of(3, 1.0)))
                        .takesLargest())
                .isFalse();
        assertThat(sampler(SamplingOptions.greedy().withPenalties(0, 0.5)).takesLargest())
                .isFalse();
        assertThat(sampler(SamplingOptions.greedy().withPenalties(0.5, 0)).takesLargest())
                .isFalse();
    }

    @Test
    void greedyTiesGoToTheLowestId() {
        assertThat(TokenSampler.argmax(new float[] {0.5f, 2f, 2f, 1f})).isEqualTo(1);
        var biased = new TokenSampler(SamplingOptions.greedy().withLogitBias(Map.of(3, 1.0)), 4);
        assertThat(biased.sample(new float[] {0.5f, 2f, 2f, 1f})).isEqualTo(1); // 1 + 1 = 2 ties, lower id wins
    }

    @Test
    void seedsFoldToThirtyTwoBitsWithoutHittingLlamaCppsRandomSeed() {
        assertThat(Sampler.seed32(42)).isEqualTo(42);
        assertThat(Sampler.seed32(0xFFFFFFFFL)).isNotEqualTo(-1);
        assertThat(Sampler.seed32(1L << 32)).isNotEqualTo(Sampler.seed32(0));
    }
}
