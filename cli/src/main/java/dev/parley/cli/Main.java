package dev.parley.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code parley} command: one subcommand per capability. */
@Command(
        name = "parley",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "OpenAI-style chat completions, both sides of the wire.",
        subcommands = {ServeCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by {@link #main} and the tests. */
    public static CommandLine commandLine() {
        return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"parley " + (version == null ? "(development build)" : version)};
        }
    }
}
