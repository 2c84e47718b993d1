package dev.parley.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code parley} command: one subcommand per capability. */
@Command(
        name = "parley",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "OpenAI-style chat completions, both sides of the wire.",
        subcommands = {
            ServeCommand.class,
            ChatCommand.class,
            BatchCommand.class,
            CompleteCommand.class,
            ModelsCommand.class,
            TokensCommand.class,
            KeysCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by {@link #main} and the tests. */
    public static CommandLine commandLine() {
        return new CommandLine(new Main())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setParameterExceptionHandler(Main::badArguments);
    }

    /** A mistyped command line gets one line saying what is wrong and where help is, not the whole usage. */
    private static int badArguments(CommandLine.ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        var err = command.getErr();
        err.println(
                command.getCommandName().equals("parley")
                        ? "parley: " + e.getMessage()
                        : "parley " + command.getCommandName() + ": " + e.getMessage());
        err.println("Try '" + command.getCommandSpec().qualifiedName() + " --help'.");
        return command.getCommandSpec().exitCodeOnInvalidInput();
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
