package dev.parley.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.ChatMessage;
import dev.parley.api.FunctionDefinition;
import dev.parley.api.Json;
import dev.parley.api.Tool;
import dev.parley.tokens.ChatPrompt;
import dev.parley.tokens.ModelCatalog;
import dev.parley.tokens.ModelLookup;
import dev.parley.tokens.TokenCounter;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code parley tokens}: counts tokens of text, or of a chat request, as OpenAI counts them.
 *
 * <p>Errors are one line on stderr, {@code parley tokens: <message>}: exit 2 for a misuse of the options,
 * 1 for input that cannot be read.
 */
@Command(
        name = "tokens",
        mixinStandardHelpOptions = true,
        description = {
            "Count tokens as OpenAI counts them: of a text, a file or a chat request.",
            "TEXT, FILE or standard input are counted exactly as read (a final newline included); --messages counts"
                    + " the prompt tokens of a chat request."
        },
        footer = {
            "",
            "Examples:",
            "  parley tokens 'tiktoken is great!'",
            "  parley tokens README.md",
            "  parley tokens --encoding cl100k_base --ids 'hello world'",
            "  parley tokens --model gpt-3.5-turbo-0301 --messages examples/messages.json"
        })
final class TokensCommand implements Callable<Integer> {

    static final String DEFAULT_MODEL = "gpt-4o";

    private static final int INPUT = 1;
    private static final int USAGE = 2;

    @Parameters(
            arity = "0..1",
            paramLabel = "TEXT|FILE",
            description = "The text to count, or the file to read when it names one; standard input when absent.")
    String text;

    @Option(names = "--literal", description = "Count TEXT itself, even when it names a file.")
    boolean literal;

    @Option(
            names = "--messages",
            paramLabel = "FILE",
            description = "A JSON file holding a messages array, or a request object with messages "
                    + "(and tools or functions); prints its prompt tokens.")
    Path messages;

    @Option(
            names = "--model",
            paramLabel = "MODEL",
            description = "The model whose encoding and message rules apply. Default: the request's model, " + "else "
                    + DEFAULT_MODEL + ".")
    String model;

    @Option(
            names = "--encoding",
            paramLabel = "ENCODING",
            description = "An encoding instead of a model: o200k_base, cl100k_base, p50k_base, p50k_edit, r50k_base.")
    String encoding;

    @Option(names = "--ids", description = "Print the token ids, space-separated, instead of their count.")
    boolean ids;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        try {
            return run();
        } catch (Failure failure) {
            return fail(failure.exitCode, failure.getMessage());
        } catch (RuntimeException e) {
            // A bug, not the user's fault; still one line, as promised, with enough to report it.
            return fail(INPUT, "unexpected error: " + e);
        }
    }

    private int fail(int exitCode, String message) {
        err().println("parley tokens: " + message);
        err().flush();
        return exitCode;
    }

    private int run() {
        if (model != null && encoding != null) throw new Failure(USAGE, "--model and --encoding exclude each other");
        if (messages != null && text != null) throw new Failure(USAGE, "give TEXT or --messages, not both");
        if (messages != null && ids) throw new Failure(USAGE, "--ids prints the ids of text, not of --messages");

        if (messages == null) {
            TokenCounter counter = counter(model);
            Path file = literal || text == null ? null : existingFile(text);
            String input = file != null ? readFile(file) : text != null ? text : readStdin();
            out().println(ids ? join(counter.encoding().encode(input)) : String.valueOf(counter.count(input)));
        } else {
            JsonNode request = readJson(messages);
            String requestModel = request.isObject() ? request.path("model").asText(null) : null;
            TokenCounter counter = counter(model != null ? model : requestModel);
            out().println(counter.count(prompt(request)));
        }
        out().flush();
        return 0;
    }

    /** The counter of --encoding, else of the model (with its warning on stderr), else of the default. */
    private TokenCounter counter(String modelName) {
        if (encoding != null) {
            try {
                return TokenCounter.forEncoding(encoding);
            } catch (IllegalArgumentException e) {
                throw new Failure(USAGE, e.getMessage());
            }
        }
        ModelLookup lookup = ModelCatalog.standard().lookup(modelName != null ? modelName : DEFAULT_MODEL);
        lookup.warningText().ifPresent(warning -> err().println("parley tokens: warning: " + warning));
        return TokenCounter.of(lookup.model());
    }

    private ChatPrompt prompt(JsonNode request) {
        if (request.isArray()) return ChatPrompt.of(checked(convert(request, ChatMessage.class, "messages")));
        if (request.isObject() && request.path("messages").isArray()) {
            return new ChatPrompt(
                    checked(convert(request.path("messages"), ChatMessage.class, "messages")),
                    withoutNulls(convert(request.path("tools"), Tool.class, "tools"), "tools"),
                    withoutNulls(
                            convert(request.path("functions"), FunctionDefinition.class, "functions"), "functions"));
        }
        throw new Failure(INPUT, messages + " holds neither a messages array nor a request object with messages");
    }

    // Counting needs each message's role; OpenAI rejects a message without one, and so does this command.
    private List<ChatMessage> checked(List<ChatMessage> list) {
        withoutNulls(list, "messages");
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i).role() == null) {
                throw new Failure(INPUT, "cannot read %s: messages[%d] has no role".formatted(messages, i));
            }
        }
        return list;
    }

    private <T> List<T> withoutNulls(List<T> list, String param) {
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i) == null)
                throw new Failure(INPUT, "cannot read %s: %s[%d] is null".formatted(messages, param, i));
        }
        return list;
    }

    private <T> List<T> convert(JsonNode array, Class<T> type, String param) {
        if (array.isMissingNode() || array.isNull()) return List.of();
        try {
            var listType = Json.mapper().getTypeFactory().constructCollectionType(List.class, type);
            return Json.mapper().convertValue(array, listType);
        } catch (IllegalArgumentException e) {
            if (e.getCause() instanceof JsonMappingException mapping) { // "expected a string (at messages[0].name)"
                String at = Json.path(mapping.getPath());
                throw new Failure(
                        INPUT,
                        "cannot read %s: %s (at %s%s)"
                                .formatted(messages, Json.problem(mapping), param, at == null ? "" : at));
            }
            throw new Failure(INPUT, "cannot read " + messages + ": " + firstLine(e.getMessage()));
        }
    }

    private static JsonNode readJson(Path file) {
        try {
            return Json.mapper().readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new Failure(INPUT, "cannot read " + file + ": no such file");
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            String where = at == null ? "" : " at line %d, column %d".formatted(at.getLineNr(), at.getColumnNr());
            throw new Failure(
                    INPUT, "cannot read " + file + ": invalid JSON" + where + ": " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new Failure(INPUT, "cannot read " + file + ": " + describe(e));
        }
    }

    /** {@code text} as the path of a regular file, when it is one. */
    private static Path existingFile(String text) {
        try {
            Path path = Path.of(text);
            return Files.isRegularFile(path) ? path : null;
        } catch (InvalidPathException e) {
            return null;
        }
    }

    private static String readFile(Path file) {
        try {
            return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Failure(INPUT, "cannot read " + file + ": " + describe(e));
        }
    }

    private static String readStdin() {
        try {
            InputStream in = System.in;
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Failure(INPUT, "cannot read standard input: " + describe(e));
        }
    }

    private static String join(int[] ids) {
        return Arrays.stream(ids).mapToObj(String::valueOf).collect(Collectors.joining(" "));
    }

    private static String describe(IOException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static String firstLine(String message) {
        if (message == null) return "malformed input";
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }

    private PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** An error the user can act on: its message is shown as is, without a stack trace. */
    private static final class Failure extends RuntimeException {
        final int exitCode;

        Failure(int exitCode, String message) {
            super(message, null, false, false);
            this.exitCode = exitCode;
        }
    }
}
