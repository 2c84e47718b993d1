package dev.parley.cli;

import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code parley keys}: make, list, remove, rotate and change the API keys of a keys file for
 * {@code parley serve --keys FILE}. A running server reloads the file when it changes.
 */
@Command(
        name = "keys",
        mixinStandardHelpOptions = true,
        description = {
            "Manage the API keys of a keys file, and read what they used ('usage').",
            "The file is JSON, or YAML when its name ends in .yaml/.yml. A server using it picks up every change at"
                    + " once (and on SIGHUP), without a restart."
        },
        subcommands = {
            KeysCommand.Add.class,
            KeysCommand.ListKeys.class,
            KeysCommand.Remove.class,
            KeysCommand.Rotate.class,
            KeysCommand.Set.class,
            UsageCommand.class
        })
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

        @Option(
                names = "--rpm",
                defaultValue = "60",
                converter = AtLeastOne.class,
                description = "Requests per minute (default: ${DEFAULT-VALUE}).")
        long rpm;

        @Option(
                names = "--tpm",
                defaultValue = "100000",
                converter = AtLeastOne.class,
                description = "Tokens per minute (default: ${DEFAULT-VALUE}).")
        long tpm;

        @Option(names = "--rpd", converter = AtLeastOne.class, description = "Requests per day (default: none).")
        Long rpd;

        @Option(names = "--tpd", converter = AtLeastOne.class, description = "Tokens per day (default: none).")
        Long tpd;

        @Option(
                names = "--models",
                split = ",",
                paramLabel = "a,b",
                description = "Models the key may use (default: all).")
        List<String> models;

        @Option(
                names = "--monthly-budget",
                paramLabel = "USD",
                description = "Spend allowed per calendar month (UTC) at the server's --price list; once reached,"
                        + " the key's requests get 429 insufficient_quota until the month ends (default: none).")
        Double monthlyBudget;

        @Option(
                names = "--admin",
                description = "The key may read the organization's usage and costs (/v1/organization/...).")
        boolean admin;

        @Override
        public Integer call() {
            String key = KeysFile.newKey();
            try {
                KeysFile.add(
                        file,
                        new KeyEntry(
                                name,
                                KeysFile.sha256(key),
                                rpm,
                                tpm,
                                rpd,
                                tpd,
                                models,
                                monthlyBudget,
                                admin ? Boolean.TRUE : null));
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
            if (!Files.exists(file)) { // 'keys add' makes it: a name that does not exist is a slip
                spec.commandLine().getErr().println("parley keys list: no keys file at " + file);
                return 1;
            }
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
            String row = "%-" + width + "s  %8s  %10s  %8s  %12s  %10s  %5s  %s%n";
            out.printf(row, "NAME", "RPM", "TPM", "RPD", "TPD", "BUDGET/MO", "ADMIN", "MODELS");
            for (KeyEntry k : keys) {
                out.printf(
                        row,
                        k.name(),
                        k.rpm(),
                        k.tpm(),
                        k.rpd() == null ? "-" : k.rpd(),
                        k.tpd() == null ? "-" : k.tpd(),
                        k.monthlyBudget() == null ? "-" : "$" + UsageCommand.usd(k.monthlyBudget()),
                        Boolean.TRUE.equals(k.admin()) ? "yes" : "-",
                        k.models().isEmpty() ? "(all)" : String.join(",", k.models()));
            }
            return 0;
        }
    }

    /** Takes a key out of the file: a server using it refuses the key from its next request. */
    @Command(
            name = "remove",
            mixinStandardHelpOptions = true,
            description = "Remove a key: a server using the file refuses it from its next request.")
    static final class Remove implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The keys file.")
        Path file;

        @Option(names = "--name", required = true, description = "The key's name.")
        String name;

        @Override
        public Integer call() {
            try {
                KeysFile.remove(file, name);
            } catch (RuntimeException e) {
                spec.commandLine().getErr().println("parley keys remove: " + e.getMessage());
                return 1;
            }
            spec.commandLine().getErr().printf("Removed key %s from %s.%n", name, file);
            return 0;
        }
    }

    /** A new secret for a key, keeping its name, limits and models; the old secret stops working. */
    @Command(
            name = "rotate",
            mixinStandardHelpOptions = true,
            description =
                    "Give a key a new secret, printed once on stdout; its name, limits and models stay, the old secret stops working.")
    static final class Rotate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The keys file.")
        Path file;

        @Option(names = "--name", required = true, description = "The key's name.")
        String name;

        @Override
        public Integer call() {
            String key = KeysFile.newKey();
            try {
                KeysFile.update(
                        file,
                        name,
                        k -> new KeyEntry(
                                k.name(),
                                KeysFile.sha256(key),
                                k.rpm(),
                                k.tpm(),
                                k.rpd(),
                                k.tpd(),
                                k.models(),
                                k.monthlyBudget(),
                                k.admin()));
            } catch (RuntimeException e) {
                spec.commandLine().getErr().println("parley keys rotate: " + e.getMessage());
                return 1;
            }
            spec.commandLine().getOut().println(key);
            spec.commandLine()
                    .getErr()
                    .printf("Rotated key %s in %s. The new key is shown only this once.%n", name, file);
            return 0;
        }
    }

    /** Changes a key's limits or models; what is not given stays. */
    @Command(
            name = "set",
            mixinStandardHelpOptions = true,
            description = "Change a key's limits or models; options not given stay as they are.")
    static final class Set implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--file", required = true, paramLabel = "FILE", description = "The keys file.")
        Path file;

        @Option(names = "--name", required = true, description = "The key's name.")
        String name;

        @Option(names = "--rpm", converter = AtLeastOne.class, description = "Requests per minute.")
        Long rpm;

        @Option(names = "--tpm", converter = AtLeastOne.class, description = "Tokens per minute.")
        Long tpm;

        @Option(
                names = "--rpd",
                converter = ZeroOrMore.class,
                description = "Requests per day; 0 removes the daily request budget.")
        Long rpd;

        @Option(
                names = "--tpd",
                converter = ZeroOrMore.class,
                description = "Tokens per day; 0 removes the daily token budget.")
        Long tpd;

        @Option(names = "--models", split = ",", paramLabel = "a,b", description = "Models the key may use; * for all.")
        List<String> models;

        @Option(
                names = "--monthly-budget",
                paramLabel = "USD|none",
                description = "Spend allowed per calendar month (UTC); none removes the budget.")
        String monthlyBudget;

        @Option(
                names = "--admin",
                arity = "0..1",
                paramLabel = "true|false",
                description = "Whether the key may read the organization's usage and costs.")
        Boolean admin;

        @Override
        public Integer call() {
            KeyEntry changed;
            Double budget;
            try {
                budget = monthlyBudget == null || monthlyBudget.equals("none") ? null : Double.valueOf(monthlyBudget);
            } catch (NumberFormatException e) {
                spec.commandLine()
                        .getErr()
                        .println("parley keys set: --monthly-budget is an amount of USD or none, not " + monthlyBudget);
                return 2;
            }
            try {
                changed = KeysFile.update(
                        file,
                        name,
                        k -> new KeyEntry(
                                k.name(),
                                k.sha256(),
                                rpm == null ? k.rpm() : rpm,
                                tpm == null ? k.tpm() : tpm,
                                rpd == null ? k.rpd() : rpd == 0 ? null : rpd,
                                tpd == null ? k.tpd() : tpd == 0 ? null : tpd,
                                models == null ? k.models() : models.equals(List.of("*")) ? List.of() : models,
                                monthlyBudget == null ? k.monthlyBudget() : budget,
                                admin == null ? k.admin() : admin ? Boolean.TRUE : null));
            } catch (RuntimeException e) {
                spec.commandLine().getErr().println("parley keys set: " + e.getMessage());
                return 1;
            }
            spec.commandLine()
                    .getErr()
                    .printf(
                            "Key %s: rpm %d, tpm %d, rpd %s, tpd %s, models %s%s%s.%n",
                            name,
                            changed.rpm(),
                            changed.tpm(),
                            changed.rpd() == null ? "-" : changed.rpd(),
                            changed.tpd() == null ? "-" : changed.tpd(),
                            changed.models().isEmpty() ? "(all)" : String.join(",", changed.models()),
                            changed.monthlyBudget() == null
                                    ? ""
                                    : ", monthly budget $" + UsageCommand.usd(changed.monthlyBudget()),
                            Boolean.TRUE.equals(changed.admin()) ? ", admin" : "");
            return 0;
        }
    }

    /** A limit as a whole number from {@code least} up, refused in the option's name before the file is touched. */
    private abstract static class Count implements CommandLine.ITypeConverter<Long> {
        private final long least;

        Count(long least) {
            this.least = least;
        }

        @Override
        public Long convert(String value) {
            return WholeNumbers.parse(value, least, Long.MAX_VALUE);
        }
    }

    static final class AtLeastOne extends Count {
        AtLeastOne() {
            super(1);
        }
    }

    static final class ZeroOrMore extends Count {
        ZeroOrMore() {
            super(0);
        }
    }
}
