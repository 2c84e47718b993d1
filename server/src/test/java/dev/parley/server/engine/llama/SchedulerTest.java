package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.check.RequestReader;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The scheduler over the demo model, driven through the engine without HTTP. */
@Timeout(60)
class SchedulerTest {

    /** A legacy request for greedy text after the given prompt token ids; end-of-text is ruled out. */
    private static dev.parley.api.CompletionRequest request(int promptTokens, int maxTokens) {
        return request(promptTokens, maxTokens, 1);
    }

    private static dev.parley.api.CompletionRequest request(int promptTokens, int maxTokens, int n) {
        return request(
                IntStream.range(0, promptTokens).map(i -> 300 + (i * 7) % 200).toArray(), maxTokens, n);
    }

    private static dev.parley.api.CompletionRequest request(int[] prompt, int maxTokens) {
        return request(prompt, maxTokens, 1);
    }

    private static dev.parley.api.CompletionRequest request(int[] prompt, int maxTokens, int n) {
        String ids = IntStream.of(prompt)
                .mapToObj(String::valueOf)
                .reduce((a, b) -> a + "," + b)
                .orElseThrow();
        String json =
                "{\"model\":\"demo\",\"prompt\":[[%s]],\"max_tokens\":%d,\"n\":%d,\"temperature\":0,\"logit_bias\":{\"2\":-100}}"
                        .formatted(ids, maxTokens, n);
        return RequestReader.completion(json.getBytes(StandardCharsets.UTF_8));
    }

    /** Lets the engine calibrate, as a server does once it listens, and waits until it has. */
    private static void awaitCalibrated(LlamaEngine engine) throws InterruptedException {
        engine.serving();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (!engine.scheduler().calibrated()) {
            assertThat(System.nanoTime()).as("calibrated within a minute").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static String text(Generation generation) throws InterruptedException {
        StringBuilder text = new StringBuilder();
        try (generation) {
            for (GenerationEvent event; (event = generation.next()) != null; ) {
                if (event instanceof GenerationEvent.Token token) text.append(token.text());
                if (event instanceof GenerationEvent.Finished finished)
                    assertThat(finished.reason()).isEqualTo("length");
            }
        }
        return text.toString();
    }

    @Test
    void aPromptThatFindsTheFreeCellsScatteredAnswersAsIfAlone() throws Exception {
        // Two slots of 64 cells. A (5 + 59) and B (20 + 40) generate side by side, so their cells alternate;
        // when B ends, its cells are free but scattered, and C's 30-token prompt must be read into them.
        var a = request(5, 59);
        var b = request(20, 40);
        var c = request(30, 20);
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(2)
                .withContextPerSequence(64))) {
            List<String> alone = new ArrayList<>();
            for (var request : List.of(a, b, c))
                alone.add(text(engine.complete(request).start()));
            Generation first = engine.complete(a).start();
            Generation second = engine.complete(b).start();
            Generation third = engine.complete(c).start(); // waits for a slot: B's, once B is done
            assertThat(List.of(text(first), text(second), text(third))).isEqualTo(alone);
        }
    }

    @Test
    void choicesOfOneRequestReadTheirSharedPromptOnce() throws Exception {
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(4)
                .withContextPerSequence(64))) {
            awaitCalibrated(engine); // calibrating clears the cache: after it, what slots hold is certain
            long before = engine.scheduler().decodedTokens();
            List<String> four = texts(engine.complete(request(40, 5, 4)).start(), 4);
            long shared = engine.scheduler().decodedTokens() - before;
            // All four are queued at once and start together in four free slots: the first reads the prompt,
            // the others get its cells; then each decodes every sampled token but its last.
            assertThat(shared).isEqualTo(40 + 4 * 4);

            before = engine.scheduler().decodedTokens();
            String one = text(engine.complete(request(40, 5)).start());
            // The same prompt again finds all of it but its last token in the cells of a choice that finished,
            // and starts in that slot.
            assertThat(engine.scheduler().decodedTokens() - before).isEqualTo(1 + 4);
            assertThat(four).containsOnly(one);
        }
    }

    /** A system prompt of 30 tokens, and two prompts that start with it. */
    private static final int[] SYSTEM =
            IntStream.range(0, 30).map(i -> 300 + (i * 7) % 200).toArray();

    private static final int[] FIRST = IntStream.concat(
                    IntStream.of(SYSTEM), IntStream.range(0, 10).map(i -> 100 + i))
            .toArray();
    private static final int[] SECOND = IntStream.concat(
                    IntStream.of(SYSTEM), IntStream.range(0, 12).map(i -> 150 + i))
            .toArray();

    private static LlamaEngine engine(int parallel, int contextPerSequence) {
        return LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(parallel)
                .withContextPerSequence(contextPerSequence));
    }

    /** The answer to {@link #SECOND} from an engine of that shape that has served nothing else. */
    private static String secondAlone(int parallel, int contextPerSequence) throws InterruptedException {
        try (var fresh = engine(parallel, contextPerSequence)) {
            return text(fresh.complete(request(SECOND, 6)).start());
        }
    }

    @Test
    void aPromptThatStartsLikeAFinishedOneReadsOnlyTheRestAndAnswersAsIfAlone() throws Exception {
        String alone = secondAlone(2, 64);
        try (var engine = engine(2, 64)) {
            awaitCalibrated(engine);
            text(engine.complete(request(FIRST, 6)).start());
            long decoded = engine.scheduler().decodedTokens();
            long reused = engine.scheduler().reusedTokens();

            assertThat(text(engine.complete(request(SECOND, 6)).start())).isEqualTo(alone);
            assertThat(engine.scheduler().reusedTokens() - reused).isEqualTo(SYSTEM.length);
            assertThat(engine.scheduler().decodedTokens() - decoded).isEqualTo(12 + 5);
        }
    }

    /** {@code count} token ids from {@code from} on, each a step of seven further in a range of 200. */
    private static int[] tokens(int from, int count) {
        return IntStream.range(0, count).map(i -> 300 + (from + i * 7) % 200).toArray();
    }

    /** Prompt tokens the engine found in a slot's cells while serving {@code prompt}; its answer checked. */
    private static long reusedServing(LlamaEngine engine, int[] prompt, String expected) throws InterruptedException {
        long before = engine.scheduler().reusedTokens();
        String answer = text(engine.complete(request(prompt, 6)).start());
        if (expected != null) assertThat(answer).isEqualTo(expected);
        return engine.scheduler().reusedTokens() - before;
    }

    @Test
    void conversationsTakingTurnsOnAnIdleEngineEachKeepTheirOwnCells() throws Exception {
        int[] one = Generate.concat(SYSTEM, tokens(1, 40)); // a long conversation after the system prompt
        int[] other = tokens(2, 20); // shares nothing with it
        int[] newcomer = Generate.concat(SYSTEM, tokens(3, 12)); // shares only the system prompt
        int[] oneNext = Generate.concat(one, tokens(4, 8));
        int[] otherNext = Generate.concat(other, tokens(5, 8));
        String newcomerAlone;
        String oneNextAlone;
        try (var fresh = engine(3, 128)) {
            newcomerAlone = text(fresh.complete(request(newcomer, 6)).start());
            oneNextAlone = text(fresh.complete(request(oneNext, 6)).start());
        }
        try (var engine = engine(3, 128)) {
            awaitCalibrated(engine); // calibrating clears the cache: after it, what slots hold is certain
            assertThat(reusedServing(engine, one, null)).isZero();
            assertThat(reusedServing(engine, other, null)).isZero(); // a slot that held nothing
            // Keeping the system prompt where the long conversation is would give up more of it than it keeps:
            // the newcomer takes the last empty slot and copies the system prompt there.
            assertThat(reusedServing(engine, newcomer, newcomerAlone)).isEqualTo(SYSTEM.length);
            // Each next turn finds its whole conversation so far where it left it.
            assertThat(reusedServing(engine, oneNext, oneNextAlone)).isEqualTo(one.length);
            assertThat(reusedServing(engine, otherNext, null)).isEqualTo(other.length);
        }
    }

    @Test
    void aLoneNewPromptOnAFullCacheGivesUpTheCellsLeftLongestAgo() throws Exception {
        int[] first = tokens(1, 20);
        int[] second = tokens(2, 20);
        int[] third = tokens(3, 20);
        try (var engine = engine(2, 64)) {
            awaitCalibrated(engine);
            reusedServing(engine, first, null);
            reusedServing(engine, second, null);
            assertThat(reusedServing(engine, third, null)).isZero(); // in the first one's slot
            assertThat(reusedServing(engine, Generate.concat(second, tokens(4, 5)), null))
                    .isEqualTo(second.length);
            assertThat(reusedServing(engine, Generate.concat(first, tokens(5, 5)), null))
                    .as("the first's cells were given up")
                    .isZero();
        }
    }

    @Test
    void moreConversationsThanSlotsEachFindTheirHistoryInThePromptCache() throws Exception {
        int[][] turns = new int[3][];
        int[][] next = new int[3][];
        String[] alone = new String[3];
        for (int k = 0; k < 3; k++) {
            turns[k] = Generate.concat(SYSTEM, tokens(k + 1, 40)); // the system prompt, then more of their own
            next[k] = Generate.concat(turns[k], tokens(k + 10, 8));
        }
        try (var fresh = engine(2, 128)) {
            for (int k = 0; k < 3; k++)
                alone[k] = text(fresh.complete(request(next[k], 6)).start());
        }
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(2)
                .withContextPerSequence(128)
                .withCacheMb(1))) {
            awaitCalibrated(engine);
            for (int[] turn : turns) reusedServing(engine, turn, null); // the third gives up the first's cells
            assertThat(engine.scheduler().promptCacheBytes()).isPositive();
            for (int k = 0; k < 3; k++) {
                // Two slots hold two conversations' cells; each next turn finds its own, in a slot or in host
                // memory (whose slot's cells go there in turn), and answers as if alone.
                assertThat(reusedServing(engine, next[k], alone[k]))
                        .as("conversation %d", k)
                        .isEqualTo(turns[k].length);
            }
            assertThat(engine.scheduler().restoredTokens()).isEqualTo(3L * turns[0].length);
        }
        try (var engine = engine(2, 128)) { // the same turns without a prompt cache: the first's cells are gone
            awaitCalibrated(engine);
            for (int[] turn : turns) reusedServing(engine, turn, null);
            assertThat(reusedServing(engine, next[0], alone[0])).isEqualTo(SYSTEM.length);
        }
    }

    @Test
    void cellsLoadedFromThePromptCacheStayThereForAnotherPromptThatStartsTheSameWay() throws Exception {
        int[] shared =
                Generate.concat(SYSTEM, tokens(1, 40)); // a long system prompt, say, that two conversations start with
        int[] second = Generate.concat(shared, tokens(8, 5));
        String secondAlone;
        try (var fresh = engine(2, 2048)) {
            secondAlone = text(fresh.complete(request(second, 6)).start());
        }
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(2)
                .withContextPerSequence(2048)
                .withCacheMb(1))) {
            awaitCalibrated(engine);
            reusedServing(engine, shared, null); // slot 0
            reusedServing(engine, tokens(2, 40), null); // slot 1
            reusedServing(engine, tokens(3, 40), null); // slot 0 again: the shared start goes to host memory
            long restored = engine.scheduler().restoredTokens();
            // Nobody reads this one: it stops at the backlog bound and holds its slot (1) until closed.
            try (Generation first = engine.complete(request(Generate.concat(shared, tokens(7, 5)), 1900))
                    .start()) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (engine.scheduler().restoredTokens() == restored) {
                    assertThat(System.nanoTime()).as("it started within 30 s").isLessThan(deadline);
                    Thread.sleep(5);
                }
                assertThat(reusedServing(engine, second, secondAlone)).isEqualTo(shared.length);
                assertThat(engine.scheduler().restoredTokens() - restored)
                        .as("both loaded it")
                        .isEqualTo(2L * shared.length);
            }
        }
    }

    @Test
    void aSequenceStartedBesideARunningOneTakesASlotNextToIt() throws Exception {
        try (var engine = engine(4, 2048)) {
            awaitCalibrated(engine);
            for (int k = 1; k <= 3; k++) reusedServing(engine, tokens(k, 20), null); // slots 0, 1 and 2 hold these
            // Nobody reads these two: each stops at the backlog bound and holds its slot until closed.
            try (Generation alone = engine.complete(request(tokens(7, 5), 2000)).start();
                    Generation beside =
                            engine.complete(request(tokens(8, 5), 2000)).start()) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                List<Integer> busy;
                do {
                    assertThat(System.nanoTime()).as("both started within 30 s").isLessThan(deadline);
                    Thread.sleep(5);
                    busy = engine.health().slots().each().stream()
                            .filter(slot -> !slot.state().equals("idle"))
                            .map(dev.parley.server.engine.Health.Slot::id)
                            .toList();
                } while (busy.size() < 2);
                // The first took the slot that held nothing; the second, beside it, the one next to it (its only
                // neighbour), not the lowest free slot: llama.cpp decodes the two together only so.
                assertThat(busy).containsExactly(2, 3);
            }
        }
    }

    @Test
    void aPromptReadWhileAnotherAnswerRunsStillReadsOnlyWhatANewlyFinishedOneDidNotHold() throws Exception {
        String alone = secondAlone(3, 2048);
        try (var engine = engine(3, 2048)) {
            awaitCalibrated(engine);
            // Slot 0: nobody reads it, so it stops at the backlog bound and holds its slot until closed.
            Generation running = engine.complete(request(5, 2000)).start();
            text(engine.complete(request(FIRST, 6)).start()); // slot 1: finishes while the long one runs
            long reused = engine.scheduler().reusedTokens();

            assertThat(text(engine.complete(request(SECOND, 6)).start())).isEqualTo(alone);
            // The first left its cells in slot 1 beside the running answer; the second keeps them.
            assertThat(engine.scheduler().reusedTokens() - reused).isEqualTo(SYSTEM.length);
            running.close();
        }
    }

    @Test
    void aPromptThatStartsLikeOneWhoseAnswerRunsCopiesThatStartFromItsSlot() throws Exception {
        String alone = secondAlone(3, 2048);
        try (var engine = engine(3, 2048)) {
            awaitCalibrated(engine);
            // Nobody reads this one: it stops at the backlog bound and holds its slot until closed.
            try (Generation running = engine.complete(request(Generate.concat(FIRST, tokens(9, 30)), 1900))
                    .start()) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (engine.health().slots().each().stream()
                        .noneMatch(slot -> slot.state().equals("generating"))) {
                    assertThat(System.nanoTime())
                            .as("its prompt read within 30 s")
                            .isLessThan(deadline);
                    Thread.sleep(5);
                }
                long reused = engine.scheduler().reusedTokens();
                assertThat(text(engine.complete(request(SECOND, 6)).start())).isEqualTo(alone);
                assertThat(engine.scheduler().reusedTokens() - reused)
                        .as("the system prompt, copied from the running answer's cells")
                        .isEqualTo(SYSTEM.length);
            }
        }
    }

    @Test
    void choicesThatStartAfterTheirSiblingsReadThePromptStillShareIt() throws Exception {
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(2)
                .withContextPerSequence(64))) {
            String one = text(engine.complete(request(40, 5)).start());

            long before = engine.scheduler().decodedTokens();
            List<String> four = texts(engine.complete(request(40, 5, 4)).start(), 4);
            long decoded = engine.scheduler().decodedTokens() - before;
            // Two slots: two choices start, two wait. A late one copies the prompt from a sibling still running
            // (reading only its last token again), or, when both have finished, one reads it for the two. Either
            // way the prompt is read at most once per pair, never once per choice (4 × 40 + 16).
            assertThat(decoded).isLessThanOrEqualTo(2 * 40 + 4 * 4);
            assertThat(four).containsOnly(one);
        }
    }

    @Test
    void calibratesInItsIdleMomentsOnceServingAndServesMeanwhile() throws Exception {
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(4)
                .withContextPerSequence(64))) {
            // Not before the server in front listens: idle moments while it starts are not measured.
            assertThat(text(engine.complete(request(8, 5)).start())).isNotEmpty();
            Thread.sleep(300); // three of the idle scheduler's rounds (a demo calibration takes a few decodes)
            assertThat(engine.scheduler().calibrated()).isFalse();
            engine.serving();
            // Answered whether or not calibration has begun: a request waits at most for one piece of it.
            assertThat(text(engine.complete(request(8, 5)).start())).isNotEmpty();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!engine.scheduler().calibrated()) {
                assertThat(System.nanoTime()).as("waiting for calibration").isLessThan(deadline);
                Thread.sleep(10);
            }
            // The request left its cells for a next prompt that shares its start; calibration clears them first.
            assertThat(engine.scheduler().calibrationFailed()).isFalse();
            assertThat(text(engine.complete(request(8, 5)).start())).isNotEmpty();
        }
    }

    @Test
    void aGenerationNobodyReadsStopsAtTheBacklogBoundWhileOthersAreServed() throws Exception {
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(2)
                .withContextPerSequence(2048))) {
            Scheduler scheduler = engine.scheduler();
            String alone = text(engine.complete(request(8, 1500)).start());
            Generation unread = engine.complete(request(8, 1500)).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (scheduler.highestBacklog() < Scheduler.MAX_BACKLOG) {
                assertThat(System.nanoTime())
                        .as("waiting for the backlog to fill")
                        .isLessThan(deadline);
                Thread.sleep(5);
            }
            // Paused, not finished: another request is served meanwhile, and the unread one has not grown.
            assertThat(text(engine.complete(request(8, 20)).start())).isNotEmpty();
            assertThat(((LlamaGeneration) unread).backlog())
                    .isBetween(Scheduler.MAX_BACKLOG, Scheduler.MAX_BACKLOG + 2);
            // Its reader catches up: it resumes and ends as it would have alone.
            assertThat(text(unread)).isEqualTo(alone);
            assertThat(scheduler.highestBacklog()).isLessThanOrEqualTo(Scheduler.MAX_BACKLOG + 2);
        }
    }

    /** The text of each of {@code n} choices, read to the end. */
    private static List<String> texts(Generation generation, int n) throws InterruptedException {
        StringBuilder[] texts = new StringBuilder[n];
        for (int i = 0; i < n; i++) texts[i] = new StringBuilder();
        try (generation) {
            for (GenerationEvent event; (event = generation.next()) != null; ) {
                if (event instanceof GenerationEvent.Token token) texts[token.choice()].append(token.text());
            }
        }
        return java.util.Arrays.stream(texts).map(StringBuilder::toString).toList();
    }

    /** As {@link #request(int, int)}, with a log-probability on every token, so that each one is an event. */
    private static dev.parley.api.CompletionRequest everyToken(int promptTokens, int maxTokens) {
        String ids = IntStream.range(0, promptTokens)
                .mapToObj(i -> String.valueOf(300 + (i * 7) % 200))
                .reduce((a, b) -> a + "," + b)
                .orElseThrow();
        String json =
                "{\"model\":\"demo\",\"prompt\":[[%s]],\"max_tokens\":%d,\"temperature\":0,\"logprobs\":0,\"logit_bias\":{\"2\":-100}}"
                        .formatted(ids, maxTokens);
        return RequestReader.completion(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readersFirstHoldsEachDecodeUntilTheReaderHasTakenWhatTheLastOneGave() throws Exception {
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(2)
                .withContextPerSequence(64))) {
            awaitCalibrated(engine);
            engine.scheduler().readersFirst(true, TimeUnit.SECONDS.toNanos(30));
            long before = engine.scheduler().decodedTokens();
            List<Long> decodedAtEachToken = new ArrayList<>();
            try (Generation generation = engine.complete(everyToken(10, 12)).start()) {
                for (GenerationEvent event; (event = generation.next()) != null; ) {
                    if (!(event instanceof GenerationEvent.Token)) continue;
                    decodedAtEachToken.add(engine.scheduler().decodedTokens() - before);
                    Thread.sleep(5); // a slow write: the next decode must not run meanwhile
                }
            }
            // The prompt's 10 tokens, then one decode per token the reader has come back from, never more.
            assertThat(decodedAtEachToken)
                    .isEqualTo(LongStream.range(0, 12).map(k -> 10 + k).boxed().toList());
            assertThat(engine.scheduler().readersGivenUp()).isZero();
        }
    }

    @Test
    void aReaderThatStopsReadingIsWaitedForOnceNotAtEveryDecode() throws Exception {
        try (var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(2)
                .withContextPerSequence(64))) {
            awaitCalibrated(engine);
            engine.scheduler().readersFirst(true, TimeUnit.SECONDS.toNanos(1));
            try (Generation stuck = engine.complete(everyToken(5, 40)).start()) {
                assertThat(stuck.next()).isInstanceOf(GenerationEvent.Token.class); // and then reads no more
                List<String> answer = texts(engine.complete(everyToken(6, 30)).start(), 1);
                assertThat(answer.getFirst()).isNotEmpty();
            }
            // The stuck reader cost one wait of a second; each later decode went on without it. A decode per
            // token that waited for it would have given up about thirty times.
            assertThat(engine.scheduler().readersGivenUp()).isBetween(1L, 3L);
        }
    }
}
