package dev.parley.cli;

import dev.parley.batch.BatchListener;
import dev.parley.batch.BatchOptions;
import dev.parley.batch.BatchResult;
import dev.parley.batch.BatchRunner;
import dev.parley.batch.BatchSummary;
import dev.parley.batch.BudgetLimits;
import dev.parley.batch.Endpoint;
import dev.parley.batch.FileErrors;
import dev.parley.batch.ResultFormat;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code parley batch INPUT.jsonl --output RESULTS.jsonl} sends every request of a JSONL file as fast as the
 * limits allow and appends each result as it finishes; rerunning it finishes an interrupted run. Progress
 * goes to stderr (a bar on a terminal, plain lines otherwise), the summary to stdout.
 *
 * <p>Exit codes: 0 when every line succeeded, 3 when some lines failed or were invalid (see the results
 * and stderr), 1 when the run stopped early (an invalid API key, a used-up quota, unreadable input, another
 * run writing the same results file).
 */
@Command(
        name = "batch",
        mixinStandardHelpOptions = true,
        preprocessor = ScriptFlags.class,
        sortOptions = false,
        description = {
            "Send every request of a JSONL file, as fast as the rate limits allow, and append each result to a JSONL file.",
            "Each line is a chat or legacy completion body (optionally with \"custom_id\" and \"metadata\", which are echoed, not sent), "
                    + "or an OpenAI Batch API line {\"custom_id\",\"method\",\"url\",\"body\"}. Each result line holds the id, the request, "
                    + "the response or the final error, the attempts and the metadata; --results-format writes the Batch API's "
                    + "output lines or the script's arrays instead.",
            "Rerunning the same command after a crash or Ctrl-C skips the lines already written (by custom_id, else by line number "
                    + "and a hash of the line) and does the rest, including lines that failed on lost connections, 429 or 5xx "
                    + "(--retry-failed: every failed line). Invalid lines are written as errors with their numbers. "
                    + "A second run on the same results file is refused while the first writes it."
        },
        footer = {
            "",
            "OpenAI's api_request_parallel_processor.py flags work too:",
            "  --requests_filepath F      INPUT",
            "  --save_filepath F          --output F (same default)",
            "  --request_url URL          --base-url and --endpoint, taken from the URL",
            "  --api_key K                --api-key K",
            "  --max_requests_per_minute  --max-requests-per-minute (1500 in both)",
            "  --max_tokens_per_minute    --max-tokens-per-minute (125000 in both)",
            "  --token_encoding_name E    --token-encoding E (script: cl100k_base)",
            "  --max_attempts N           --max-attempts N (5 in both)",
            "  --logging_level L          --log-level L (INFO in both; 10, 20, 30, 40 too)",
            "  results, appended          --results-format cookbook, the default with --requests_filepath",
            "  its 15 s pause after a rate-limit error: --cooldown, if a 429 names no wait",
            "As argparse does, the script's flags may be shortened to any prefix only one of them",
            "starts with (--requests_file, --max_req=60); a prefix several start with is an error.",
            "",
            "Exit: 0 every line succeeded; 3 some lines failed or were invalid;",
            "1 the run stopped early (invalid API key, quota used up, unreadable input,",
            "another run writing the same results file)."
        })
final class BatchCommand implements Callable<Integer> {
    static final int EXIT_SOME_FAILED = 3;

    enum LogLevel {
        ERROR,
        WARNING,
        INFO,
        DEBUG;

        /**
         * A level by name (ERROR, WARNING or WARN, INFO, DEBUG, CRITICAL as ERROR; any case) or by Python's
         * logging number, as the script takes it: 10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR, 50 CRITICAL.
         */
        static LogLevel parse(String value) {
            String level = value.strip().toUpperCase(Locale.ROOT);
            if (level.matches("\\d+")) {
                int number = Integer.parseInt(level);
                return number <= 10 ? DEBUG : number <= 20 ? INFO : number <= 30 ? WARNING : ERROR;
            }
            return switch (level) {
                case "ERROR", "CRITICAL", "FATAL" -> ERROR;
                case "WARNING", "WARN" -> WARNING;
                case "INFO" -> INFO;
                case "DEBUG", "NOTSET" -> DEBUG;
                default ->
                    throw new IllegalArgumentException(
                            "'%s' is not a logging level: ERROR, WARNING, INFO, DEBUG, or ".formatted(value)
                                    + "a number as Python's logging takes (10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR)");
            };
        }
    }

    @Spec
    CommandSpec spec;

    @Mixin
    ConnectionFlags connection;

    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "INPUT",
            description = "The requests, one JSON object per line; - reads them from stdin (then --output is needed).")
    Path input;

    @Option(
            names = {"-o", "--output", "--save_filepath"},
            paramLabel = "FILE",
            description = "Where results are appended (default: INPUT with _results.jsonl, as the script does).")
    Path output;

    @Option(
            names = "--endpoint",
            paramLabel = "auto|chat|completions|responses",
            description = "Where each line goes; auto decides by the line: a Batch API line's url, else messages for"
                    + " chat, prompt for completions, input for responses (default: auto).")
    Endpoint endpoint = Endpoint.AUTO;

    @Option(
            names = {"--max-requests-per-minute", "--max_requests_per_minute"},
            paramLabel = "N",
            description = "Requests per minute to stay under (default: 1500).")
    double maxRequestsPerMinute = BudgetLimits.DEFAULT_REQUESTS_PER_MINUTE;

    @Option(
            names = {"--max-tokens-per-minute", "--max_tokens_per_minute"},
            paramLabel = "N",
            description =
                    "Tokens per minute to stay under, prompt + max_tokens x n estimated, settled by usage (default: 125000).")
    double maxTokensPerMinute = BudgetLimits.DEFAULT_TOKENS_PER_MINUTE;

    @Option(
            names = "--max-concurrency",
            paramLabel = "N",
            description = "Requests in flight at once (default: ${DEFAULT-VALUE}).")
    int maxConcurrency = BatchOptions.DEFAULT_MAX_CONCURRENCY;

    @Option(
            names = {"--max-attempts", "--max_attempts"},
            paramLabel = "N",
            description = "Sends of a failing request before it is written as a failure (default: ${DEFAULT-VALUE}).")
    int maxAttempts = BatchOptions.DEFAULT_MAX_ATTEMPTS;

    @Option(
            names = "--cooldown",
            paramLabel = "SECONDS",
            description = "Pause of every request after a 429 that does not say how long to wait (default: 15).")
    double cooldownSeconds = BatchOptions.DEFAULT_COOLDOWN.toSeconds();

    @Option(
            names = "--burst",
            paramLabel = "SECONDS",
            description = "Seconds' worth of each limit that may be spent at once after an idle spell (default: 1).")
    double burstSeconds = BudgetLimits.DEFAULT_BURST.toSeconds();

    @Option(
            names = "--redis",
            paramLabel = "URL",
            description = "Share the per-minute limits with every batch spending them through this Redis, "
                    + "e.g. redis://host:6379; if it goes away, requests wait for it (default: none).")
    URI redis;

    @Option(
            names = "--budget-name",
            paramLabel = "NAME",
            description = "The shared budget's name in Redis (default: a hash of the base URL and API key).")
    String budgetName;

    @Option(names = "--keep-order", description = "Write results in input order instead of as they finish.")
    boolean keepOrder;

    @Option(
            names = "--retry-failed",
            description = "Send again the lines an earlier run wrote as failed for any reason (without it, only those "
                    + "that failed on lost connections, 408, 409, 429 or 5xx are sent again).")
    boolean retryFailed;

    @Option(
            names = {"--token-encoding", "--token_encoding_name"},
            paramLabel = "NAME",
            description =
                    "Count every model's tokens with this encoding, e.g. cl100k_base (default: each model's own).")
    String tokenEncoding;

    @Option(
            names = {"--log-level", "--logging_level"},
            paramLabel = "LEVEL",
            converter = LogLevelConverter.class,
            description = "ERROR, WARNING, INFO (progress) or DEBUG (every result), or Python's numbers "
                    + "(10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR) (default: ${DEFAULT-VALUE}).")
    LogLevel logLevel = LogLevel.INFO;

    @Option(
            names = {"--results-format"},
            paramLabel = "parley|openai-batch|cookbook",
            converter = ResultFormatConverter.class,
            description = "The results lines: parley's (id, line, request, response or error, attempts, metadata), "
                    + "openai-batch (the Batch API's output lines) or cookbook (the script's [request, response, "
                    + "metadata] arrays) (default: parley; cookbook when the script's --requests_filepath is given).")
    ResultFormat resultFormat;

    static final class LogLevelConverter implements picocli.CommandLine.ITypeConverter<LogLevel> {
        @Override
        public LogLevel convert(String value) {
            return LogLevel.parse(value);
        }
    }

    static final class ResultFormatConverter implements picocli.CommandLine.ITypeConverter<ResultFormat> {
        @Override
        public ResultFormat convert(String value) {
            try {
                return ResultFormat.byName(value);
            } catch (IllegalArgumentException e) { // picocli would wrap it in class names
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    @Option(names = "--requests_filepath", hidden = true, paramLabel = "FILE")
    Path requestsFilepath;

    @Option(names = "--request_url", hidden = true, paramLabel = "URL")
    String requestUrl;

    @Option(names = "--api_key", hidden = true, paramLabel = "KEY")
    String apiKeyAlias;

    private final boolean terminal;

    BatchCommand() {
        this(System.console() != null && System.console().isTerminal());
    }

    /** With {@code terminal} saying whether stderr is one, for tests. */
    BatchCommand(boolean terminal) {
        this.terminal = terminal;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String outOfRange = outOfRange();
        if (outOfRange != null) {
            err.println("parley batch: " + outOfRange);
            return 2;
        }
        Path in = input != null ? input : requestsFilepath;
        if (in == null) return Failures.report(err, "batch", new IllegalArgumentException("no INPUT file given"));
        boolean stdin = in.toString().equals("-");
        if (stdin && output == null)
            return Failures.report(err, "batch", new IllegalArgumentException("reading stdin (-) needs --output FILE"));
        Path results = output != null ? output : Path.of(in.toString().replaceFirst("(\\.jsonl)?$", "_results.jsonl"));
        if (!stdin) {
            try {
                Files.newInputStream(in).close();
            } catch (IOException e) {
                return Failures.report(
                        err, "batch", new IllegalArgumentException("cannot read " + FileErrors.describe(in, e)));
            }
            if (Files.isDirectory(in))
                return Failures.report(
                        err, "batch", new IllegalArgumentException("cannot read " + in + ": is a directory"));
        }

        var client = connection.options();
        if (apiKeyAlias != null) client.apiKey(apiKeyAlias);
        if (requestUrl != null) {
            String url = requestUrl.replaceAll("/+$", "");
            String path;
            if (url.endsWith(path = "/chat/completions")) endpoint = Endpoint.CHAT;
            else if (url.endsWith(path = "/completions")) endpoint = Endpoint.COMPLETIONS;
            else if (url.endsWith(path = "/responses")) endpoint = Endpoint.RESPONSES;
            else
                return Failures.report(
                        err,
                        "batch",
                        new IllegalArgumentException(
                                "--request_url must end in /chat/completions, /completions or /responses"));
            client.baseUrl(url.substring(0, url.length() - path.length()));
        }

        var log = new Log(err, terminal, logLevel);
        try {
            warnOfAMissingV1(client.build(), log);
        } catch (IllegalArgumentException e) { // the CA certificates cannot be read
            return Failures.report(err, "batch", e);
        }
        BatchRunner runner;
        try {
            runner = BatchRunner.create(
                    client.build(),
                    BatchOptions.builder()
                            .endpoint(endpoint)
                            .limits(new BudgetLimits(maxRequestsPerMinute, maxTokensPerMinute, seconds(burstSeconds)))
                            .maxConcurrency(maxConcurrency)
                            .maxAttempts(maxAttempts)
                            .cooldown(seconds(cooldownSeconds))
                            .keepOrder(keepOrder)
                            .retryFailed(retryFailed)
                            .resultFormat(
                                    resultFormat != null
                                            ? resultFormat
                                            : input == null && requestsFilepath != null
                                                    ? ResultFormat.COOKBOOK
                                                    : ResultFormat.PARLEY)
                            .tokenEncoding(tokenEncoding)
                            .redis(redis)
                            .budgetName(budgetName)
                            .listener(log)
                            .build());
        } catch (IllegalArgumentException e) {
            return Failures.report(err, "batch", e);
        }

        log.info("%s -> %s: %s; limits %,.0f requests and %,.0f tokens per minute%s, %d at once"
                .formatted(
                        stdin ? "stdin" : in,
                        results,
                        stdin ? "lines from stdin" : "%,d lines".formatted(lineCount(in)),
                        maxRequestsPerMinute,
                        maxTokensPerMinute,
                        redis == null ? "" : " shared in Redis at " + redis.getHost() + ":" + redis.getPort(),
                        maxConcurrency));
        Thread progress = Thread.ofPlatform()
                .daemon()
                .start(() -> log.progressEvery(runner, terminal ? Duration.ofMillis(250) : Duration.ofSeconds(10)));
        Thread interrupted = new Thread(() -> log.interrupted(runner, results));
        Runtime.getRuntime().addShutdownHook(interrupted);
        BatchSummary summary;
        try {
            summary = stdin ? runner.run(System.in, "stdin", results) : runner.run(in, results);
        } catch (UncheckedIOException e) {
            return Failures.report(err, "batch", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Failures.EXIT;
        } finally {
            progress.interrupt();
            try {
                Runtime.getRuntime().removeShutdownHook(interrupted);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
        log.done();
        out.println("parley batch: " + summary.describe());
        out.println("results: " + results);
        long retryable = summary.progress().retryable();
        if (retryable > 0) {
            out.println(("%d failed on errors that may pass on another try (lost connections, 408, 409, 429, 5xx): "
                            + "run the same command again to send them again")
                    .formatted(retryable));
        }
        out.flush();
        if (summary.progress().alreadyFailed() > 0) {
            out.println("%d lines failed in an earlier run on errors that the same request meets again: "
                            .formatted(summary.progress().alreadyFailed())
                    + "--retry-failed sends them again");
        }
        out.flush();
        if (summary.stoppedBy() != null) return Failures.EXIT;
        var p = summary.progress();
        return p.failed() + p.invalid() + p.alreadyFailed() > 0 ? EXIT_SOME_FAILED : 0;
    }

    /**
     * A base URL without {@code /v1} whose {@code /models} is 404 would fail every line with a 404: say so
     * before sending them. Only a warning, as a server may serve completions without a model list.
     */
    private static void warnOfAMissingV1(ClientOptions options, Log log) {
        try (var client = ParleyClient.create(options.toBuilder().maxRetries(0).build())) {
            ClientFlags.missingV1(client, options.baseUrl()).ifPresent(log::warning);
        }
    }

    /** Seconds a pause or a burst may last at most: a day. */
    private static final double MOST_SECONDS = 86_400;

    /** The most requests or tokens per minute a limit may name: beyond it a budget's arithmetic loses precision. */
    private static final double MOST_PER_MINUTE = 1e12;

    /** What is wrong with a number option, in the option's own name; null when all are within their limits. */
    private String outOfRange() {
        if (maxAttempts < 1) return "--max-attempts must be at least 1, not " + maxAttempts;
        if (maxConcurrency < 1) return "--max-concurrency must be at least 1, not " + maxConcurrency;
        if (!(maxRequestsPerMinute > 0 && maxRequestsPerMinute <= MOST_PER_MINUTE))
            return "--max-requests-per-minute must be more than 0 and at most 1e12, not " + plain(maxRequestsPerMinute);
        if (!(maxTokensPerMinute > 0 && maxTokensPerMinute <= MOST_PER_MINUTE))
            return "--max-tokens-per-minute must be more than 0 and at most 1e12, not " + plain(maxTokensPerMinute);
        if (!(burstSeconds > 0 && burstSeconds <= MOST_SECONDS))
            return "--burst must be more than 0 and at most 86400 seconds, not " + plain(burstSeconds);
        if (!(cooldownSeconds >= 0 && cooldownSeconds <= MOST_SECONDS))
            return "--cooldown must be between 0 and 86400 seconds, not " + plain(cooldownSeconds);
        return null;
    }

    /** A number as it was most likely typed: {@code 0}, {@code -1.5}, {@code NaN}. */
    private static String plain(double value) {
        return Double.isFinite(value)
                ? java.math.BigDecimal.valueOf(value).stripTrailingZeros().toPlainString()
                : String.valueOf(value);
    }

    private static Duration seconds(double seconds) {
        return Duration.ofNanos((long) (seconds * 1e9));
    }

    /** Counted as bytes, so that a line that is not UTF-8 is counted too (the run reports it). */
    private static long lineCount(Path file) {
        try (var in = Files.newInputStream(file)) {
            long count = 0;
            int last = '\n';
            byte[] buffer = new byte[1 << 16];
            for (int read = in.read(buffer); read > 0; read = in.read(buffer)) {
                for (int i = 0; i < read; i++) if (buffer[i] == '\n') count++;
                last = buffer[read - 1];
            }
            return last == '\n' ? count : count + 1;
        } catch (IOException e) {
            return 0;
        }
    }

    /** Progress and events on stderr: a bar redrawn in place on a terminal, timestamped lines otherwise. */
    static final class Log implements BatchListener {
        private final PrintWriter err;
        private final boolean terminal;
        private final LogLevel level;
        private boolean barShown;

        Log(PrintWriter err, boolean terminal, LogLevel level) {
            this.err = err;
            this.terminal = terminal;
            this.level = level;
        }

        @Override
        public void invalidLine(long line, String message) {
            at(LogLevel.WARNING, "line %d invalid, written as an error: %s".formatted(line, message));
        }

        @Override
        public void warning(String message) {
            at(LogLevel.WARNING, message);
        }

        @Override
        public void paused(Duration wait, String message) {
            at(LogLevel.INFO, "429 (%s): every request waits %d ms".formatted(message, wait.toMillis()));
        }

        @Override
        public void written(BatchResult result) {
            if (!result.succeeded()) {
                at(
                        LogLevel.WARNING,
                        "line %d (%s) failed after %d attempts: %s"
                                .formatted(
                                        result.line(),
                                        result.id(),
                                        result.attempts(),
                                        result.error().message()));
            } else {
                at(
                        LogLevel.DEBUG,
                        "line %d (%s) done in %d attempts".formatted(result.line(), result.id(), result.attempts()));
            }
        }

        void info(String message) {
            at(LogLevel.INFO, message);
        }

        void progressEvery(BatchRunner runner, Duration every) {
            if (level.compareTo(LogLevel.INFO) < 0) return;
            try {
                while (true) {
                    Thread.sleep(every);
                    synchronized (this) {
                        if (terminal) {
                            err.print("\r\033[K" + ProgressLine.bar(runner.progress()));
                            barShown = true;
                        } else {
                            err.println(stamp() + ProgressLine.counts(runner.progress()));
                        }
                        err.flush();
                    }
                }
            } catch (InterruptedException e) {
                // the run is over
            }
        }

        synchronized void done() {
            clearBar();
            err.flush();
        }

        synchronized void interrupted(BatchRunner runner, Path results) {
            // Results finished but held for input order are written now rather than lost; then the file is
            // closed to writes, so that the count below is what it holds.
            long written = runner.stopAndReleaseHeldResults();
            clearBar();
            err.println(
                    "parley batch: interrupted with %d results written to %s by this run (%d in flight are not); run the same command again to finish"
                            .formatted(written, results, runner.progress().inFlight()));
            err.flush();
        }

        private synchronized void at(LogLevel needed, String message) {
            if (level.compareTo(needed) < 0) return;
            clearBar();
            err.println(terminal ? message : stamp() + message);
            err.flush();
        }

        private void clearBar() {
            if (barShown) err.print("\r\033[K");
            barShown = false;
        }

        private static String stamp() {
            return LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + " ";
        }
    }
}
