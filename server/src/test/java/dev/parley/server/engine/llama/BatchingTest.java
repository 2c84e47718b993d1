package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.server.demo.DemoModel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BatchingTest {
    private static final List<String> PROMPTS =
            List.of("Once upon a time", "The little dog", "Lily and Ben went to the park");
    private static final int STEPS = 24;
    private static final ContextOptions THREE =
            Generate.ONE_THREAD.withContextLength(512).withMaxSequences(3).withKvCache(KvCacheType.F16);
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
    void threeSequencesDecodedTogetherGiveTheSameGreedyTokensAsEachAlone() {
        List<List<Integer>> alone = new ArrayList<>();
        long aloneNanos = 0;
        for (String prompt : PROMPTS) {
            try (LlamaContext context = demo.newContext(THREE);
                    Sampler sampler = demo.newSampler(SamplingOptions.greedy())) {
                long start = System.nanoTime();
                alone.add(Generate.tokens(demo, context, sampler, prompt, 0, STEPS));
                aloneNanos += System.nanoTime() - start;
            }
        }

        try (LlamaContext context = demo.newContext(THREE)) {
            long start = System.nanoTime();
            List<List<Integer>> together = generateTogether(context);
            long togetherNanos = System.nanoTime() - start;

            assertThat(together).isEqualTo(alone);
            System.out.printf(
                    "stories260K, %d steps: 3 sequences alone %.2f ms/step in total, together %.2f ms/step%n",
                    STEPS, aloneNanos / 1e6 / STEPS, togetherNanos / 1e6 / STEPS);
        }
    }

    @Test
    void aContextOnTwoThreadsGivesTheSameLogitsAsOnOneDecodeAfterDecode() {
        // Two threads decode on a threadpool the context keeps for its life: each decode hands it a new graph, and
        // closing the context frees it. Each output row is computed whole by one thread, so the logits match.
        for (int round = 0; round < 2; round++) {
            try (LlamaContext one = demo.newContext(THREE);
                    LlamaContext two = demo.newContext(THREE.withThreads(2))) {
                int[] prompt = demo.tokenize("Once upon a time there was a little dog", true, false);
                for (int i = 0; i < prompt.length; i++) {
                    for (LlamaContext context : List.of(one, two)) {
                        context.decode(List.of(new BatchToken(prompt[i], i, 0, true)));
                    }
                    assertThat(two.logits(0)).containsExactly(one.logits(0));
                }
            }
        }
    }

    @Test
    void calibrationClearsTheCellsAFinishedSequenceLeftForTheNextPrompt() {
        try (LlamaContext context =
                demo.newContext(Generate.ONE_THREAD.withContextLength(128).withMaxSequences(2))) {
            // As the scheduler leaves a finished sequence's prompt in its slot for a next prompt that shares it.
            context.decode(List.of(
                    new BatchToken(1, 0, 0, false), new BatchToken(400, 1, 0, false), new BatchToken(401, 2, 0, true)));
            var costs = new DecodeCosts(context.batchCapacity());
            var calibration = new Calibration(demo, context, costs, System::nanoTime);
            while (calibration.step()) {
                // every size, each decoded from position 0 of its sequences
            }
            assertThat(costs.toString()).contains(" 1=").contains(" 2=");
        }
    }

    /** All prompts in one batch, then one batch of three tokens per step; no sequence stops early. */
    private static List<List<Integer>> generateTogether(LlamaContext context) {
        List<Sampler> samplers = new ArrayList<>();
        List<BatchToken> batch = new ArrayList<>();
        int[] positions = new int[PROMPTS.size()];
        int[] outputIndex = new int[PROMPTS.size()];
        for (int seq = 0; seq < PROMPTS.size(); seq++) {
            samplers.add(demo.newSampler(SamplingOptions.greedy()));
            int[] prompt = demo.tokenize(PROMPTS.get(seq), true, false);
            batch.addAll(BatchToken.prompt(prompt, 0, seq));
            positions[seq] = prompt.length;
            outputIndex[seq] = batch.size() - 1;
        }
        context.decode(batch);
        List<List<Integer>> generated = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (int step = 0; step < STEPS; step++) {
            batch.clear();
            for (int seq = 0; seq < PROMPTS.size(); seq++) {
                int token = samplers.get(seq).sample(context, outputIndex[seq]);
                generated.get(seq).add(token);
                batch.add(new BatchToken(token, positions[seq]++, seq, true));
                outputIndex[seq] = seq;
            }
            context.decode(batch);
        }
        samplers.forEach(Sampler::close);
        // Alone, a sequence stops at end-of-generation; cut the same way for comparison.
        return generated.stream()
                .map(tokens -> {
                    int end = 0;
                    while (end < tokens.size() && !demo.isEndOfGeneration(tokens.get(end))) {
                        end++;
                    }
                    return tokens.subList(0, end);
                })
                .toList();
    }

    @Test
    void clearingASequenceFreesItsIdForANewGeneration() {
        try (LlamaContext context = demo.newContext(THREE);
                Sampler sampler = demo.newSampler(SamplingOptions.greedy())) {
            List<Integer> first = Generate.tokens(demo, context, sampler, "Once upon a time", 1, 16);
            Generate.tokens(demo, context, sampler, "The little dog", 2, 16);

            context.clearSequence(1);
            try (Sampler fresh = demo.newSampler(SamplingOptions.greedy())) {
                assertThat(Generate.tokens(demo, context, fresh, "Once upon a time", 1, 16))
                        .isEqualTo(first);
            }
        }
    }

    @Test
    void aCopiedPromptSharesItsCellsAndGivesTheSameLogitsAsReadingIt() {
        try (LlamaContext context = demo.newContext(THREE)) {
            int[] prompt = demo.tokenize("Once upon a time there was a cat", true, false);
            context.decode(BatchToken.prompt(prompt, 0, 0));
            float[] read = context.logits(prompt.length - 1);

            context.copySequence(0, 1, prompt.length - 1);
            context.decode(List.of(new BatchToken(prompt[prompt.length - 1], prompt.length - 1, 1, true)));

            assertThat(context.logits(0)).containsExactly(read, org.assertj.core.data.Offset.offset(1e-4f));
            assertThat(context.sequenceLength(1)).isEqualTo(prompt.length);
            context.clearSequence(0);
            assertThat(context.sequenceLength(0)).isZero();
            assertThat(context.sequenceLength(1)).isEqualTo(prompt.length); // its own cells, kept
        }
    }

    @Test
    void aCopyOfASequenceThatReadOnIsCutToTheLengthAsked() {
        try (LlamaContext context = demo.newContext(THREE)) {
            int[] prompt = demo.tokenize("Once upon a time there was a cat", true, false);
            context.decode(BatchToken.prompt(prompt, 0, 0));
            float[] read = context.logits(prompt.length - 1);
            context.decode(List.of(new BatchToken(300, prompt.length, 0, true))); // the source reads on

            assertThat(context.copySequence(0, 2, prompt.length - 1)).isTrue();
            assertThat(context.sequenceLength(2)).isEqualTo(prompt.length - 1);
            context.decode(List.of(new BatchToken(prompt[prompt.length - 1], prompt.length - 1, 2, true)));

            assertThat(context.logits(0)).containsExactly(read, org.assertj.core.data.Offset.offset(1e-4f));
            assertThat(context.sequenceLength(0)).isEqualTo(prompt.length + 1);
        }
    }

    @Test
    void sequencesWhoseIdsDoNotFollowOneAnotherDecodeInOneBatchAsAlone() {
        try (LlamaContext context = demo.newContext(THREE)) {
            int[] prompt = demo.tokenize("Once upon a time", true, false);
            context.decode(BatchToken.prompt(prompt, 0, 1));
            float[] alone = context.logits(prompt.length - 1);
            context.clearSequence(1);

            List<BatchToken> both = new ArrayList<>(BatchToken.prompt(prompt, 0, 2)); // sequences 2 and 0: a gap
            both.addAll(BatchToken.prompt(prompt, 0, 0));
            context.decode(both);

            assertThat(context.logits(prompt.length - 1))
                    .containsExactly(alone, org.assertj.core.data.Offset.offset(1e-4f));
            assertThat(context.logits(2 * prompt.length - 1))
                    .containsExactly(alone, org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void aSequenceThatFillsItsCellsLeavesTheOthersTheirsAndIsRefusedBeforeNativeCode() {
        try (LlamaContext context =
                demo.newContext(Generate.ONE_THREAD.withContextLength(64).withMaxSequences(2))) {
            int cells = context.cellsPerSequence();
            assertThat(cells).isGreaterThanOrEqualTo(32); // 64 cells for two, rounded up by llama.cpp
            int[] filler = new int[cells];
            java.util.Arrays.fill(filler, 300);
            List<BatchToken> all = BatchToken.prompt(filler, 0, 0);
            for (int from = 0; from < all.size(); from += context.batchCapacity()) {
                context.decode(all.subList(from, Math.min(all.size(), from + context.batchCapacity())));
            }
            assertThat(context.sequenceLength(0)).isEqualTo(cells);

            assertThatThrownBy(() -> context.decode(List.of(new BatchToken(1, cells, 0, true))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("position must be 0..%d".formatted(cells - 1));
            context.decode(List.of(new BatchToken(1, 0, 1, true))); // the other sequence's cells are its own
            assertThat(context.logits(0)).hasSize(demo.vocabSize());
            context.clearSequence(0);
            assertThat(context.sequenceLength(0)).isZero();
            context.decode(List.of(new BatchToken(1, 0, 0, true)));
            assertThat(context.sequenceLength(0)).isEqualTo(1);
        }
    }

    @Test
    void rejectsBatchesThatDoNotFitTheContext() {
        try (LlamaContext context = demo.newContext(
                Generate.ONE_THREAD.withContextLength(64).withMaxSequences(2).withBatchCapacity(16))) {
            assertThat(context.batchCapacity()).isEqualTo(16);
            assertThat(context.maxSequences()).isEqualTo(2);
            List<BatchToken> tooMany = new ArrayList<>();
            for (int i = 0; i < 17; i++) {
                tooMany.add(new BatchToken(1, i, 0, false));
            }
            assertThatThrownBy(() -> context.decode(tooMany)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.decode(List.of())).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.decode(null)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.decode(List.of(new BatchToken(512, 0, 0, true))))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.decode(List.of(new BatchToken(-1, 0, 0, true))))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.decode(List.of(new BatchToken(1, -1, 0, true))))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.decode(List.of(new BatchToken(1, context.cellsPerSequence(), 0, true))))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.decode(List.of(new BatchToken(1, 0, 2, true))))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.decode(List.of(new BatchToken(1, 0, -1, true))))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.clearSequence(2)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.logits(0))
                    .isInstanceOf(IllegalArgumentException.class); // nothing decoded yet
        }
    }
}
