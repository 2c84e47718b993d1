package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.server.demo.DemoModel;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PromptCacheTest {
    private static final ContextOptions THREE =
            Generate.ONE_THREAD.withContextLength(3 * 128).withMaxSequences(3).withKvCache(KvCacheType.F16);
    private static LlamaModel demo;

    @BeforeAll
    static void open() {
        demo = LlamaModel.open(DemoModel.path());
    }

    @AfterAll
    static void close() {
        demo.close();
    }

    /** {@code count} ordinary tokens from {@code from} on, steps of 7: a prompt no other in these tests starts with. */
    private static int[] tokens(int from, int count) {
        int[] tokens = new int[count];
        for (int i = 0; i < count; i++) tokens[i] = 100 + (from * 37 + i * 7) % 400;
        return tokens;
    }

    /** Reads {@code prompt} into {@code sequence} after the {@code from} tokens it holds; the last token's logits. */
    private static float[] read(LlamaContext context, int[] prompt, int from, int sequence) {
        context.decode(BatchToken.prompt(Arrays.copyOfRange(prompt, from, prompt.length), from, sequence));
        return context.logits(prompt.length - from - 1);
    }

    @Test
    void savedCellsLoadIntoAnotherSequenceAndReadOnExactlyAsTheOriginalDoes() {
        try (LlamaContext context = demo.newContext(THREE);
                var arena = java.lang.foreign.Arena.ofConfined()) {
            int[] prompt = tokens(1, 30);
            int[] more = Generate.concat(prompt, tokens(2, 5));
            read(context, prompt, 0, 0);
            var state = context.saveSequence(0, arena.allocate(context.sequenceStateSize(0)));
            assertThat(state).isNotNull();
            float[] original = read(context, more, prompt.length, 0);

            assertThat(context.restoreSequence(2, state)).isTrue();
            assertThat(context.sequenceLength(2)).isEqualTo(prompt.length);
            assertThat(read(context, more, prompt.length, 2)).containsExactly(original);
            assertThat(context.sequenceLength(0))
                    .as("the original's own cells, untouched")
                    .isEqualTo(more.length);
        }
    }

    @Test
    void badArgumentsAreRefusedBeforeNativeCode() {
        try (LlamaContext context = demo.newContext(THREE);
                var arena = java.lang.foreign.Arena.ofConfined()) {
            var bytes = arena.allocate(64);
            for (int id : new int[] {-1, 3}) {
                assertThatThrownBy(() -> context.sequenceStateSize(id)).isInstanceOf(IllegalArgumentException.class);
                assertThatThrownBy(() -> context.saveSequence(id, bytes)).isInstanceOf(IllegalArgumentException.class);
                assertThatThrownBy(() -> context.restoreSequence(id, bytes))
                        .isInstanceOf(IllegalArgumentException.class);
                assertThatThrownBy(() -> context.copyPending(id)).isInstanceOf(IllegalArgumentException.class);
            }
            var heap = java.lang.foreign.MemorySegment.ofArray(new byte[64]);
            assertThatThrownBy(() -> context.saveSequence(0, heap)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.restoreSequence(0, heap)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> context.restoreSequence(0, null)).isInstanceOf(IllegalArgumentException.class);
            assertThat(context.sequenceStateSize(0)).as("an empty sequence").isZero();
            assertThat(context.saveSequence(0, bytes)).isNull();
            assertThatThrownBy(() -> new PromptCache(-1)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void cellsAreNotLoadedWhereAWaitingCopyWouldOverwriteOrCarryThemOff() {
        try (LlamaContext context = demo.newContext(THREE);
                var arena = java.lang.foreign.Arena.ofConfined()) {
            int[] prompt = tokens(1, 30);
            int[] other = tokens(2, 30);
            read(context, other, 0, 2);
            var state = context.saveSequence(2, arena.allocate(context.sequenceStateSize(2)));
            read(context, prompt, 0, 0);
            float[] original = read(context, Generate.concat(prompt, tokens(3, 4)), prompt.length, 0);
            context.truncateSequence(0, prompt.length);

            // llama.cpp copies one sequence's cache to another at the start of the next decode: until then neither
            // may take other cells, or the copy would carry those (to 1) or overwrite them (in 1).
            assertThat(context.copySequence(0, 1, prompt.length)).isTrue();
            assertThat(context.copyPending(0)).isTrue();
            assertThat(context.restoreSequence(0, state)).isFalse();
            assertThat(context.restoreSequence(1, state)).isFalse();
            try (PromptCache cache = new PromptCache(1 << 20)) {
                cache.save(context, 2, other, null);
                assertThat(cache.restore(context, Generate.concat(other, tokens(5, 2)), 1, 16))
                        .isZero();
                assertThat(cache.entries())
                        .as("kept for a slot free to take it")
                        .isEqualTo(1);
            }
            assertThat(context.saveSequence(1, arena.allocate(context.sequenceStateSize(1))))
                    .as("the target's data has yet to come")
                    .isNull();
            assertThat(context.saveSequence(0, arena.allocate(context.sequenceStateSize(0))))
                    .as("the source's is its own")
                    .isNotNull();

            assertThat(read(context, Generate.concat(prompt, tokens(3, 4)), prompt.length, 1))
                    .containsExactly(original);
            assertThat(context.copyPending(0)).isFalse();
            assertThat(context.restoreSequence(0, state)).isTrue();
            assertThat(context.sequenceLength(0)).isEqualTo(other.length);
        }
    }

    @Test
    void anEntryIsFoundByTheLongestStartItSharesAndComesBackCutToIt() {
        try (LlamaContext context = demo.newContext(THREE);
                PromptCache cache = new PromptCache(1 << 20)) {
            int[] one = tokens(1, 40);
            int[] other = tokens(3, 40);
            read(context, one, 0, 0);
            read(context, other, 0, 1);
            cache.save(context, 0, one, null);
            cache.save(context, 1, other, null);
            assertThat(cache.entries()).isEqualTo(2);

            int[] branch =
                    Generate.concat(Arrays.copyOf(one, 25), tokens(4, 6)); // leaves the conversation after 25 tokens
            PromptCache.Match match = cache.longest(branch);
            assertThat(match.shared()).isEqualTo(25);
            assertThat(match.entry().tokens).isEqualTo(one);
            assertThat(cache.restore(context, branch, 2, 26))
                    .as("less than asked for")
                    .isZero();
            assertThat(cache.restore(context, branch, 2, 16)).isEqualTo(25);
            assertThat(context.sequenceLength(2)).isEqualTo(25);
            assertThat(cache.entries())
                    .as("kept for other prompts that start so")
                    .isEqualTo(2);
            assertThat(cache.restoredTokens()).isEqualTo(25);

            // The rest of the branch read after the restored cells gives what reading it whole gives.
            context.clearSequence(0);
            float[] whole = read(context, branch, 0, 0);
            assertThat(read(context, branch, 25, 2)).containsExactly(whole, org.assertj.core.data.Offset.offset(1e-4f));
            assertThat(cache.longest(Generate.concat(one, tokens(5, 3))).shared())
                    .isEqualTo(one.length);
        }
    }

    @Test
    void aPromptSharingNoStartFindsNothingAndAWholePromptKeepsItsLastTokenToRead() {
        try (LlamaContext context = demo.newContext(THREE);
                PromptCache cache = new PromptCache(1 << 20)) {
            int[] one = tokens(1, 40);
            read(context, one, 0, 0);
            cache.save(context, 0, one, null);
            assertThat(cache.longest(tokens(9, 40))).isNull();
            assertThat(cache.longest(one).shared())
                    .as("the last token's logits are needed")
                    .isEqualTo(39);
        }
    }

    @Test
    void theBudgetGivesUpTheEntriesSavedLongestAgoAndNeverHoldsMore() {
        try (LlamaContext context = demo.newContext(THREE)) {
            int[][] conversations = {tokens(1, 40), tokens(2, 40), tokens(3, 40)};
            for (int i = 0; i < 3; i++) read(context, conversations[i], 0, i);
            long each = context.sequenceStateSize(0);
            try (PromptCache cache = new PromptCache(2 * each + each / 2)) { // room for two
                for (int i = 0; i < 3; i++) cache.save(context, i, conversations[i], null);
                assertThat(cache.entries()).isEqualTo(2);
                assertThat(cache.bytes()).isEqualTo(2 * each);
                assertThat(cache.longest(conversations[0]))
                        .as("saved longest ago")
                        .isNull();
                assertThat(cache.longest(conversations[1]).shared()).isEqualTo(39);
                assertThat(cache.longest(conversations[2]).shared()).isEqualTo(39);
            }
            try (PromptCache tooSmall = new PromptCache(each - 1)) {
                tooSmall.save(context, 0, conversations[0], null);
                assertThat(tooSmall.entries()).isZero();
                assertThat(tooSmall.bytes()).isZero();
            }
        }
    }

    @Test
    void anEntryFoundForAPromptIsTheLastTheBudgetGivesUpAndOneGivenUpSinceIsNotLoaded() {
        try (LlamaContext context = demo.newContext(THREE)) {
            int[][] conversations = {tokens(1, 40), tokens(2, 40), tokens(3, 40)};
            for (int i = 0; i < 3; i++) read(context, conversations[i], 0, i);
            long each = context.sequenceStateSize(0);
            int[] next = Generate.concat(conversations[0], tokens(4, 3));
            try (PromptCache cache = new PromptCache(2 * each + each / 2)) { // room for two
                cache.save(context, 0, conversations[0], null);
                cache.save(context, 1, conversations[1], null);
                assertThat(cache.longest(next).shared()).isEqualTo(40); // found: used most recently now
                cache.save(context, 2, conversations[2], null); // gives up the second, saved after it but unused
                assertThat(cache.longest(conversations[1])).isNull();
                assertThat(cache.restore(context, next, 1, 16)).isEqualTo(40);
            }
            try (PromptCache cache = new PromptCache(each + each / 2)) { // room for one
                cache.save(context, 0, conversations[0], null);
                assertThat(cache.longest(next).shared()).isEqualTo(40);
                cache.save(context, 2, conversations[2], null); // found, yet the only one to give up
                context.truncateSequence(1, 5);
                assertThat(cache.restore(context, next, 1, 16)).isZero();
                assertThat(context.sequenceLength(1)).as("left as it was").isEqualTo(5);
            }
        }
    }

    @Test
    void anEntryThatIsTheStartOfANewOneGivesWayAndANewOneThatIsTheStartOfAnEntryIsNotSaved() {
        try (LlamaContext context = demo.newContext(THREE);
                PromptCache cache = new PromptCache(1 << 20)) {
            int[] turn = tokens(1, 30);
            int[] next = Generate.concat(turn, tokens(2, 20));
            read(context, turn, 0, 0);
            read(context, next, 0, 1);
            cache.save(context, 0, turn, null);
            long first = cache.bytes();
            cache.save(context, 1, next, null);
            assertThat(cache.entries()).isEqualTo(1);
            assertThat(cache.longest(Generate.concat(turn, tokens(7, 2))).entry().tokens)
                    .isEqualTo(next);
            assertThat(cache.bytes()).isGreaterThan(first);

            long before = cache.bytes();
            cache.save(context, 0, turn, null); // all in the entry already
            assertThat(cache.entries()).isEqualTo(1);
            assertThat(cache.bytes()).isEqualTo(before);
        }
    }

    @Test
    void aCacheWithoutABudgetKeepsNothing() {
        try (LlamaContext context = demo.newContext(THREE);
                PromptCache cache = new PromptCache(0)) {
            int[] one = tokens(1, 40);
            read(context, one, 0, 0);
            cache.save(context, 0, one, null);
            assertThat(cache.enabled()).isFalse();
            assertThat(cache.entries()).isZero();
            assertThat(cache.longest(one)).isNull();
        }
    }
}
