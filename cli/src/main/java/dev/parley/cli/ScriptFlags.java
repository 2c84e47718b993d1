package dev.parley.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Stack;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The flags of OpenAI's {@code api_request_parallel_processor.py} as its {@code argparse} takes them: a long
 * flag may be shortened to any prefix that only one of the script's flags starts with ({@code
 * --requests_file} for {@code --requests_filepath}, {@code --max_req=60} for {@code
 * --max_requests_per_minute=60}), and a prefix that several start with is an error naming them all, as
 * argparse's "ambiguous option". Flags that {@code parley batch} knows by their whole name are left alone,
 * and so is everything after {@code --}.
 *
 * <p>Runs as the batch command's preprocessor, once picocli has matched the command and before it parses
 * the rest; stateless.
 */
final class ScriptFlags implements CommandLine.IParameterPreprocessor {
    /** The script's parser's long flags, in the order it declares them ({@code --help} is argparse's own). */
    static final List<String> FLAGS = List.of(
            "--requests_filepath",
            "--save_filepath",
            "--request_url",
            "--api_key",
            "--max_requests_per_minute",
            "--max_tokens_per_minute",
            "--token_encoding_name",
            "--max_attempts",
            "--logging_level",
            "--help");

    @Override
    public boolean preprocess(Stack<String> args, CommandSpec command, ArgSpec argSpec, Map<String, Object> info) {
        List<String> rest = new ArrayList<>();
        while (!args.isEmpty()) rest.add(args.pop()); // the top of the stack is the next argument
        List<String> expanded = expand(rest, command);
        for (int i = expanded.size() - 1; i >= 0; i--) args.push(expanded.get(i));
        return false; // picocli parses the rest as usual
    }

    /** The arguments with every abbreviated script flag written out whole. */
    static List<String> expand(List<String> args, CommandSpec command) {
        List<String> expanded = new ArrayList<>(args.size());
        boolean valueNext = false;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--")) {
                expanded.addAll(args.subList(i, args.size()));
                break;
            }
            if (valueNext || !arg.startsWith("--")) {
                expanded.add(arg);
                valueNext = false;
                continue;
            }
            int equals = arg.indexOf('=');
            String name = equals < 0 ? arg : arg.substring(0, equals);
            String whole = command.findOption(name) != null ? name : unabbreviated(name, command);
            expanded.add(equals < 0 ? whole : whole + arg.substring(equals));
            OptionSpec option = command.findOption(whole);
            valueNext = equals < 0 && option != null && option.arity().max() > 0;
        }
        return expanded;
    }

    /** The one script flag {@code prefix} starts; {@code prefix} itself when none does (picocli then says so). */
    private static String unabbreviated(String prefix, CommandSpec command) {
        List<String> matches =
                FLAGS.stream().filter(flag -> flag.startsWith(prefix)).toList();
        if (matches.size() > 1) {
            throw new CommandLine.ParameterException(
                    command.commandLine(),
                    "ambiguous option: %s could match %s".formatted(prefix, String.join(", ", matches)));
        }
        return matches.isEmpty() ? prefix : matches.getFirst();
    }
}
