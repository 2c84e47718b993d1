package dev.parley.cli;

import dev.parley.api.ApiException;
import dev.parley.api.Model;
import dev.parley.client.ParleyClient;
import dev.parley.client.TransportException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code parley models} prints the server's model ids, one per line. */
@Command(name = "models", mixinStandardHelpOptions = true, description = "List the models the server offers.")
final class ModelsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ClientFlags flags;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        var options = flags.options();
        try (ParleyClient client = ParleyClient.create(options)) {
            try {
                for (Model model : client.models().data()) out.println(model.id());
                out.flush();
                return 0;
            } catch (ApiException | TransportException e) {
                return Failures.report(
                        spec.commandLine().getErr(),
                        "models",
                        e,
                        ClientFlags.notFoundHint(client, options.baseUrl(), e));
            }
        } catch (IllegalArgumentException e) {
            return Failures.report(spec.commandLine().getErr(), "models", e);
        }
    }
}
