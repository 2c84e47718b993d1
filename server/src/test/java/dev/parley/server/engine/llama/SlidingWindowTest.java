package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.server.demo.DemoModel;
import dev.parley.testkit.GgufWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model with a sliding window (a Gemma 3 of random weights whose every other layer attends over the last 16
 * tokens) keeps only the window's last cells of a sequence in those layers; a conversation's next turn, cut back
 * behind an answer the window has moved past, goes on from the window cells kept where its last prompt ended.
 */
@Timeout(120)
class SlidingWindowTest {
    private static final int WINDOW = 16;
    /**
     * Two sequences of 512 cells, 32-token batches: llama.cpp gives each sequence 256 cells in the window layers (the
     * window and a batch, rounded up to 256), so a sequence that outgrows 256 positions overwrites its oldest ones.
     */
    private static final ContextOptions TWO = Generate.ONE_THREAD
            .withContextLength(2 * 512)
            .withMaxSequences(2)
            .withBatchCapacity(32)
            .withKvCache(KvCacheType.F16);

    @TempDir
    static Path dir;

    private static Path file;
    private static LlamaModel gemma;

    @BeforeAll
    static void open() {
        file = GgufWriter.gemma3()
                .layers(6)
                .slidingWindow(WINDOW)
                .tiedOutput(true)
                .contextLength(2048)
                .seed(23)
                .write(dir.resolve("gemma3.gguf"));
        gemma = LlamaModel.open(file);
    }

    @AfterAll
    static void close() {
        gemma.close();
    }

    /** {@code count} ordinary token ids from {@code from} on, steps of seven in a range of 250. */
    private static int[] tokens(int from, int count) {
        return IntStream.range(0, count)
                .map(i -> 10 + (from * 37 + i * 7) % 250)
                .toArray();
    }

    /** Reads {@code tokens[from..]} into {@code sequence} in batches of 32; the last token's logits. */
    private static float[] read(LlamaContext context, int[] tokens, int from, int sequence) {
        float[] logits = null;
        for (int start = from; start < tokens.length; start += 32) {
            int end = Math.min(tokens.length, start + 32);
            context.decode(BatchToken.prompt(Arrays.copyOfRange(tokens, start, end), start, sequence));
            logits = context.logits(end - start - 1);
        }
        return logits;
    }

    @Test
    void aSequenceCutBackBehindItsWindowGoesOnFromTheCheckpointAsIfItHadReadEverything() {
        int[] prompt = tokens(1, 40);
        int[] answer = tokens(2, 300); // carries the window (and the overwritten cells) far past the prompt
        int[] next = Generate.concat(prompt, tokens(3, 10)); // the next turn says something else after the prompt
        assertThat(gemma.slidingWindow()).isEqualTo(WINDOW);
        try (LlamaContext context = gemma.newContext(TWO)) {
            read(context, prompt, 0, 1); // in the same pieces as below: how a prompt is split moves the last bits
            float[] alone = read(context, next, prompt.length, 1);

            read(context, prompt, 0, 0);
            assertThat(context.checkpointStateSize(0))
                    .as("the window's cells only")
                    .isPositive()
                    .isLessThan(context.sequenceStateSize(0));
            try (ContextCheckpoint checkpoint = ContextCheckpoint.take(context, 0, prompt.length)) {
                read(context, Generate.concat(prompt, answer), prompt.length, 0);
                assertThat(context.truncateSequence(0, prompt.length)).isTrue();
                assertThat(context.continuesAt(0, prompt.length))
                        .as("the window layers no longer hold the cells before the cut")
                        .isFalse();

                assertThat(checkpoint.restore(context, 0, prompt.length - 2))
                        .as("the window cannot be cut back by two")
                        .isZero();
                context.clearSequence(0);
                read(context, Generate.concat(prompt, answer), 0, 0);
                assertThat(checkpoint.restore(context, 0, next.length - 1)).isEqualTo(prompt.length);
                assertThat(context.continuesAt(0, prompt.length)).isTrue();
                // The window's cells now sit elsewhere in the cache, so attention adds them up in another order: the
                // logits agree to the last bits (4e-4 of a largest logit of 3 here), as a batch split otherwise does.
                Generate.assertCloseLogits(
                        read(context, next, prompt.length, 0), alone, "going on from the checkpoint");
            }
        }
    }

    @Test
    void aSequenceCutBackWithinWhatItStillHoldsGoesOnWithoutACheckpoint() {
        int[] prompt = tokens(4, 40);
        int[] next = Generate.concat(prompt, tokens(5, 10));
        try (LlamaContext context = gemma.newContext(TWO)) {
            float[] alone = read(context, next, 0, 1);
            read(context, Generate.concat(prompt, tokens(6, 100)), 0, 0); // 140 positions: nothing overwritten yet
            assertThat(context.truncateSequence(0, prompt.length)).isTrue();
            assertThat(context.continuesAt(0, prompt.length)).isTrue();
            assertThat(read(context, next, prompt.length, 0)).containsExactly(alone);
        }
    }

    @Test
    void aPromptCacheEntryGoesOnFromItsContextCheckpointInAnotherSlot() {
        int[] prompt = tokens(7, 40);
        int[] cells = Generate.concat(prompt, tokens(8, 30));
        int[] next = Generate.concat(prompt, tokens(9, 10));
        try (LlamaContext context = gemma.newContext(TWO)) {
            float[] alone = read(context, next, 0, 1);
            context.clearSequence(1);
            read(context, prompt, 0, 0);
            try (ContextCheckpoint checkpoint = ContextCheckpoint.take(context, 0, prompt.length);
                    PromptCache withWindow = new PromptCache(1 << 20);
                    PromptCache without = new PromptCache(1 << 20)) {
                read(context, cells, prompt.length, 0);
                withWindow.save(context, 0, cells, checkpoint);
                without.save(context, 0, cells, null);
                assertThat(withWindow.bytes()).isEqualTo(without.bytes() + checkpoint.bytes());

                // Saved cells hold only the window's last cells of those layers: cut behind them, they cannot go on.
                assertThat(without.restore(context, next, 1, Scheduler.MIN_COPIED_PREFIX))
                        .isZero();
                assertThat(context.sequenceLength(1)).as("left empty").isZero();
                assertThat(withWindow.restore(context, next, 1, Scheduler.MIN_COPIED_PREFIX))
                        .isEqualTo(prompt.length);
                assertThat(read(context, next, prompt.length, 1)).containsExactly(alone);

                // The same prompt again: all of it but its last token, whose logits are needed. The window holds
                // every cell that token attends over.
                assertThat(withWindow.restore(context, prompt, 1, Scheduler.MIN_COPIED_PREFIX))
                        .isEqualTo(prompt.length - 1);
                float[] again = read(context, prompt, prompt.length - 1, 1);
                context.clearSequence(1);
                Generate.assertCloseLogits(again, read(context, prompt, 0, 1), "the same prompt again");
                assertThat(withWindow.restoredTokens()).isEqualTo(2L * prompt.length - 1);
            }
        }
    }

    @Test
    void aModelWithoutASlidingWindowHasNoWindowCellsAndBadArgumentsAreRefusedBeforeNativeCode() {
        try (LlamaModel demo = LlamaModel.open(DemoModel.path());
                LlamaContext context = demo.newContext(TWO);
                Arena arena = Arena.ofConfined()) {
            read(context, tokens(1, 20), 0, 0);
            assertThat(demo.slidingWindow()).isZero();
            assertThat(context.checkpointStateSize(0)).isZero();
            assertThat(ContextCheckpoint.take(context, 0, 20)).isNull();
            var bytes = arena.allocate(64);
            assertThatThrownBy(() -> context.saveCheckpoint(0, bytes)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.restoreCheckpoint(0, bytes)).isInstanceOf(IllegalArgumentException.class);
            assertThat(context.truncateSequence(0, 12)).isTrue();
            assertThat(context.continuesAt(0, 12)).isTrue();
            assertThat(context.continuesAt(0, 13)).isFalse();
        }
        try (LlamaContext context = gemma.newContext(TWO)) {
            var heap = java.lang.foreign.MemorySegment.ofArray(new byte[64]);
            assertThatThrownBy(() -> context.restoreCheckpoint(0, heap)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.restoreCheckpoint(2, heap)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.continuesAt(-1, 0)).isInstanceOf(IllegalArgumentException.class);
            assertThat(context.checkpointStateSize(0)).as("an empty sequence").isZero();
        }
    }

    private static LlamaEngine engine() {
        return engine(1, false);
    }

    private static LlamaEngine engine(int parallel, boolean fullWindow) {
        return LlamaEngine.open(LlamaEngineOptions.of(file)
                .withModelId("gemma3")
                .withParallel(parallel)
                .withContextPerSequence(1024)
                .withFullWindow(fullWindow));
    }

    @Test
    void aNewConversationCopiesALongSharedStartFromASlotThatWentOnFarBeyondItOnlyWhenWindowLayersKeepEveryCell()
            throws Exception {
        int[] system = tokens(12, 40);
        int[] first = Generate.concat(system, tokens(13, 10));
        int[] second = Generate.concat(system, tokens(14, 10));
        String secondAlone;
        try (var fresh = engine()) {
            secondAlone = Generate.text(
                    fresh.complete(Generate.greedy("gemma3", second, 6)).start());
        }
        for (boolean fullWindow : new boolean[] {false, true}) {
            try (var engine = engine(2, fullWindow)) {
                // The first conversation answers at length in slot 0: its window layers give up the cells of its start.
                Generate.text(
                        engine.complete(Generate.greedy("gemma3", first, 800)).start());
                long reused = engine.scheduler().reusedTokens();
                // The second shares the system prompt; keeping it in slot 0 would give up more than it keeps, so it
                // starts in slot 1 and copies what it can.
                assertThat(Generate.text(engine.complete(Generate.greedy("gemma3", second, 6))
                                .start()))
                        .isEqualTo(secondAlone);
                assertThat(engine.scheduler().reusedTokens() - reused)
                        .as("full window %s", fullWindow)
                        .isEqualTo(fullWindow ? system.length : 0);
            }
        }
    }

    @Test
    void withAPromptCacheTheConversationAfterThatKeepsWhereTheSystemPromptEndsForTheOnesAfterIt() throws Exception {
        int[] system = tokens(12, 40);
        int[] first = Generate.concat(system, tokens(13, 10));
        int[] second = Generate.concat(system, tokens(14, 10));
        int[] third = Generate.concat(system, tokens(15, 10));
        String thirdAlone;
        try (var fresh = engine()) {
            thirdAlone = Generate.text(
                    fresh.complete(Generate.greedy("gemma3", third, 6)).start());
        }
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(file)
                .withModelId("gemma3")
                .withParallel(2)
                .withContextPerSequence(1024)
                .withCacheMb(8))) {
            // Both answer at length: neither slot's window layers hold the cells of the system prompt's end any more.
            Generate.text(engine.complete(Generate.greedy("gemma3", first, 800)).start());
            Generate.text(
                    engine.complete(Generate.greedy("gemma3", second, 800)).start());
            long reused = engine.scheduler().reusedTokens();
            assertThat(Generate.text(
                            engine.complete(Generate.greedy("gemma3", third, 6)).start()))
                    .isEqualTo(thirdAlone);
            assertThat(engine.scheduler().reusedTokens() - reused).isEqualTo(system.length);
            assertThat(engine.scheduler().restoredTokens()).isEqualTo(system.length);
        }
    }

    @Test
    void aConversationsNextTurnGoesOnFromWhereItsLastPromptEndedThoughTheAnswerCarriedTheWindowAway() throws Exception {
        int[] prompt = tokens(10, 40);
        // The engine's 512-token batches give each slot 768 cells in the window layers: an answer of 800 tokens
        // overwrites the cells before the prompt's last window.
        int[] next = Generate.concat(prompt, tokens(11, 12)); // the answer re-rendered otherwise, say
        String alone;
        String againAlone;
        try (var fresh = engine()) {
            alone = Generate.text(
                    fresh.complete(Generate.greedy("gemma3", next, 6)).start());
        }
        try (var fresh = engine()) {
            againAlone = Generate.text(
                    fresh.complete(Generate.greedy("gemma3", prompt, 6)).start());
        }
        try (var engine = engine()) {
            Generate.text(
                    engine.complete(Generate.greedy("gemma3", prompt, 800)).start());
            assertThat(engine.scheduler().checkpointBytes()).isPositive();
            long reused = engine.scheduler().reusedTokens();

            assertThat(Generate.text(
                            engine.complete(Generate.greedy("gemma3", next, 6)).start()))
                    .isEqualTo(alone);
            assertThat(engine.scheduler().reusedTokens() - reused).isEqualTo(prompt.length);

            // The first prompt again (an answer regenerated): the slot still holds the window its next turn loaded at
            // the first prompt's end, so all but the prompt's last token are found.
            reused = engine.scheduler().reusedTokens();
            assertThat(Generate.text(engine.complete(Generate.greedy("gemma3", prompt, 6))
                            .start()))
                    .isEqualTo(againAlone);
            assertThat(engine.scheduler().reusedTokens() - reused).isEqualTo(prompt.length - 1);
        }
    }
}
