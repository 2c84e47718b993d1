package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.server.auth.ApiKeys;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeysCommandTest {
    @TempDir
    Path dir;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int parley(String... args) {
        return Main.commandLine()
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true))
                .execute(args);
    }

    @Test
    void addPrintsTheKeyAloneOnStdoutAndTheFileKeepsOnlyItsHash() throws Exception {
        Path file = dir.resolve("keys.json");
        assertThat(parley(
                        "keys",
                        "add",
                        "--file",
                        file.toString(),
                        "--name",
                        "team-a",
                        "--rpm",
                        "60",
                        "--tpm",
                        "40000",
                        "--rpd",
                        "1000",
                        "--models",
                        "demo,other"))
                .isZero();
        String key = out.toString().strip();
        assertThat(out.toString()).isEqualTo(key + System.lineSeparator());
        assertThat(key).startsWith("sk-parley-").doesNotContain(" ");
        assertThat(Files.readString(file)).doesNotContain(key);
        var tenant = ApiKeys.load(file).authenticate("Bearer " + key);
        assertThat(tenant.name()).isEqualTo("team-a");
        assertThat(tenant.limits().requestsPerDay()).isEqualTo(1000L);
        assertThat(tenant.models()).containsExactlyInAnyOrder("demo", "other");
    }

    @Test
    void listShowsNamesAndLimitsButNeverKeys() {
        Path file = dir.resolve("keys.yaml");
        parley(
                "keys",
                "add",
                "--file",
                file.toString(),
                "--name",
                "batch",
                "--rpm",
                "10",
                "--tpm",
                "2000",
                "--tpd",
                "500000");
        String key = out.toString().strip();
        out.getBuffer().setLength(0);
        assertThat(parley("keys", "list", "--file", file.toString())).isZero();
        assertThat(out.toString())
                .contains("NAME")
                .contains("batch")
                .contains("2000")
                .contains("500000")
                .contains("(all)")
                .doesNotContain(key);
    }

    @Test
    void aSecondKeyOfTheSameNameIsRefusedAndPrintsNoKey() {
        Path file = dir.resolve("keys.json");
        parley("keys", "add", "--file", file.toString(), "--name", "a");
        out.getBuffer().setLength(0);
        assertThat(parley("keys", "add", "--file", file.toString(), "--name", "a"))
                .isEqualTo(1);
        assertThat(out.toString()).isEmpty();
        assertThat(err.toString()).contains("already");
    }
}
