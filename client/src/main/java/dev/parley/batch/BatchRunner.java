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
import dev.parley.client.RequestOptions;
import dev.parley.client.Response;
import dev.parley.client.TransportException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
 *       the budget follows the servers' {@code x-ratelimit-*} down, and up while they have more left
 *       than one burst;
 *   <li>a 429 pauses every request for the server's {@code retry-after} (else the cool-down); any
 *       transient failure (408, 409, 429, 5xx, a lost connection) is retried with the request's own
 *       backoff, up to {@code maxAttempts} sends, and then written as a failure that the next run sends
 *       again; other errors are written at once (sent again only with {@code retryFailed}), except an
 *       invalid API key or a used-up quota, which stop the run (nothing is written for the requests they
 *       hit, so a rerun sends them);
 *   <li>an invalid input line (not UTF-8, not JSON, a broken rule) is written as an error with its number
 *       and reported; the other lines run;
 *   <li>results are flushed as they finish, so a rerun with the same output skips what is written
 *       (see {@link BatchResult#id}) and finishes the rest; the output is locked while a run writes it.
 * </ul>
 *
 * <p>The client's own retries are turned off: the runner retries, so that every attempt is paced by the
 * budget. Thread-safe; one run at a time per output file (a second is refused).
 */
public final class BatchRunner {
    private final ClientOptions client;
    private final BatchOptions options;
    private final Counters counters = new Counters();
    private final AtomicReference<String> stoppedBy = new AtomicReference<>();
    private volatile long started;
    private volatile ResultLog log;

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
     * @throws UncheckedIOException when the input cannot be read or the output written (the message names
     *     the reason), the output is the input file itself, or another run is writing the output
     * @throws InterruptedException when interrupted; what was written stays, and a rerun does the rest
     */
    public BatchSummary run(Path input, Path output) throws InterruptedException {
        if (sameFile(input, output)) { // results appended to the requests would be read back as requests
            String message = "the results file " + output + " is the input file itself: give the results another file";
            throw new UncheckedIOException(message, new IOException(message));
        }
        counters.lines.set(countLines(input));
        try (InputStream in = Files.newInputStream(input)) {
            return run(in, input.toString(), output);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + FileErrors.describe(input, e), e);
        }
    }

    /**
     * Runs the lines of {@code input}, e.g. stdin, into {@code output}; {@code name} names the input in
     * messages. The stream is read to its end and not closed.
     *
     * @throws UncheckedIOException as {@link #run(Path, Path)}
     */
    public BatchSummary run(InputStream input, String name, Path output) throws InterruptedException {
        started = options.nanoTime().getAsLong();
        Budget budget = options.openBudget(client);
        LineReader reader = new LineReader(options.endpoint(), new Estimator(options.tokenEncoding()));
        Semaphore slots = new Semaphore(options.maxConcurrency());
        ResultFormat format = options.resultFormat();
        try (ResultLog results = ResultLog.open(
                        output, format, options.keepOrder(), options.retryFailed(), options.listener()::warning);
                ParleyClient parley = ParleyClient.create(client);
                ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            log = results;
            if (results.redone() > 0) {
                options.listener()
                        .warning("%d failed lines of an earlier run are sent again".formatted(results.redone()));
            }
            var lines = new LineSplitter(input);
            long number = 0;
            long sequence = 0;
            for (LineSplitter.Line text = lines.next(); text != null && stoppedBy.get() == null; text = lines.next()) {
                switch (reader.read(++number, text.bytes(), text.length())) {
                    case InputLine.Blank blank -> {}
                    case InputLine.Invalid invalid -> {
                        counters.invalid.incrementAndGet();
                        options.listener().invalidLine(invalid.number(), invalid.message());
                        written(results.write(sequence++, invalid(invalid), invalid.echo()));
                    }
                    case InputLine.Job job -> {
                        ResultFormat.State earlier = results.claim(format.key(job));
                        if (earlier != null) {
                            counters.alreadyDone.incrementAndGet();
                            if (earlier != ResultFormat.State.SUCCEEDED) counters.alreadyFailed.incrementAndGet();
                            continue;
                        }
                        slots.acquire(); // at most maxConcurrency in flight
                        counters.inFlight.incrementAndGet();
                        long place = sequence++;
                        workers.submit(() -> {
                            try {
                                BatchResult result = send(parley, budget, job); // retried, paced by the budget
                                if (result != null) written(results.write(place, result, job.echo()));
                            } catch (RuntimeException e) {
                                // Not a request's failure but the run's (the results file cannot be written):
                                // stop rather than send requests whose answers would be lost.
                                stoppedBy.compareAndSet(null, e.getMessage() != null ? e.getMessage() : e.toString());
                            } finally {
                                counters.inFlight.decrementAndGet();
                                slots.release();
                            }
                            return null;
                        });
                    }
                }
            }
            if (counters.lines.get() == 0) counters.lines.set(number);
            workers.shutdown();
            while (!workers.isTerminated()) workers.awaitTermination(1, java.util.concurrent.TimeUnit.SECONDS);
            // A run that stopped early may hold results back for input order: they are finished, so written.
            written(results.release(false));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + name + ": " + FileErrors.reason(e), e);
        } finally {
            log = null;
            if (budget != options.budget()) budget.close();
        }
        return new BatchSummary(progress(), budget.usage(), stoppedBy.get());
    }

    /**
     * For a run being interrupted (e.g. from a shutdown hook): writes at once the finished results that
     * wait for earlier lines in input order, so that none is lost, then stops the run and closes the
     * results to further writes. Answers the lines this run wrote to the results file, which from then on
     * is all it holds of this run; a rerun sends what had not finished.
     */
    public long stopAndReleaseHeldResults() {
        stoppedBy.compareAndSet(null, "interrupted");
        ResultLog current = log;
        if (current == null) return 0;
        written(current.release(true));
        return current.appended();
    }

    /** Results finished but held back for input order; 0 when not keeping order. */
    public int heldResults() {
        ResultLog current = log;
        return current == null ? 0 : current.held();
    }

    private int written(List<BatchResult> appended) {
        for (BatchResult result : appended) {
            if (result.invalid()) continue;
            (result.succeeded() ? counters.succeeded : counters.failed).incrementAndGet();
            if (result.retryable()) counters.retryable.incrementAndGet();
            options.listener().written(result);
        }
        return appended.size();
    }

    private static BatchResult invalid(InputLine.Invalid line) {
        return new BatchResult(
                LineReader.identity(line.number(), null, line.text()),
                null,
                line.number(),
                line.echo(),
                null,
                new ApiError(line.message(), ApiError.INVALID_REQUEST, null, ResultFormat.INVALID_LINE),
                0,
                0,
                null,
                null,
                null);
    }

    /** Where the run stands; callable from any thread while it runs. */
    public BatchProgress progress() {
        long start = started;
        Duration elapsed =
                start == 0 ? Duration.ZERO : Duration.ofNanos(options.nanoTime().getAsLong() - start);
        return new BatchProgress(
                counters.lines.get(),
                counters.alreadyDone.get(),
                counters.alreadyFailed.get(),
                counters.succeeded.get(),
                counters.failed.get(),
                counters.retryable.get(),
                counters.invalid.get(),
                counters.inFlight.get(),
                counters.attempts.get(),
                counters.rateLimited.get(),
                counters.tokens.get(),
                elapsed);
    }

    /** Sends one request until it succeeds, fails for good, or the run stops (then null: nothing to write). */
    private BatchResult send(ParleyClient parley, Budget budget, InputLine.Job job) throws InterruptedException {
        RequestOptions call = unmodelled(job);
        List<String> errors = new ArrayList<>(); // every failed attempt's, as the cookbook's script keeps them
        for (int attempt = 1; ; attempt++) {
            if (stoppedBy.get() != null) return null;
            Budget.Permit permit = budget.acquire(job.estimate());
            counters.attempts.incrementAndGet();
            long sent = options.nanoTime().getAsLong();
            try {
                Response<?> response = call(parley, job.request(), call);
                budget.observe(response.info().rateLimit(), since(sent));
                long used = usedTokens(response.body(), job.estimate());
                permit.settle(used);
                counters.tokens.addAndGet(used);
                return result(
                        job,
                        Json.mapper().valueToTree(response.body()),
                        null,
                        response.info().status(),
                        attempt,
                        response.info().requestId(),
                        errors);
            } catch (ApiException e) {
                budget.observe(e.rateLimit(), since(sent));
                permit.settle(0);
                errors.add(BatchResult.describe(e.status(), e.error()));
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
                    return result(
                            job,
                            null,
                            e.error(),
                            e.status(),
                            attempt,
                            e.requestId().orElse(null),
                            errors);
                if (!(e instanceof RateLimitException)) options.sleeper().sleep(backoff(attempt));
            } catch (TransportException e) {
                permit.settle(0);
                var error = new ApiError(e.getMessage(), ResultFormat.CONNECTION_ERROR, null, null);
                errors.add(BatchResult.describe(0, error));
                if (attempt >= options.maxAttempts()) return result(job, null, error, 0, attempt, null, errors);
                options.sleeper().sleep(backoff(attempt));
            }
        }
    }

    private static Response<?> call(ParleyClient parley, BatchRequest request, RequestOptions call) {
        return switch (request) {
            case BatchRequest.Chat(var chat) -> parley.withResponse().chat(chat, call);
            case BatchRequest.Completion(var completion) ->
                parley.withResponse().complete(completion, call);
            case BatchRequest.Responses(var body) -> parley.withResponse().responses(body, call);
        };
    }

    /**
     * The line's body fields that the request records do not model (e.g. {@code top_k}), sent as they are,
     * so that the request sent is the line's body.
     */
    private static RequestOptions unmodelled(InputLine.Job job) {
        Object request = switch (job.request()) {
            case BatchRequest.Chat(var chat) -> chat;
            case BatchRequest.Completion(var completion) -> completion;
            case BatchRequest.Responses responses -> null; // its body is sent as it is (never streamed)
        };
        if (request == null) return RequestOptions.NONE;
        JsonNode modelled = Json.mapper().valueToTree(request);
        var extra = new LinkedHashMap<String, JsonNode>();
        job.body().properties().forEach(field -> {
            if (!modelled.has(field.getKey()) && !field.getValue().isNull())
                extra.put(field.getKey(), field.getValue());
        });
        return extra.isEmpty()
                ? RequestOptions.NONE
                : RequestOptions.builder().extraBody(extra).build();
    }

    private static long usedTokens(Object body, long estimate) {
        if (body instanceof JsonNode response) { // the Responses API's usage: input and output tokens, and their sum
            JsonNode total = response.path("usage").path("total_tokens");
            return total.isIntegralNumber() && total.canConvertToLong() && total.asLong() >= 0
                    ? total.asLong()
                    : estimate;
        }
        Usage usage = switch (body) {
            case dev.parley.api.ChatCompletion chat -> chat.usage();
            case dev.parley.api.TextCompletion text -> text.usage();
            default -> null;
        };
        return usage == null ? estimate : usage.totalTokens();
    }

    /** 408, 409, 429 and 5xx may pass on another try; other statuses will not. */
    private static boolean retryable(ApiException e) {
        return BatchResult.transientStatus(e.status());
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

    private static BatchResult result(
            InputLine.Job job,
            JsonNode response,
            ApiError error,
            int status,
            int attempts,
            String requestId,
            List<String> errors) {
        return new BatchResult(
                job.id(),
                job.customId(),
                job.number(),
                job.body(),
                response,
                error,
                status,
                attempts,
                job.metadata(),
                requestId,
                errors.isEmpty() ? null : List.copyOf(errors));
    }

    /** Whether {@code output} is {@code input}, or a link to it. */
    private static boolean sameFile(Path input, Path output) {
        try {
            return Files.exists(output) && Files.isSameFile(input, output);
        } catch (IOException e) {
            return false; // the input cannot be read: run says so
        }
    }

    /** The input's lines, for the progress; 0 when it cannot be read (the run then says why). */
    private static long countLines(Path input) {
        try (InputStream in = Files.newInputStream(input)) {
            var lines = new LineSplitter(in);
            long count = 0;
            while (lines.next() != null) count++;
            return count;
        } catch (IOException e) {
            return 0;
        }
    }

    private static final class Counters {
        final AtomicLong lines = new AtomicLong();
        final AtomicLong alreadyDone = new AtomicLong();
        final AtomicLong alreadyFailed = new AtomicLong();
        final AtomicLong succeeded = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicLong retryable = new AtomicLong();
        final AtomicLong invalid = new AtomicLong();
        final AtomicLong inFlight = new AtomicLong();
        final AtomicLong attempts = new AtomicLong();
        final AtomicLong rateLimited = new AtomicLong();
        final AtomicLong tokens = new AtomicLong();
    }
}
