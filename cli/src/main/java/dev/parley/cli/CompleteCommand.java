package dev.parley.cli;

import dev.parley.api.ApiException;
import dev.parley.api.CompletionRequest;
import dev.parley.api.TextCompletion;
import dev.parley.client.CompletionStream;
import dev.parley.client.ParleyClient;
import dev.parley.client.TransportException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code parley complete "1,2,3,"} streams a legacy completion of the prompt to stdout; without a prompt, the prompt
 * is stdin.
 */
@Command(name = "complete", mixinStandardHelpOptions = true, description = "Continue a prompt (legacy completions).")
final class CompleteCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ClientFlags flags;

    @Parameters(
            arity = "0..*",
            paramLabel = "PROMPT",
            description = "The text to continue; words are joined with spaces. Without it, the prompt is read from"
                    + " stdin, exactly as given (a final newline included).")
    List<String> words = List.of();

    @Option(
            names = {"-m", "--model"},
            description = "Model id (default: the server's model, when it serves exactly one).")
    String model;

    @Option(
            names = {"-t", "--temperature"},
            description = "Sampling temperature, 0 to 2.")
    Double temperature;

    @Option(names = "--max-tokens", paramLabel = "N", description = "Most tokens to add (the server's default is 16).")
    Integer maxTokens;

    private final InputStream in;

    CompleteCommand() {
        this(System.in);
    }

    /** With another stdin, for tests. */
    CompleteCommand(InputStream in) {
        this.in = in;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        String prompt;
        try {
            prompt = words.isEmpty() ? new String(in.readAllBytes(), StandardCharsets.UTF_8) : String.join(" ", words);
        } catch (IOException e) {
            return Failures.report(spec.commandLine().getErr(), "complete", new UncheckedIOException(e));
        }
        if (prompt.isEmpty()) {
            spec.commandLine().getErr().println("parley complete: no prompt: give PROMPT, or pipe it on stdin");
            return 2;
        }
        var options = flags.options();
        try (ParleyClient client = ParleyClient.create(options)) {
            try {
                var request = CompletionRequest.of(model != null ? model : ClientFlags.serversModel(client), prompt)
                        .withTemperature(temperature)
                        .withMaxTokens(maxTokens);
                try (CompletionStream stream = client.streamCompletion(request)) {
                    for (TextCompletion piece : stream) {
                        out.print(piece.text());
                        out.flush();
                    }
                }
                out.println();
                out.flush();
                return 0;
            } catch (ApiException | TransportException e) {
                return Failures.report(
                        spec.commandLine().getErr(),
                        "complete",
                        e,
                        ClientFlags.notFoundHint(client, options.baseUrl(), e));
            }
        } catch (IllegalArgumentException e) {
            return Failures.report(spec.commandLine().getErr(), "complete", e);
        }
    }
}
