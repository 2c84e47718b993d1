package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.server.engine.llama.ffi.GgufHeader;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model with recurrent state (an LFM2 of random weights: short-convolution layers beside attention ones) keeps one
 * state per sequence, where its last token left it: it decodes several sequences in one batch as each alone, and a
 * sequence cannot be cut back to an earlier token.
 */
@Timeout(120)
class RecurrentStateTest {
    private static final ContextOptions FOUR =
            Generate.ONE_THREAD.withContextLength(4 * 256).withMaxSequences(4).withBatchCapacity(64);

    @TempDir
    static Path dir;

    private static Path file;
    private static LlamaModel lfm2;

    @BeforeAll
    static void open() {
        // Q8_0 at a width of 64: the type and the shape llama.cpp's AMX kernels take, on a processor that has them.
        file = GgufWriter.lfm2()
                .layers(4)
                .tiedOutput(true)
                .contextLength(1024)
                .type(TensorType.Q8_0)
                .seed(29)
                .write(dir.resolve("lfm2.gguf"));
        lfm2 = LlamaModel.open(file);
    }

    @AfterAll
    static void close() {
        lfm2.close();
    }

    private static int[] tokens(int from, int count) {
        return IntStream.range(0, count)
                .map(i -> 10 + (from * 37 + i * 7) % 250)
                .toArray();
    }

    @Test
    void keepsRecurrentStateWhereATransformerDoesNot() {
        assertThat(lfm2.keepsRecurrentState()).isTrue();
        // What is known of the file before it is loaded, and the per-layer counts llama.cpp's metadata leaves out.
        assertThat(GgufArchitecture.of(file)).hasValue("lfm2");
        assertThat(LlamaModel.RECURRENT_ARCHITECTURES).contains("lfm2");
        assertThat(GgufHeader.integers(file, "lfm2.no_such_key")).isEmpty();
        assertThat(GgufHeader.integers(file, "lfm2.block_count"))
                .as("not an array")
                .isEmpty();
        assertThat(GgufHeader.integers(file, "lfm2.attention.head_count_kv"))
                .hasValueSatisfying(kv -> assertThat(kv).containsExactly(0, 2, 0, 2));
        assertThat(lfm2.metadata("lfm2.attention.head_count_kv")).isEmpty();
        try (LlamaModel llama =
                LlamaModel.open(GgufWriter.llama().tiedOutput(true).seed(29).write(dir.resolve("llama.gguf")))) {
            assertThat(llama.keepsRecurrentState()).isFalse();
            assertThat(GgufArchitecture.of(llama.path())).hasValue("llama");
            assertThat(LlamaModel.RECURRENT_ARCHITECTURES).doesNotContain("llama");
            assertThat(GgufArchitecture.of(dir.resolve("no-such.gguf"))).isEmpty();
        }
    }

    @Test
    void decodesSeveralSequencesInOneBatchAsEachAlone() {
        // Prompts of different lengths, so that llama.cpp splits the batch into steps of one token per sequence and
        // multiplies each layer's weights by a matrix per sequence.
        int[][] prompts = {tokens(1, 12), tokens(2, 8), tokens(3, 7)};
        float[][] alone = new float[prompts.length][];
        try (LlamaContext context = lfm2.newContext(FOUR)) {
            for (int k = 0; k < prompts.length; k++) {
                context.clearSequence(0);
                context.decode(BatchToken.prompt(prompts[k], 0, 0));
                alone[k] = context.logits(prompts[k].length - 1);
            }
        }
        try (LlamaContext context = lfm2.newContext(FOUR)) {
            for (int round = 0; round < 2; round++) { // and again in the same sequences, each cleared
                List<BatchToken> batch = new ArrayList<>();
                int[] last = new int[prompts.length];
                for (int k = 0; k < prompts.length; k++) {
                    context.clearSequence(k + 1);
                    batch.addAll(BatchToken.prompt(prompts[k], 0, k + 1));
                    last[k] = batch.size() - 1;
                }
                context.decode(batch);
                for (int k = 0; k < prompts.length; k++)
                    Generate.assertCloseLogits(
                            context.logits(last[k]), alone[k], "round %d, prompt %d".formatted(round, k));
            }
        }
    }

    @Test
    void aSequenceCannotBeCutBackToAnEarlierToken() {
        int[] prompt = tokens(4, 20);
        try (LlamaContext context = lfm2.newContext(FOUR)) {
            context.decode(BatchToken.prompt(prompt, 0, 0));
            assertThat(context.truncateSequence(0, 10)).isFalse();
            assertThat(context.truncateSequence(0, prompt.length))
                    .as("nothing after its end to forget")
                    .isTrue();
            assertThat(context.copySequence(0, 1, 10)).as("a copy cut short").isFalse();
        }
    }

    @Test
    void aSequenceGoesOnFromItsCheckpointAsIfItHadReadEverything() {
        int[] prompt = tokens(5, 30);
        int at = prompt.length - Scheduler.STATE_BEFORE_END;
        int[] answer = tokens(6, 20);
        int[] next = Generate.concat(
                Arrays.copyOf(prompt, prompt.length - 2), tokens(7, 10)); // the prompt's last two differ
        try (LlamaContext context = lfm2.newContext(FOUR)) {
            context.decode(BatchToken.prompt(Arrays.copyOf(next, at), 0, 1));
            context.decode(BatchToken.prompt(Arrays.copyOfRange(next, at, next.length), at, 1));
            float[] alone = context.logits(next.length - at - 1);

            context.decode(BatchToken.prompt(Arrays.copyOf(prompt, at), 0, 0));
            assertThat(context.checkpointStateSize(0))
                    .as("the recurrent state only")
                    .isPositive()
                    .isLessThan(context.sequenceStateSize(0));
            try (ContextCheckpoint checkpoint = ContextCheckpoint.take(context, 0, at)) {
                int[] read = Generate.concat(prompt, answer);
                context.decode(BatchToken.prompt(Arrays.copyOfRange(read, at, read.length), at, 0));
                assertThat(context.truncateSequence(0, next.length - 1)).isFalse();
                assertThat(checkpoint.restore(context, 0, at - 1))
                        .as("a state is where it is: it cannot serve one token less")
                        .isZero();
                context.clearSequence(0);
                context.decode(BatchToken.prompt(read, 0, 0));

                assertThat(checkpoint.restore(context, 0, prompt.length - 2)).isEqualTo(at);
                assertThat(context.continuesAt(0, at)).isTrue();
                context.decode(BatchToken.prompt(Arrays.copyOfRange(next, at, next.length), at, 0));
                Generate.assertCloseLogits(context.logits(next.length - at - 1), alone, "going on from the checkpoint");
            }
        }
    }

    @Test
    void aConversationsNextTurnGoesOnFromItsStateAFewTokensBeforeItsLastPromptEnded() throws Exception {
        int[] prompt = tokens(8, 40);
        // The next turn has the prompt but its last two tokens (a generation prompt rendered otherwise in the history).
        int[] next = Generate.concat(Arrays.copyOf(prompt, prompt.length - 2), tokens(9, 12));
        String alone;
        String againAlone;
        try (var fresh = engine()) {
            alone = Generate.text(
                    fresh.complete(Generate.greedy("lfm2", next, 6)).start());
            againAlone = Generate.text(
                    fresh.complete(Generate.greedy("lfm2", prompt, 30)).start());
        }
        try (var engine = engine()) {
            Generate.text(engine.complete(Generate.greedy("lfm2", prompt, 30)).start());
            assertThat(engine.scheduler().checkpointBytes()).isPositive();

            // The same prompt again (an answer regenerated): the state kept before its end serves it.
            long reused = engine.scheduler().reusedTokens();
            assertThat(Generate.text(
                            engine.complete(Generate.greedy("lfm2", prompt, 30)).start()))
                    .isEqualTo(againAlone);
            assertThat(engine.scheduler().reusedTokens() - reused)
                    .isEqualTo(prompt.length - Scheduler.STATE_BEFORE_END);

            reused = engine.scheduler().reusedTokens();
            assertThat(Generate.text(
                            engine.complete(Generate.greedy("lfm2", next, 6)).start()))
                    .isEqualTo(alone);
            assertThat(engine.scheduler().reusedTokens() - reused)
                    .isEqualTo(prompt.length - Scheduler.STATE_BEFORE_END);
        }
    }

    @Test
    void aPromptLoadedFromThePromptCacheAtItsCheckpointLeavesOneInItsSlot() throws Exception {
        int[] prompt = tokens(10, 40);
        int[] other = tokens(11, 40);
        String againAlone;
        try (var fresh = engine()) {
            againAlone = Generate.text(
                    fresh.complete(Generate.greedy("lfm2", prompt, 6)).start());
        }
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(file)
                .withModelId("lfm2")
                .withParallel(1)
                .withContextPerSequence(512)
                .withCacheMb(4))) {
            Generate.text(engine.complete(Generate.greedy("lfm2", prompt, 6)).start());
            Generate.text(engine.complete(Generate.greedy("lfm2", other, 6)).start()); // the first goes to host memory
            int at = prompt.length - Scheduler.STATE_BEFORE_END;

            assertThat(Generate.text(
                            engine.complete(Generate.greedy("lfm2", prompt, 6)).start()))
                    .isEqualTo(againAlone);
            assertThat(engine.scheduler().restoredTokens())
                    .as("loaded at the entry's checkpoint")
                    .isEqualTo(at);

            long reused = engine.scheduler().reusedTokens();
            assertThat(Generate.text(
                            engine.complete(Generate.greedy("lfm2", prompt, 6)).start()))
                    .isEqualTo(againAlone);
            assertThat(engine.scheduler().reusedTokens() - reused).isEqualTo(at);
            assertThat(engine.scheduler().restoredTokens())
                    .as("from the slot's own checkpoint this time")
                    .isEqualTo(at);
        }
    }

    @Test
    void aNewConversationGoesOnFromWhereTheSystemPromptItSharesWithAnotherEnds() throws Exception {
        int[] system = tokens(12, 40);
        int[] first = Generate.concat(system, tokens(13, 12));
        int[] second = Generate.concat(system, tokens(14, 12));
        int[] third = Generate.concat(system, tokens(15, 12));
        String secondAlone;
        String thirdAlone;
        try (var fresh = engine()) {
            secondAlone = Generate.text(
                    fresh.complete(Generate.greedy("lfm2", second, 6)).start());
            thirdAlone = Generate.text(
                    fresh.complete(Generate.greedy("lfm2", third, 6)).start());
        }
        // One slot: the first conversation's cells go to the prompt cache; two: the first keeps its slot.
        for (int parallel : new int[] {1, 2}) {
            try (var engine = LlamaEngine.open(LlamaEngineOptions.of(file)
                    .withModelId("lfm2")
                    .withParallel(parallel)
                    .withContextPerSequence(512)
                    .withCacheMb(4))) {
                Generate.text(engine.complete(Generate.greedy("lfm2", first, 6)).start());
                // Its state has moved past the system prompt: the second reads it, and keeps where it ends.
                assertThat(Generate.text(engine.complete(Generate.greedy("lfm2", second, 6))
                                .start()))
                        .as("with %d slot(s)", parallel)
                        .isEqualTo(secondAlone);
                assertThat(engine.scheduler().restoredTokens()).isZero();

                long reused = engine.scheduler().reusedTokens();
                assertThat(Generate.text(engine.complete(Generate.greedy("lfm2", third, 6))
                                .start()))
                        .isEqualTo(thirdAlone);
                assertThat(engine.scheduler().restoredTokens())
                        .as("the system prompt, loaded from the prompt cache")
                        .isEqualTo(system.length);
                assertThat(engine.scheduler().reusedTokens() - reused).isEqualTo(system.length);
            }
        }
    }

    @Test
    void withoutAPromptCacheAConversationSharingOnlyTheSystemPromptReadsItAgain() throws Exception {
        int[] system = tokens(16, 40);
        try (var engine = LlamaEngine.open(
                LlamaEngineOptions.of(file).withModelId("lfm2").withParallel(2).withContextPerSequence(512))) {
            for (int from = 17; from < 20; from++) {
                Generate.text(engine.complete(Generate.greedy("lfm2", Generate.concat(system, tokens(from, 12)), 6))
                        .start());
            }
            assertThat(engine.scheduler().reusedTokens()).isZero();
        }
    }

    private static LlamaEngine engine() {
        return LlamaEngine.open(
                LlamaEngineOptions.of(file).withModelId("lfm2").withParallel(1).withContextPerSequence(512));
    }
}
