package dev.parley.cli;

import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code parley keys}: make API keys for {@code parley serve --keys FILE}, and list them. */
@Command(
        name = "keys",
        mixinStandardHelpOptions = true,
        description = "Manage the API keys of a keys file (JSON, or YAML when it ends in .yaml/.yml).",
        subcommands = {KeysCommand.Add.class, KeysCommand.ListKeys.class})
final class KeysCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Prints a new key once, on stdout alone, and adds its SHA-256 to the file. */
    @Command(
            name = "add",
            mixinStandardHelpOptions = true,
            description =
                    "Create a key: print it once on stdout and store only its SHA-256 in the file (created if needed).")
    static final class Add implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The keys file.")
        Path file;

        @Option(
                names = "--name",
                required = true,
                description = "The key's name, unique in the file; quoted in 429 messages.")
        String name;

        @Option(names = "--rpm", defaultValue = "60", description = "Requests per minute (default: ${DEFAULT-VALUE}).")
        long rpm;

        @Option(
                names = "--tpm",
                defaultValue = "100000",
                description = "Tokens per minute (default: ${DEFAULT-VALUE}).")
        long tpm;

        @Option(names = "--rpd", description = "Requests per day (default: none).")
        Long rpd;

        @Option(names = "--tpd", description = "Tokens per day (default: none).")
        Long tpd;

        @Option(
                names = "--models",
                split = ",",
                paramLabel = "a,b",
                description = "Models the key may use (default: all).")
        List<String> models;

        @Override
        public Integer call() {
            String key = KeysFile.newKey();
            try {
                KeysFile.add(file, new KeyEntry(name, KeysFile.sha256(key), rpm, tpm, rpd, tpd, models));
            } catch (RuntimeException e) {
                spec.commandLine().getErr().println("parley keys add: " + e.getMessage());
                return 1;
            }
            spec.commandLine().getOut().println(key);
            spec.commandLine().getErr().printf("Added key %s to %s. It is shown only this once.%n", name, file);
            return 0;
        }
    }

    /** Names and limits of the file's keys; keys are not in the file, so they cannot be shown. */
    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            description = "Show the names and limits of the keys (never the keys).")
    static final class ListKeys implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The keys file.")
        Path file;

        @Override
        public Integer call() {
            List<KeyEntry> keys;
            try {
                keys = KeysFile.read(file);
            } catch (RuntimeException e) {
                spec.commandLine().getErr().println("parley keys list: " + e.getMessage());
                return 1;
            }
            var out = spec.commandLine().getOut();
            int width = Math.max(
                    4, keys.stream().mapToInt(k -> k.name().length()).max().orElse(0));
            String row = "%-" + width + "s  %8s  %10s  %8s  %12s  %s%n";
            out.printf(row, "NAME", "RPM", "TPM", "RPD", "TPD", "MODELS");
            for (KeyEntry k : keys) {
                out.printf(
                        row,
                        k.name(),
                        k.rpm(),
                        k.tpm(),
                        k.rpd() == null ? "-" : k.rpd(),
                        k.tpd() == null ? "-" : k.tpd(),
                        k.models().isEmpty() ? "(all)" : String.join(",", k.models()));
            }
            return 0;
        }
    }
}
