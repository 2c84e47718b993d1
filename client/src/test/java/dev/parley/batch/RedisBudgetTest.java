package dev.parley.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.Json;
import dev.parley.client.ClientOptions;
import dev.parley.limits.RateLimitSnapshot;
import dev.parley.testkit.RedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Budgets shared through a real Redis. The budget's arithmetic runs on a stepped clock (given to the script
 * instead of Redis's own), two budgets taking turns as two processes would, against a server limiter in the
 * same simulated time; whole batches run in real time against a server that enforces the same limits over
 * one-second windows, where what is checked does not depend on how the machine schedules them (every line
 * once, waiting out an outage). Each budget has its own Redis connection, as two processes on two machines.
 */
@Timeout(60)
class RedisBudgetTest {
    static final BudgetLimits LIMITS = new BudgetLimits(3000, 10_000_000, Duration.ofSeconds(1)); // 50 a second
    static RedisServer redis;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        redis = RedisServer.start();
    }

    @AfterAll
    static void stop() {
        if (redis != null) redis.close();
    }

    static Path input(Path dir, String name, int lines) throws Exception {
        Path input = dir.resolve(name + ".jsonl");
        Files.write(
                input,
                IntStream.range(0, lines)
                        .mapToObj(i -> "{\"custom_id\":\"" + name + i
                                + "\",\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Question "
                                + i
                                + "\"}],\"max_tokens\":20}")
                        .toList());
        return input;
    }

    static BatchRunner runner(LimitingServer server, String budget, BatchListener listener) {
        var client = ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl())
                .apiKey("sk-x")
                .build();
        return BatchRunner.create(
                client,
                BatchOptions.builder()
                        .limits(LIMITS)
                        .maxConcurrency(25)
                        .redis(redis.uri())
                        .budgetName(budget)
                        .listener(listener)
                        .build());
    }

    static void assertEveryLineOnce(Path output, String name, int lines) throws Exception {
        List<String> ids = Files.readAllLines(output).stream()
                .map(line -> Json.tree(line).get("custom_id").asText())
                .toList();
        assertThat(ids)
                .hasSize(lines)
                .doesNotHaveDuplicates()
                .containsExactlyInAnyOrderElementsOf(
                        IntStream.range(0, lines).mapToObj(i -> name + i).toList());
    }

    /** A sleeper that answers the first wait it is asked for by interrupting: the acquire would have waited. */
    static final class Refusing implements dev.parley.client.Sleeper {
        final Queue<Duration> waits = new ConcurrentLinkedQueue<>();

        @Override
        public void sleep(Duration duration) throws InterruptedException {
            waits.add(duration);
            throw new InterruptedException("would wait " + duration);
        }
    }

    static Budget shared(String name, BudgetLimits limits, dev.parley.client.Sleeper sleeper) {
        return Budget.redis(redis.uri(), name, limits, System::nanoTime, sleeper, message -> {});
    }

    /** A budget in Redis on {@code time} instead of Redis's clock, so that the test steps it. */
    static Budget stepped(String name, BudgetLimits limits, SteppingTime time) {
        return new RedisBudget(redis.uri(), name, limits, time, time, message -> {}, () -> time.getAsLong() / 1000);
    }

    @Test
    void whatTheServerSaysIsLeftLiftsTheSharedLevelAndA429InAnyProcessEndsFollowingForAll() throws Exception {
        var time = new SteppingTime();
        var limits = new BudgetLimits(120, Double.POSITIVE_INFINITY, Duration.ofSeconds(1)); // a burst of 2
        String name = "lift-" + UUID.randomUUID();
        try (Budget one = stepped(name, limits, time);
                Budget other = stepped(name, limits, time)) {
            var plenty = new RateLimitSnapshot(null, null, 1000L, null, null, null);
            one.observe(plenty, Duration.ZERO); // a new bucket (1) lifted by one step, one burst (2)
            for (int i = 0; i < 3; i++) other.acquire(1); // the other process spends the lift
            assertThat(time.sleeps()).isEmpty();

            other.pauseFor(Duration.ofSeconds(1)); // its 429
            one.observe(plenty, Duration.ZERO); // would lift again (4) were following not over
            for (int i = 0; i < 3; i++) one.acquire(1);
            // The pause, the one burst (2) that refilled meanwhile, then the refill of one request.
            assertThat(time.sleeps()).containsExactly(Duration.ofSeconds(1), Duration.ofMillis(500));
        }
    }

    @Test
    void aLiftIsConfirmedOnlyByAnAnswerToARequestSentAfterIt() throws Exception {
        var time = new SteppingTime();
        var limits = new BudgetLimits(120, Double.POSITIVE_INFINITY, Duration.ofSeconds(1));
        String name = "confirm-" + UUID.randomUUID();
        try (Budget one = stepped(name, limits, time);
                Budget other = stepped(name, limits, time)) {
            var plenty = new RateLimitSnapshot(null, null, 1000L, null, null, null);
            one.observe(plenty, Duration.ZERO); // 1 + 2
            time.step(Duration.ofMillis(10));
            other.observe(plenty, Duration.ofMillis(20)); // sent before the lift: no second step
            for (int i = 0; i < 3; i++) one.acquire(1);
            assertThat(time.sleeps()).isEmpty();
            one.acquire(1);
            assertThat(time.sleeps()).hasSize(1);
            other.observe(plenty, Duration.ZERO); // sent after it: the next step, twice the first (4)
            int before = time.sleeps().size();
            for (int i = 0; i < 4; i++) other.acquire(1);
            assertThat(time.sleeps()).hasSize(before);
        }
    }

    @Test
    void aPauseAfterA429InOneProcessHoldsTheRequestsOfAnother() throws Exception {
        var refusing = new Refusing();
        try (Budget one = shared("pause", LIMITS, new Refusing());
                Budget other = shared("pause", LIMITS, refusing)) {
            one.pauseFor(Duration.ofSeconds(30));
            assertThatThrownBy(() -> other.acquire(10)).isInstanceOf(InterruptedException.class);
            assertThat(refusing.waits)
                    .singleElement()
                    .satisfies(wait -> assertThat(wait).isBetween(Duration.ofSeconds(29), Duration.ofSeconds(30)));
        }
    }

    @Test
    void aSettlementInOneProcessGivesTheUnusedTokensToAnother() throws Exception {
        // 60,000 tokens a minute with a one-second burst: the bucket holds 1,000 and starts with 500.
        var limits = new BudgetLimits(Double.POSITIVE_INFINITY, 60_000, Duration.ofSeconds(1));
        var refusing = new Refusing();
        try (Budget one = shared("settle", limits, new Refusing());
                Budget other = shared("settle", limits, refusing)) {
            Budget.Permit permit = one.acquire(500);
            assertThatThrownBy(() -> other.acquire(400)).isInstanceOf(InterruptedException.class);
            permit.settle(50); // 450 of the estimate were not used
            other.acquire(400);
            assertThat(refusing.waits).hasSize(1); // the second acquire did not wait
        }
    }

    @Test
    void twoBatchesSharingARedisBudgetInRealTimeEachWriteEveryLineOnce() throws Exception {
        int lines = 150; // 300 together at 50 a second: some 6 s
        try (var server = new LimitingServer(LIMITS.requestsPerMinute(), LIMITS.tokensPerMinute());
                var processes = Executors.newFixedThreadPool(2)) {
            var ready = new CountDownLatch(2);
            List<Future<BatchSummary>> runs = List.of("a", "b").stream()
                    .map(name -> processes.submit(() -> {
                        Path input = input(dir, name, lines);
                        BatchRunner runner = runner(server, "shared", BatchListener.NONE);
                        ready.countDown();
                        ready.await();
                        return runner.run(input, dir.resolve(name + "-out.jsonl"));
                    }))
                    .toList();
            BatchSummary a = runs.get(0).get(50, TimeUnit.SECONDS);
            BatchSummary b = runs.get(1).get(50, TimeUnit.SECONDS);
            System.out.println("[shared budget] a: " + a.describe());
            System.out.println("[shared budget] b: " + b.describe());

            assertEveryLineOnce(dir.resolve("a-out.jsonl"), "a", lines);
            assertEveryLineOnce(dir.resolve("b-out.jsonl"), "b", lines);
            // That together they stay within the one budget is the simulated test's to show: a busy machine
            // bunches real requests, so how many a server turns away here is the machine's, not the budget's.
        }
    }

    @Test
    void twoProcessesTakingTurnsSpendOneBudgetTogetherAndNeverOverrunTheServer() throws Exception {
        var time = new SteppingTime();
        // 120 requests a minute, a one-second burst: the server admits 2 a second, as OpenAI would.
        var limits = new BudgetLimits(120, Double.POSITIVE_INFINITY, Duration.ofSeconds(1));
        var server = new BurstFollowingTest.RefillingBucket(2, time.getAsLong());
        String name = "turns-" + UUID.randomUUID();
        int rejected = 0;
        try (Budget one = stepped(name, limits, time);
                Budget other = stepped(name, limits, time)) {
            long start = time.getAsLong();
            for (int i = 0; i < 200; i++) {
                Budget budget = i % 2 == 0 ? one : other; // each given the whole limit, as the README says
                Budget.Permit permit = budget.acquire(1);
                long now = time.getAsLong();
                boolean admitted = server.admit(now);
                budget.observe(
                        new RateLimitSnapshot(120L, null, server.remaining(now), null, null, null), Duration.ZERO);
                permit.settle(admitted ? 1 : 0);
                if (!admitted) rejected++;
            }
            Duration took = Duration.ofNanos(time.getAsLong() - start);
            System.out.println("[shared budget, simulated] 200 requests in " + took + ", " + rejected + " rejected");
            assertThat(rejected).isZero();
            // Together at the one rate, 2 a second after the first one (a new bucket is half full): had each
            // its own budget, they would go twice as fast and meet 429s.
            assertThat(took).isEqualTo(Duration.ofMillis(99_500));
        }
    }

    @Test
    void whileRedisIsAwayTheBatchWaitsAndThenFinishesEveryLineOnce() throws Exception {
        int lines = 150;
        Path input = input(dir, "c", lines);
        Path output = dir.resolve("c-out.jsonl");
        var written = new AtomicLong();
        Queue<String> warnings = new ConcurrentLinkedQueue<>();
        var listener = new BatchListener() {
            @Override
            public void written(BatchResult result) {
                written.incrementAndGet();
            }

            @Override
            public void warning(String message) {
                warnings.add(message);
            }
        };
        try (var server = new LimitingServer(LIMITS.requestsPerMinute(), LIMITS.tokensPerMinute());
                var process = Executors.newSingleThreadExecutor()) {
            BatchRunner runner = runner(server, "outage", listener);
            Future<BatchSummary> run = process.submit(() -> runner.run(input, output));
            while (written.get() < 30 && !run.isDone()) Thread.sleep(10);
            redis.stop();
            long writtenWhenDown = written.get();
            Thread.sleep(1500);
            long writtenWhileDown = written.get() - writtenWhenDown;
            redis.startAgain();
            BatchSummary summary = run.get(50, TimeUnit.SECONDS);
            System.out.println("[redis outage] " + summary.describe());

            assertThat(writtenWhileDown).as("only what was in flight finishes").isLessThanOrEqualTo(25);
            assertEveryLineOnce(output, "c", lines);
            assertThat(warnings.stream().collect(Collectors.joining("\n"))).contains("is unreachable", "answers again");
        }
    }
}
