package dev.parley.batch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ApiError;
import dev.parley.api.ApiException;
import dev.parley.api.AuthenticationException;
import dev.parley.api.Json;
import dev.parley.api.QuotaExceededException;
import dev.parley.api.RateLimitException;
import dev.parley.api.Usage;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.client.Response;
import dev.parley.client.TransportException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sends every request of a JSONL file and writes each result to a JSONL file, as fast as the
 * {@link Budget} allows and with nothing lost:
 * <ul>
 *   <li>each request's tokens are estimated before it is sent and settled against its {@code usage};
 *       the budget follows the servers' {@code x-ratelimit-*} down;
 *   <li>a 429 pauses every request for the server's {@code retry-after} (else the cool-down); any
 *       transient failure (408, 409, 429, 5xx, a lost connection) is retried with the request's own
 *       backoff, up to {@code maxAttempts} sends, and then written as a failure; other errors are written
 *       at once, except an invalid API key or a used-up quota, which stop the run (nothing is written
 *       for the requests they hit, so a rerun sends them);
 *   <li>an invalid input line is reported with its number and skipped;
 *   <li>results are flushed as they finish, so a rerun with the same output skips what is written
 *       (see {@link BatchResult#id}) and finishes the rest.
 * </ul>
 *
 * <p>The client's own retries are turned off: the runner retries, so that every attempt is paced by the
 * budget. Thread-safe; one run at a time per output file.
 */
public final class BatchRunner {
    private final ClientOptions client;
    private final BatchOptions options;
    private final Counters counters = new Counters();
    private final AtomicReference<String> stoppedBy = new AtomicReference<>();
    private volatile long started;

    private BatchRunner(ClientOptions client, BatchOptions options) {
        this.client = client.toBuilder().maxRetries(0).pacer(null).build();
        this.options = options;
    }

    public static BatchRunner create(ClientOptions client, BatchOptions options) {
        return new BatchRunner(client, options);
    }

    /**
     * Runs {@code input} into {@code output} (appended to; created when missing) and answers how it went.
     *
     * @throws UncheckedIOException when the input cannot be read or the output written
     * @throws InterruptedException when interrupted; what was written stays, and a rerun does the rest
     */
    public BatchSummary run(Path input, Path output) throws InterruptedException {
        started = options.nanoTime().getAsLong();
        counters.lines.set(countLines(input));
        Budget budget = options.openBudget(client);
        LineReader reader = new LineReader(options.endpoint(), new Estimator(options.tokenEncoding()));
        Semaphore slots = new Semaphore(options.maxConcurrency());
        try (ResultLog results = ResultLog.open(output, options.keepOrder(), options.listener()::warning);
                BufferedReader lines = Files.newBufferedReader(input, StandardCharsets.UTF_8);
                ParleyClient parley = ParleyClient.create(client);
                ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            Set<String> done = results.done();
            long number = 0;
            long sequence = 0;
            for (String text = lines.readLine(); text != null && stoppedBy.get() == null; text = lines.readLine()) {
                switch (reader.read(++number, text)) {
                    case InputLine.Blank blank -> {}
                    case InputLine.Invalid(long line, String message) -> {
                        counters.invalid.incrementAndGet();
                        options.listener().invalidLine(line, message);
                    }
                    case InputLine.Job job when done.contains(job.id()) -> counters.alreadyDone.incrementAndGet();
                    case InputLine.Job job -> {
                        slots.acquire(); // at most maxConcurrency in flight
                        counters.inFlight.incrementAndGet();
                        long place = sequence++;
                        workers.submit(() -> {
                            try {
                                BatchResult result = send(parley, budget, job); // retried, paced by the budget
                                if (result != null) {
                                    results.write(place, result); // appended and flushed
                                    (result.succeeded() ? counters.succeeded : counters.failed).incrementAndGet();
                                    options.listener().written(result);
                                }
                            } catch (RuntimeException e) {
                                // Not a request's failure but the run's (the results file cannot be written):
                                // stop rather than send requests whose answers would be lost.
                                stoppedBy.compareAndSet(null, String.valueOf(e));
                            } finally {
                                counters.inFlight.decrementAndGet();
                                slots.release();
                            }
                            return null;
                        });
                    }
                }
            }
            workers.shutdown();
            while (!workers.isTerminated()) workers.awaitTermination(1, java.util.concurrent.TimeUnit.SECONDS);
            if (results.held() > 0) {
                options.listener()
                        .warning("%d results held back for input order were not written; a rerun sends them again"
                                .formatted(results.held()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + input, e);
        } finally {
            if (budget != options.budget()) budget.close();
        }
        return new BatchSummary(progress(), budget.usage(), stoppedBy.get());
    }

    /** Where the run stands; callable from any thread while it runs. */
    public BatchProgress progress() {
        long start = started;
        Duration elapsed =
                start == 0 ? Duration.ZERO : Duration.ofNanos(options.nanoTime().getAsLong() - start);
        return new BatchProgress(
                counters.lines.get(),
                counters.alreadyDone.get(),
                counters.succeeded.get(),
                counters.failed.get(),
                counters.invalid.get(),
                counters.inFlight.get(),
                counters.attempts.get(),
                counters.rateLimited.get(),
                counters.tokens.get(),
                elapsed);
    }

    /** Sends one request until it succeeds, fails for good, or the run stops (then null: nothing to write). */
    private BatchResult send(ParleyClient parley, Budget budget, InputLine.Job job) throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            if (stoppedBy.get() != null) return null;
            Budget.Permit permit = budget.acquire(job.estimate());
            counters.attempts.incrementAndGet();
            long sent = options.nanoTime().getAsLong();
            try {
                Response<?> response = call(parley, job.request());
                budget.observe(response.info().rateLimit(), since(sent));
                long used = usedTokens(response.body(), job.estimate());
                permit.settle(used);
                counters.tokens.addAndGet(used);
                return result(
                        job,
                        Json.mapper().valueToTree(response.body()),
                        null,
                        response.info().status(),
                        attempt);
            } catch (ApiException e) {
                budget.observe(e.rateLimit(), since(sent));
                permit.settle(0);
                if (e instanceof AuthenticationException || e instanceof QuotaExceededException) {
                    stoppedBy.compareAndSet(null, e.getMessage() + " (HTTP " + e.status() + ")");
                    return null;
                }
                if (e instanceof RateLimitException limited) {
                    counters.rateLimited.incrementAndGet();
                    Duration wait =
                            limited.retryAfter(options.clock().instant()).orElse(options.cooldown());
                    budget.pauseFor(wait); // every worker waits it out
                    options.listener().paused(wait, e.getMessage());
                }
                if (!retryable(e) || attempt >= options.maxAttempts())
                    return result(job, null, e.error(), e.status(), attempt);
                if (!(e instanceof RateLimitException)) options.sleeper().sleep(backoff(attempt));
            } catch (TransportException e) {
                permit.settle(0);
                if (attempt >= options.maxAttempts()) {
                    return result(job, null, new ApiError(e.getMessage(), "connection_error", null, null), 0, attempt);
                }
                options.sleeper().sleep(backoff(attempt));
            }
        }
    }

    private static Response<?> call(ParleyClient parley, BatchRequest request) {
        return switch (request) {
            case BatchRequest.Chat(var chat) -> parley.withResponse().chat(chat);
            case BatchRequest.Completion(var completion) ->
                parley.withResponse().complete(completion);
        };
    }

    private static long usedTokens(Object body, long estimate) {
        Usage usage = switch (body) {
            case dev.parley.api.ChatCompletion chat -> chat.usage();
            case dev.parley.api.TextCompletion text -> text.usage();
            default -> null;
        };
        return usage == null ? estimate : usage.totalTokens();
    }

    /** 408, 409, 429 and 5xx may pass on another try; other statuses will not. */
    private static boolean retryable(ApiException e) {
        int status = e.status();
        return status == 408 || status == 409 || status == 429 || status >= 500;
    }

    /** Full jitter: uniform in [0, min(maxBackoff, initialBackoff × 2^(attempt−1))]. */
    private Duration backoff(int attempt) {
        double ceiling = options.initialBackoff().toNanos() * Math.pow(2, Math.min(attempt - 1, 40));
        long high = (long) Math.min(options.maxBackoff().toNanos(), ceiling);
        return Duration.ofNanos((long) (options.random().nextDouble() * high));
    }

    private Duration since(long sent) {
        return Duration.ofNanos(Math.max(0, options.nanoTime().getAsLong() - sent));
    }

    private static BatchResult result(InputLine.Job job, JsonNode response, ApiError error, int status, int attempts) {
        return new BatchResult(
                job.id(), job.customId(), job.number(), job.body(), response, error, status, attempts, job.metadata());
    }

    private static long countLines(Path input) {
        try (var lines = Files.lines(input, StandardCharsets.UTF_8)) {
            return lines.count();
        } catch (IOException | UncheckedIOException e) {
            throw new UncheckedIOException(
                    "cannot read " + input, e instanceof IOException io ? io : ((UncheckedIOException) e).getCause());
        }
    }

    private static final class Counters {
        final AtomicLong lines = new AtomicLong();
        final AtomicLong alreadyDone = new AtomicLong();
        final AtomicLong succeeded = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicLong invalid = new AtomicLong();
        final AtomicLong inFlight = new AtomicLong();
        final AtomicLong attempts = new AtomicLong();
        final AtomicLong rateLimited = new AtomicLong();
        final AtomicLong tokens = new AtomicLong();
    }
}
