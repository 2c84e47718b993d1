package dev.parley.server.batches;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ApiError;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.NotFoundException;
import dev.parley.api.check.Metadata;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenAI's Batch API inside the server: a batch reads its input file's request lines, runs each through the
 * server's own engine within the owning key's limits, and writes the answers to an output file and the failures
 * to an error file, in the Batch API's line format.
 *
 * <p>Every line runs exactly once, whatever stops the server: each answer is appended to the batch's results and
 * forced to disk before the next line starts, and a batch that was running when the server stopped (even by
 * {@code kill -9}) resumes at start with the lines that have no answer yet; a last answer cut mid-line is
 * dropped and its line runs again. The output file's id is chosen before the results become that file, so a
 * crash while finalizing finishes the same way on resume.
 *
 * <p>One batch line runs at a time, on a worker thread of its own, the running batches taking turns line by line
 * (rotating over the keys that own them first); how a line waits for a free slot and for the key's budgets is the
 * {@link LineRunner}'s affair. Thread-safe.
 */
public final class Batches implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Batches.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long WINDOW_SECONDS = 24 * 3600;
    /** A failed batch lists its first bad lines, and how many more there were: every batch read carries the list. */
    static final int LISTED_PROBLEMS = 100;

    /** The endpoints a batch may call. */
    public static final List<String> ENDPOINTS =
            List.of("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses");

    /** Runs one request line for the key {@code owner} to its end: the response's status and body. */
    public interface LineRunner {
        Response run(String owner, String url, ObjectNode body) throws InterruptedException;
    }

    /** A line's answer: an HTTP status and the JSON body an API call would have returned. */
    public record Response(int status, JsonNode body) {}

    private final Path dir;
    private final FileStore files;
    private final LineRunner runner;
    private final Clock clock;
    private final Map<String, ObjectNode> batches = new LinkedHashMap<>(); // id → batch, with its owner
    private final LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
    private final Thread worker;
    private volatile boolean closed;
    private final FileChannel lockChannel;
    private final java.nio.channels.FileLock lock;

    /**
     * Reads the batches kept under {@code dataDir} and resumes those that had not finished.
     *
     * @throws IllegalStateException when another server runs the batches of this folder
     */
    public Batches(Path dataDir, FileStore files, LineRunner runner, Clock clock) {
        this.dir = dataDir.resolve("batches");
        this.files = files;
        this.runner = runner;
        this.clock = clock;
        try {
            Files.createDirectories(dir);
            // One server runs a folder's batches: two would run each line twice.
            this.lockChannel =
                    FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            this.lock = lockChannel.tryLock();
            if (lock == null) {
                lockChannel.close();
                throw new IllegalStateException("another Parley server runs the batches in " + dataDir);
            }
            try (Stream<Path> entries = Files.list(dir)) {
                for (Path entry : entries.sorted().toList()) {
                    String name = entry.getFileName().toString();
                    if (!name.startsWith("batch_") || !name.endsWith(".json")) continue;
                    ObjectNode batch = (ObjectNode) JSON.readTree(entry.toFile());
                    batches.put(batch.get("id").asText(), batch);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the batches in " + dir, e);
        }
        batches.values().stream()
                .sorted(Comparator.comparingLong(b -> b.get("created_at").asLong()))
                .filter(b -> !finished(b))
                .forEach(b -> queue.add(b.get("id").asText()));
        this.worker = Thread.ofPlatform().daemon().name("parley-batches").start(this::work);
    }

    /**
     * Creates a batch of {@code owner}'s file {@code inputFileId}; it starts as soon as the worker is free.
     *
     * @throws InvalidRequestException for a bad endpoint, window or file
     */
    public ObjectNode create(String owner, String inputFileId, String endpoint, String window, JsonNode metadata) {
        if (inputFileId == null) throw missing("input_file_id");
        if (endpoint == null) throw missing("endpoint");
        if (window == null) throw missing("completion_window");
        if (!ENDPOINTS.contains(endpoint)) {
            throw InvalidRequestException.of(
                    "endpoint",
                    "invalid_value",
                    "Invalid value: '%s'. Supported values are: '/v1/chat/completions', '/v1/completions', '/v1/embeddings'"
                            + " and '/v1/responses'.".formatted(endpoint));
        }
        Metadata.check(metadata);
        if (!window.equals("24h")) {
            throw InvalidRequestException.of(
                    "completion_window",
                    "invalid_value",
                    "Invalid value: '%s'. Supported values are: '24h'.".formatted(window));
        }
        var input = files.find(owner, inputFileId)
                .orElseThrow(() -> InvalidRequestException.of(
                        "input_file_id",
                        "invalid_value",
                        "Invalid 'input_file_id': no file '%s' exists.".formatted(inputFileId)));
        if (!input.purpose().equals("batch")) {
            throw InvalidRequestException.of(
                    "input_file_id",
                    "invalid_value",
                    "Invalid 'input_file_id': file '%s' has purpose '%s', not 'batch'."
                            .formatted(inputFileId, input.purpose()));
        }
        long now = clock.instant().getEpochSecond();
        String id = "batch_" + FileStore.random(24);
        ObjectNode batch = JSON.createObjectNode();
        batch.put("id", id).put("object", "batch").put("endpoint", endpoint).putNull("errors");
        batch.put("input_file_id", inputFileId).put("completion_window", window).put("status", "validating");
        batch.putNull("output_file_id").putNull("error_file_id").put("created_at", now);
        for (String at : List.of(
                "in_progress_at",
                "expires_at",
                "finalizing_at",
                "completed_at",
                "failed_at",
                "expired_at",
                "cancelling_at",
                "cancelled_at")) batch.putNull(at);
        batch.put("expires_at", now + WINDOW_SECONDS);
        batch.putObject("request_counts").put("total", 0).put("completed", 0).put("failed", 0);
        if (metadata != null && metadata.isObject()) batch.set("metadata", metadata);
        else batch.putNull("metadata");
        batch.put("owner", owner);
        synchronized (this) {
            save(batch);
            batches.put(id, batch);
        }
        queue.add(id);
        return view(batch);
    }

    /** {@code owner}'s batch {@code id}, as the API shows it. */
    public synchronized Optional<ObjectNode> get(String owner, String id) {
        ObjectNode batch = batches.get(id);
        return batch == null || !batch.get("owner").asText().equals(owner)
                ? Optional.empty()
                : Optional.of(view(batch));
    }

    /** {@code owner}'s batches, newest first, after the one with id {@code after} (null: from the newest). */
    public synchronized List<ObjectNode> list(String owner, String after, int limit) {
        List<ObjectNode> mine = batches.values().stream()
                .filter(b -> b.get("owner").asText().equals(owner))
                .sorted(Comparator.comparingLong(
                                (ObjectNode b) -> b.get("created_at").asLong())
                        .thenComparing(b -> b.get("id").asText())
                        .reversed())
                .toList();
        int from = 0;
        if (after != null) {
            for (int i = 0; i < mine.size(); i++)
                if (mine.get(i).get("id").asText().equals(after)) from = i + 1;
        }
        return mine.subList(from, Math.min(mine.size(), from + limit)).stream()
                .map(Batches::view)
                .toList();
    }

    /** Asks {@code owner}'s batch {@code id} to stop: it is {@code cancelling} until the line running now ends. */
    public ObjectNode cancel(String owner, String id) {
        synchronized (this) {
            ObjectNode batch = batches.get(id);
            if (batch == null || !batch.get("owner").asText().equals(owner)) throw notFound(id);
            String status = batch.get("status").asText();
            if (status.equals("validating") || status.equals("in_progress")) {
                batch.put("status", "cancelling").put("cancelling_at", now());
                save(batch);
            } else if (!status.equals("cancelling")) {
                throw InvalidRequestException.of(
                        null, null, "Cannot cancel a batch with status '%s'.".formatted(status));
            }
            return view(batch);
        }
    }

    public static NotFoundException notFound(String id) {
        return new NotFoundException(
                new ApiError("No batch found with id '%s'.".formatted(id), ApiError.INVALID_REQUEST, "id", null));
    }

    /**
     * Runs the batches, one line at a time: the keys that have batches running take turns line by line, and so do
     * each key's batches, so one key's long batch never holds back another key's short one.
     */
    private void work() {
        Map<String, ArrayDeque<Run>> turns = new LinkedHashMap<>(); // by owner, in the order of their next turn
        Run running = null;
        try {
            while (!closed) {
                String id = turns.isEmpty() ? queue.take() : queue.poll();
                for (; id != null; id = queue.poll()) {
                    Run opened = open(id);
                    if (opened != null)
                        turns.computeIfAbsent(opened.owner, owner -> new ArrayDeque<>())
                                .add(opened);
                }
                if (turns.isEmpty()) continue;
                var next = turns.entrySet().iterator().next();
                turns.remove(next.getKey());
                running = next.getValue().poll();
                if (step(running)) next.getValue().add(running);
                running = null;
                if (!next.getValue().isEmpty()) turns.put(next.getKey(), next.getValue()); // its next turn: last
            }
        } catch (InterruptedException e) {
            // closing: every batch running resumes at the next start
        } finally {
            if (running != null) running.close();
            turns.values().forEach(runs -> runs.forEach(Run::close));
        }
    }

    /**
     * A batch ready to run its lines, or null when it ended without any to run (its input failed validation or is
     * gone, or it was already finalizing when the server stopped) or could not be opened.
     */
    private Run open(String id) {
        ObjectNode batch;
        synchronized (this) {
            batch = batches.get(id);
        }
        try {
            if (status(batch).equals("validating") && !validate(batch)) return null;
            var inputFile = files.find(owner(batch), batch.get("input_file_id").asText());
            Path output = dir.resolve(id + ".output.jsonl");
            Path errors = dir.resolve(id + ".errors.jsonl");
            Set<String> done = new HashSet<>();
            int completed = answered(output, done);
            int failed = answered(errors, done);
            setCounts(batch, completed, failed);
            if (inputFile.isEmpty()) { // deleted while the batch waited, or before a restart resumed it
                synchronized (this) {
                    setErrors(batch, List.of(inputGone()));
                }
                finish(batch, output, errors, "failed"); // what was answered before stays the caller's
                return null;
            }
            if (!status(batch).equals("in_progress")) {
                finish(batch, output, errors, "completed");
                return null;
            }
            return new Run(batch, files.content(inputFile.get()), output, errors, done, completed, failed);
        } catch (RuntimeException | IOException e) {
            stopped(id, e);
            return null;
        }
    }

    /** Runs {@code run}'s next line; false when it has ended (finished, or stopped on an error). */
    private boolean step(Run run) throws InterruptedException {
        try {
            if (run.next()) return true;
            run.close();
            setCounts(run.batch, run.completed, run.failed);
            finish(run.batch, run.output, run.errors, run.expired ? "expired" : "completed");
        } catch (RuntimeException | IOException e) {
            run.close();
            stopped(run.batch.get("id").asText(), e);
        }
        return false;
    }

    private static void stopped(String id, Exception e) {
        log.error("Batch {} stopped on an error; it resumes when the server starts again", id, e);
    }

    /** A batch whose lines are running: where it is in its input, and what it has answered. */
    private final class Run {
        final ObjectNode batch;
        final String owner;
        final Path output;
        final Path errors;
        final Set<String> done; // custom ids answered
        final BufferedReader lines;
        final FileChannel out;
        final FileChannel err;
        int completed;
        int failed;
        boolean expired;

        Run(ObjectNode batch, Path input, Path output, Path errors, Set<String> done, int completed, int failed)
                throws IOException {
            this.batch = batch;
            this.owner = owner(batch);
            this.output = output;
            this.errors = errors;
            this.done = done;
            this.completed = completed;
            this.failed = failed;
            BufferedReader lines = Files.newBufferedReader(input, StandardCharsets.UTF_8);
            FileChannel out = null;
            try {
                out = append(output);
                this.err = append(errors);
            } catch (IOException | RuntimeException e) {
                lines.close();
                if (out != null) out.close();
                throw e;
            }
            this.lines = lines;
            this.out = out;
        }

        /**
         * Runs the next line not yet answered and writes its answer; false when none is left or the batch is to
         * stop. Lines past the completion window are answered as expired, without running.
         */
        boolean next() throws IOException, InterruptedException {
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.isBlank()) continue;
                ObjectNode request = (ObjectNode) JSON.readTree(line);
                String customId = request.get("custom_id").asText();
                if (done.contains(customId)) continue;
                if (status(batch).equals("cancelling") || closed) return false;
                if (now() >= batch.get("expires_at").asLong()) {
                    write(
                            err,
                            result(
                                    customId,
                                    null,
                                    error(
                                            "batch_expired",
                                            "This request could not be executed before the completion window expired.")));
                    failed++;
                    expired = true;
                    continue;
                }
                ObjectNode body = (ObjectNode) request.get("body");
                body.remove("stream");
                body.remove("stream_options");
                Response response = runner.run(owner, batch.get("endpoint").asText(), body);
                boolean ok = response.status() / 100 == 2;
                write(ok ? out : err, result(customId, response, null));
                if (ok) completed++;
                else failed++;
                done.add(customId);
                setCounts(batch, completed, failed);
                return true;
            }
            return false;
        }

        void close() {
            for (java.io.Closeable open : List.<java.io.Closeable>of(lines, out, err)) {
                try {
                    open.close();
                } catch (IOException e) {
                    log.warn(
                            "Closing a file of batch {} failed", batch.get("id").asText(), e);
                }
            }
        }
    }

    /** Checks every line of the input file; a batch with a bad line fails, listing each. */
    private boolean validate(ObjectNode batch) throws IOException {
        var input = files.find(owner(batch), batch.get("input_file_id").asText());
        List<ObjectNode> problems = new ArrayList<>();
        int total = 0;
        if (input.isEmpty()) {
            problems.add(inputGone());
        } else {
            String endpoint = batch.get("endpoint").asText();
            Set<String> ids = new HashSet<>();
            int number = 0;
            int unlisted = 0;
            try (BufferedReader lines = Files.newBufferedReader(files.content(input.get()), StandardCharsets.UTF_8)) {
                for (String line; (line = lines.readLine()) != null; ) {
                    number++;
                    if (line.isBlank()) continue;
                    String problem = lineProblem(line, endpoint, ids);
                    if (problem == null) total++;
                    else if (problems.size() < LISTED_PROBLEMS)
                        problems.add(problem("invalid_request", problem, null, number));
                    else unlisted++;
                }
            } catch (java.nio.charset.MalformedInputException e) {
                problems.add(problem("invalid_file", "The input file is not valid UTF-8.", null, null));
            }
            if (unlisted > 0) {
                problems.add(problem(
                        "invalid_request",
                        "%d more lines have problems; the first %d are listed.".formatted(unlisted, LISTED_PROBLEMS),
                        null,
                        null));
            }
            if (total == 0 && problems.isEmpty())
                problems.add(problem("empty_file", "The input file has no requests.", null, null));
        }
        synchronized (this) {
            if (!problems.isEmpty()) {
                setErrors(batch, problems);
                batch.put("status", "failed").put("failed_at", now());
                save(batch);
                return false;
            }
            ((ObjectNode) batch.get("request_counts")).put("total", total);
            if (status(batch).equals("validating"))
                batch.put("status", "in_progress").put("in_progress_at", now());
            save(batch);
        }
        return true;
    }

    /** Sets {@code batch}'s errors to {@code problems}. Called holding this lock. */
    private static void setErrors(ObjectNode batch, List<ObjectNode> problems) {
        ObjectNode errors = batch.putObject("errors");
        errors.put("object", "list");
        errors.set("data", JSON.createArrayNode().addAll(problems));
    }

    private static ObjectNode inputGone() {
        return problem("invalid_file", "The input file no longer exists.", null, null);
    }

    /** What is wrong with one input line, or null. */
    private static String lineProblem(String line, String endpoint, Set<String> ids) {
        JsonNode request;
        try {
            request = JSON.readTree(line);
        } catch (IOException e) {
            return "This line is not valid JSON.";
        }
        if (request == null || !request.isObject()) return "Each line must be a JSON object.";
        JsonNode customId = request.get("custom_id");
        if (customId == null || !customId.isTextual() || customId.asText().isEmpty())
            return "Each line needs a 'custom_id' string.";
        if (!ids.add(customId.asText()))
            return "The custom_id '%s' is used by more than one line.".formatted(customId.asText());
        if (!"POST".equals(request.path("method").asText())) return "The 'method' must be 'POST'.";
        if (!endpoint.equals(request.path("url").asText()))
            return "The 'url' must be the batch's endpoint, '%s'.".formatted(endpoint);
        if (!request.path("body").isObject()) return "Each line needs a 'body' object.";
        return null;
    }

    private static ObjectNode problem(String code, String message, String param, Integer line) {
        ObjectNode node = JSON.createObjectNode().put("code", code).put("message", message);
        if (param == null) node.putNull("param");
        else node.put("param", param);
        if (line == null) node.putNull("line");
        else node.put("line", line);
        return node;
    }

    /**
     * The custom ids answered in a results file so far, added to {@code done}; how many. A last line cut short
     * by a crash is removed, so its request runs again.
     */
    private static int answered(Path results, Set<String> done) throws IOException {
        if (!Files.exists(results)) return 0;
        // Line by line, never the whole file in memory: a big batch's results run to hundreds of megabytes.
        long complete = 0; // bytes up to the end of the last whole line
        int count = 0;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(results), 1 << 16)) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            long read = 0;
            for (int b; (b = in.read()) >= 0; ) {
                read++;
                if (b != '\n') {
                    line.write(b);
                    continue;
                }
                complete = read;
                String text = line.toString(StandardCharsets.UTF_8);
                line.reset();
                if (text.isBlank()) continue;
                done.add(JSON.readTree(text).get("custom_id").asText());
                count++;
            }
        }
        if (complete < Files.size(results)) {
            try (FileChannel channel = FileChannel.open(results, StandardOpenOption.WRITE)) {
                channel.truncate(complete);
                channel.force(true);
            }
        }
        return count;
    }

    private static FileChannel append(Path file) throws IOException {
        return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    /** Appends one result line and forces it to disk before the next request runs. */
    private static void write(FileChannel channel, ObjectNode result) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Json.utf8(JSON.writeValueAsString(result) + "\n"));
        while (bytes.hasRemaining()) channel.write(bytes);
        channel.force(false);
    }

    private static ObjectNode result(String customId, Response response, ObjectNode error) {
        ObjectNode line = JSON.createObjectNode();
        line.put("id", "batch_req_" + FileStore.random(24)).put("custom_id", customId);
        if (response == null) {
            line.putNull("response");
        } else {
            ObjectNode body = line.putObject("response");
            body.put("status_code", response.status()).put("request_id", "req_" + FileStore.random(29));
            body.set("body", response.body());
        }
        if (error == null) line.putNull("error");
        else line.set("error", error);
        return line;
    }

    private static ObjectNode error(String code, String message) {
        return JSON.createObjectNode().put("code", code).put("message", message);
    }

    /**
     * Turns the results into the batch's output and error files and ends the batch as {@code ending}
     * ({@code completed}, {@code expired} or {@code failed}), or {@code cancelled} when it was asked to stop. Each
     * file's id is recorded before the results move, so a crash in between finishes the same way on resume.
     */
    private void finish(ObjectNode batch, Path output, Path errors, String ending) throws IOException {
        if (closed && !status(batch).equals("cancelling")) return; // resumes at the next start
        String owner = owner(batch);
        synchronized (this) {
            if (!batch.has("output_file")) {
                batch.put("output_file", "file-" + FileStore.random(24))
                        .put("error_file", "file-" + FileStore.random(24));
                if (status(batch).equals("in_progress"))
                    batch.put("status", "finalizing").put("finalizing_at", now());
                save(batch);
            }
        }
        String outputId =
                place(owner, batch.get("output_file").asText(), batch.get("id").asText() + "_output.jsonl", output);
        String errorId =
                place(owner, batch.get("error_file").asText(), batch.get("id").asText() + "_error.jsonl", errors);
        synchronized (this) {
            if (outputId != null) batch.put("output_file_id", outputId);
            if (errorId != null) batch.put("error_file_id", errorId);
            String status = status(batch).equals("cancelling") ? "cancelled" : ending;
            batch.put("status", status).put(status + "_at", now());
            save(batch);
        }
    }

    /** The results file as file {@code id} of {@code owner}: null when there were no such results. */
    private String place(String owner, String id, String name, Path results) throws IOException {
        if (files.find(owner, id).isPresent()) return id;
        boolean moved = Files.exists(files.content(id)); // a crash came between the move and the file's object
        if (!moved && (!Files.exists(results) || Files.size(results) == 0)) return null;
        return files.adopt(id, owner, name, "batch_output", results, now()).id();
    }

    private synchronized void setCounts(ObjectNode batch, int completed, int failed) throws IOException {
        ((ObjectNode) batch.get("request_counts")).put("completed", completed).put("failed", failed);
        save(batch);
    }

    private void save(ObjectNode batch) {
        try {
            FileStore.writeAtomically(dir.resolve(batch.get("id").asText() + ".json"), JSON.writeValueAsBytes(batch));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean finished(ObjectNode batch) {
        return List.of("completed", "failed", "expired", "cancelled")
                .contains(batch.get("status").asText());
    }

    private synchronized String status(ObjectNode batch) {
        return batch.get("status").asText();
    }

    private static String owner(ObjectNode batch) {
        return batch.get("owner").asText();
    }

    /** The batch as the API shows it: without its owner and the file ids it holds in reserve. */
    private static ObjectNode view(ObjectNode batch) {
        ObjectNode copy = batch.deepCopy();
        copy.remove(List.of("owner", "output_file", "error_file"));
        return copy;
    }

    private static InvalidRequestException missing(String param) {
        return InvalidRequestException.of(
                param, "missing_required_parameter", "Missing required parameter: '%s'.".formatted(param));
    }

    private long now() {
        return clock.instant().getEpochSecond();
    }

    @Override
    public void close() {
        closed = true;
        worker.interrupt();
        try {
            worker.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            log.warn("Releasing the lock of {} failed", dir, e);
        }
    }
}
