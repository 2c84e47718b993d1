package dev.parley.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One run of {@code parley ARGS} through the real command line in this process, with its output captured. */
record InProcess(int exitCode, String out, String err) {
    static InProcess run(String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        int exitCode = Main.commandLine()
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true))
                .execute(args);
        return new InProcess(exitCode, out.toString(), err.toString());
    }
}
