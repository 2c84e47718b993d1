package dev.parley.cli;

import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code parley} command: one subcommand per capability. */
@Command(
        name = "parley",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "OpenAI-style chat completions, both sides of the wire.")
public final class Main implements Runnable {

    /** The subcommands, in the order help lists them. */
    private static final List<Class<?>> SUBCOMMANDS = List.of(
            ServeCommand.class,
            ChatCommand.class,
            BatchCommand.class,
            CompleteCommand.class,
            ModelsCommand.class,
            TokensCommand.class,
            KeysCommand.class,
            CommandLine.HelpCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine(args).execute(args));
    }

    /** The configured command line with every subcommand, shared by {@link #main} and the tests. */
    public static CommandLine commandLine() {
        return commandLine(new String[0]);
    }

    /**
     * The command line to run {@code args} with: when they start with a subcommand's name, that subcommand
     * alone is built (all of them for {@code help}, a mistyped name or none). picocli reads every option of every
     * subcommand it is given by reflection (each annotation type it meets is a proxy class generated on first use),
     * so a start that builds one subcommand instead of seven is shorter.
     */
    static CommandLine commandLine(String... args) {
        CommandLine line = new CommandLine(new Main());
        String first = args.length == 0 ? "" : args[0];
        List<Class<?>> named = SUBCOMMANDS.stream()
                .filter(type -> type != CommandLine.HelpCommand.class)
                .filter(type -> type.getAnnotation(Command.class).name().equals(first))
                .toList();
        for (Class<?> type : named.isEmpty() ? SUBCOMMANDS : named) line.addSubcommand(type);
        return line.setCaseInsensitiveEnumValuesAllowed(true).setParameterExceptionHandler(Main::badArguments);
    }

    /** A mistyped command line gets one line saying what is wrong and where help is, not the whole usage. */
    private static int badArguments(CommandLine.ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        var err = command.getErr();
        String name = command.getCommandSpec().qualifiedName(); // "parley keys add", not "parley add"
        err.println(name + ": " + e.getMessage());
        err.println("Try '" + name + " --help'.");
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
