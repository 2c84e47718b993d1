package dev.parley.cli;

import dev.parley.api.ApiException;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.StreamOptions;
import dev.parley.api.Usage;
import dev.parley.client.ChatAccumulator;
import dev.parley.client.ChatStream;
import dev.parley.client.ParleyClient;
import dev.parley.client.TransportException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code parley chat "message"} streams one answer to stdout. Without a message it reads turns from
 * stdin, one per line, keeping the conversation: {@code /reset} forgets it, {@code /exit} ends. A failed
 * turn prints one line on stderr and is dropped from the conversation; the exit code is then 1.
 */
@Command(
        name = "chat",
        mixinStandardHelpOptions = true,
        description = "Chat with a model: one message, or a conversation read from stdin (/reset, /exit).")
final class ChatCommand implements Callable<Integer> {
    private static final int EXIT_OK = 0;

    @Spec
    CommandSpec spec;

    @Mixin
    ClientFlags flags;

    @Parameters(arity = "0..*", paramLabel = "MESSAGE", description = "The message; words are joined with spaces.")
    List<String> words = List.of();

    @Option(
            names = {"-m", "--model"},
            description = "Model id (default: the server's model, when it serves exactly one).")
    String model;

    @Option(
            names = {"-s", "--system"},
            description = "A system message that starts the conversation.")
    String system;

    @Option(
            names = {"-t", "--temperature"},
            description = "Sampling temperature, 0 to 2.")
    Double temperature;

    @Option(names = "--max-tokens", paramLabel = "N", description = "Most tokens per answer.")
    Integer maxTokens;

    @Option(names = "--usage", description = "Print token usage on stderr at the end.")
    boolean usage;

    @Option(
            names = "--reasoning-effort",
            paramLabel = "EFFORT",
            description = "How much a reasoning model should reason: none, minimal, low, medium, high or xhigh.")
    String reasoningEffort;

    @Option(
            names = "--hide-reasoning",
            description = "Do not print a reasoning model's reasoning (printed on stderr as it comes, by default).")
    boolean hideReasoning;

    private final InputStream in;
    private final boolean terminal;

    ChatCommand() {
        this(System.in, System.console() != null && System.console().isTerminal());
    }

    /** With another stdin, for tests; {@code terminal} shows a prompt. */
    ChatCommand(InputStream in, boolean terminal) {
        this.in = in;
        this.terminal = terminal;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!words.isEmpty() && String.join(" ", words).isBlank()) {
            // parley chat "$MESSAGE" with MESSAGE unset: an answer to nothing would run to the model's context.
            err.println("parley chat: the message is empty; give one, or none to read a conversation from stdin");
            return spec.exitCodeOnInvalidInput();
        }
        var options = flags.options();
        try (ParleyClient client = ParleyClient.create(options)) {
            try {
                return converse(client, out, err);
            } catch (ApiException | TransportException e) {
                return Failures.report(err, "chat", e, ClientFlags.notFoundHint(client, options.baseUrl(), e));
            }
        } catch (IllegalArgumentException | UncheckedIOException e) {
            return Failures.report(err, "chat", e);
        }
    }

    private int converse(ParleyClient client, PrintWriter out, PrintWriter err) {
        if (model == null) model = ClientFlags.serversModel(client);
        List<ChatMessage> history = new ArrayList<>(start());
        Usage total = null;
        if (!words.isEmpty()) {
            history.add(ChatMessage.user(String.join(" ", words)));
            Turn turn = answer(client, history, out, err);
            return finish(err, turn.usage(), EXIT_OK);
        }
        int exit = EXIT_OK;
        var lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        for (String line = prompt(lines, err); line != null; line = prompt(lines, err)) {
            String text = line.strip();
            if (text.isEmpty()) continue;
            if (text.equals("/exit")) break;
            if (text.equals("/reset")) {
                history = new ArrayList<>(start());
                continue;
            }
            history.add(ChatMessage.user(text));
            try {
                Turn turn = answer(client, history, out, err);
                // The reasoning goes back with the answer: templates of reasoning models render it where they show it.
                history.add(turn.message());
                if (turn.usage() != null) total = total == null ? turn.usage() : total.plus(turn.usage());
            } catch (ApiException | TransportException e) {
                history.removeLast();
                // The conversation so far no longer fits: every later turn would fail the same way until it shrinks.
                boolean full = e instanceof ApiException api
                        && "context_length_exceeded".equals(api.error().code())
                        && history.size() > start().size();
                exit = Failures.report(err, "chat", e, full ? "; /reset starts the conversation over" : "");
            }
        }
        return finish(err, total, exit);
    }

    private record Turn(ChatMessage message, Usage usage) {}

    /**
     * Streams one answer to {@code out} as it comes, a reasoning model's reasoning before it to {@code err} (unless
     * hidden), and answers its whole message (its text and reasoning) and usage.
     */
    private Turn answer(ParleyClient client, List<ChatMessage> history, PrintWriter out, PrintWriter err) {
        var request = ChatCompletionRequest.builder(model)
                .messages(List.copyOf(history))
                .temperature(temperature)
                .maxTokens(maxTokens)
                .streamOptions(usage ? StreamOptions.withUsage() : null)
                .reasoningEffort(reasoningEffort)
                .build();
        var accumulator = new ChatAccumulator();
        boolean reasoned = false;
        try (ChatStream stream = client.stream(request)) {
            for (ChatCompletionChunk chunk : stream) {
                accumulator.add(chunk);
                var delta = chunk.choices().isEmpty()
                        ? null
                        : chunk.choices().getFirst().delta();
                String reasoning = delta == null ? null : delta.reasoningContent();
                if (reasoning != null && !hideReasoning) {
                    err.print(reasoning);
                    err.flush();
                    reasoned = true;
                }
                String text = chunk.deltaText();
                if (!text.isEmpty() && reasoned) {
                    err.println(); // the reasoning ends its line before the answer starts
                    err.flush();
                    reasoned = false;
                }
                out.print(text);
                out.flush();
            }
        }
        if (reasoned) err.println();
        var completion = accumulator.completion();
        out.println();
        out.flush();
        var message = completion.choices().isEmpty()
                ? ChatMessage.assistant("")
                : completion.choices().getFirst().message();
        return new Turn(message, accumulator.usage());
    }

    private List<ChatMessage> start() {
        return system == null ? List.of() : List.of(ChatMessage.system(system));
    }

    private String prompt(BufferedReader lines, PrintWriter err) {
        if (terminal) {
            err.print("> ");
            err.flush();
        }
        try {
            return lines.readLine();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private int finish(PrintWriter err, Usage total, int exit) {
        if (usage) {
            err.println(
                    total == null
                            ? "usage: the server reported none"
                            : "usage: %d prompt + %d completion = %d tokens"
                                    .formatted(total.promptTokens(), total.completionTokens(), total.totalTokens()));
            err.flush();
        }
        return exit;
    }
}
