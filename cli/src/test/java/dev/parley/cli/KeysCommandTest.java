package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.AuthenticationException;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.limits.Limits;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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

    /** Keys added by several processes at once, as a provisioning script with xargs -P would. */
    @Test
    void keysAddedByProcessesAtOnceAreAllStored() throws Exception {
        Path file = dir.resolve("keys.yaml");
        List<Process> adders = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            adders.add(new ProcessBuilder(
                            ServeCommandTest.parley("keys", "add", "--file", file.toString(), "--name", "k" + i))
                    .redirectErrorStream(true)
                    .start());
        }
        var printed = new ArrayList<String>();
        for (Process adder : adders) {
            printed.add(new String(adder.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            assertThat(adder.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(adder.exitValue()).as(printed.getLast()).isZero();
        }
        var stored = KeysFile.read(file);
        assertThat(stored).extracting(KeyEntry::name).containsExactlyInAnyOrder("k0", "k1", "k2", "k3");
        // Each key printed is the one stored under its name.
        for (int i = 0; i < 4; i++) {
            String key = printed.get(i)
                    .lines()
                    .filter(line -> line.startsWith("sk-parley-"))
                    .findFirst()
                    .orElseThrow();
            String name = "k" + i;
            assertThat(stored)
                    .filteredOn(entry -> entry.name().equals(name))
                    .singleElement()
                    .extracting(KeyEntry::sha256)
                    .isEqualTo(KeysFile.sha256(key));
        }
    }

    @Test
    void listingAFileThatDoesNotExistSaysSo() {
        Path file = dir.resolve("kyes.json");
        assertThat(parley("keys", "list", "--file", file.toString())).isEqualTo(1);
        assertThat(out.toString()).isEmpty();
        assertThat(err.toString()).isEqualTo("parley keys list: no keys file at " + file + System.lineSeparator());
    }

    @Test
    void anEmptyModelNameIsRefused() {
        Path file = dir.resolve("keys.json");
        assertThat(parley("keys", "add", "--file", file.toString(), "--name", "a", "--models", "gpt-4o,,gpt-4o-mini"))
                .isEqualTo(1);
        assertThat(err.toString())
                .isEqualTo("parley keys add: a model name is empty in the models \"gpt-4o,,gpt-4o-mini\""
                        + System.lineSeparator());
        assertThat(out.toString()).isEmpty();
        assertThat(file).doesNotExist();
        add(file, "b", "--models", "gpt-4o");
        err.getBuffer().setLength(0);
        assertThat(parley("keys", "set", "--file", file.toString(), "--name", "b", "--models", ""))
                .isEqualTo(1);
        assertThat(err.toString()).startsWith("parley keys set: a model name is empty");
    }

    @Test
    void aKeyWithoutANameOrWithALineBreakInItIsRefusedAndTheFileStaysReadable() {
        Path file = dir.resolve("keys.json");
        add(file, "a");
        for (String name : List.of("", "  ", "team\nb")) {
            err.getBuffer().setLength(0);
            assertThat(parley("keys", "add", "--file", file.toString(), "--name", name))
                    .isEqualTo(1);
            assertThat(err.toString()).startsWith("parley keys add: a key");
        }
        out.getBuffer().setLength(0);
        assertThat(parley("keys", "list", "--file", file.toString())).isZero();
        assertThat(out.toString().lines().filter(line -> !line.isBlank()).count())
                .as(out.toString())
                .isEqualTo(2); // the heading and key a
    }

    @Test
    void aMistypedOptionNamesTheWholeCommand() {
        Path file = dir.resolve("keys.json");
        assertThat(parley("keys", "add", "--file", file.toString(), "--name", "a", "--tpm", "99999999999999999999"))
                .isEqualTo(2);
        assertThat(out.toString()).isEmpty();
        assertThat(err.toString().lines().toList())
                .containsExactly(
                        "parley keys add: Invalid value for option '--tpm': '99999999999999999999' is not a whole number"
                                + " (at most 9223372036854775807)",
                        "Try 'parley keys add --help'.");
        assertThat(file).doesNotExist();
    }

    @Test
    void limitsBelowTheirLeastAreUsageErrorsInTheOptionsName() {
        Path file = dir.resolve("keys.json");
        assertThat(parley("keys", "add", "--file", file.toString(), "--name", "a", "--rpm", "0"))
                .isEqualTo(2);
        assertThat(err.toString().lines().toList())
                .containsExactly(
                        "parley keys add: Invalid value for option '--rpm': must be at least 1, not 0",
                        "Try 'parley keys add --help'.");
        assertThat(file).doesNotExist();
        add(file, "a", "--rpd", "500");
        err.getBuffer().setLength(0);
        assertThat(parley("keys", "set", "--file", file.toString(), "--name", "a", "--rpd", "-1"))
                .isEqualTo(2);
        assertThat(err.toString().lines().toList())
                .containsExactly(
                        "parley keys set: Invalid value for option '--rpd': must be at least 0, not -1",
                        "Try 'parley keys set --help'.");
        // 0 is how set removes a daily budget
        assertThat(parley("keys", "set", "--file", file.toString(), "--name", "a", "--rpd", "0"))
                .isZero();
        assertThat(KeysFile.read(file).getFirst().rpd()).isNull();
    }

    String add(Path file, String name, String... more) {
        out.getBuffer().setLength(0);
        var args = new ArrayList<>(List.of("keys", "add", "--file", file.toString(), "--name", name));
        args.addAll(List.of(more));
        assertThat(parley(args.toArray(String[]::new))).isZero();
        String key = out.toString().strip();
        out.getBuffer().setLength(0);
        return key;
    }

    @Test
    void removeTakesTheKeyOutAndAnUnknownNameIsAnError() {
        Path file = dir.resolve("keys.json");
        String a = add(file, "a");
        String b = add(file, "b");
        assertThat(parley("keys", "remove", "--file", file.toString(), "--name", "a"))
                .isZero();
        assertThat(err.toString()).contains("Removed key a");
        ApiKeys keys = ApiKeys.load(file);
        assertThatThrownBy(() -> keys.authenticate("Bearer " + a)).isInstanceOf(AuthenticationException.class);
        assertThat(keys.authenticate("Bearer " + b).name()).isEqualTo("b");
        assertThat(parley("keys", "remove", "--file", file.toString(), "--name", "a"))
                .isEqualTo(1);
        assertThat(err.toString()).contains("parley keys remove: no key named a in " + file);
    }

    @Test
    void rotateGivesANewSecretOnceAndKeepsNameLimitsAndModels() throws Exception {
        Path file = dir.resolve("keys.yaml");
        String old = add(file, "a", "--rpm", "9", "--tpm", "900", "--models", "demo");
        assertThat(parley("keys", "rotate", "--file", file.toString(), "--name", "a"))
                .isZero();
        String fresh = out.toString().strip();
        assertThat(out.toString()).isEqualTo(fresh + System.lineSeparator());
        assertThat(fresh).startsWith("sk-parley-").isNotEqualTo(old);
        assertThat(Files.readString(file)).doesNotContain(fresh);
        ApiKeys keys = ApiKeys.load(file);
        assertThatThrownBy(() -> keys.authenticate("Bearer " + old)).isInstanceOf(AuthenticationException.class);
        var tenant = keys.authenticate("Bearer " + fresh);
        assertThat(tenant.name()).isEqualTo("a");
        assertThat(tenant.limits()).isEqualTo(Limits.perMinute(9, 900));
        assertThat(tenant.models()).containsExactly("demo");
    }

    @Test
    void setChangesOnlyWhatItIsGiven() {
        Path file = dir.resolve("keys.json");
        String key = add(file, "a", "--rpm", "9", "--tpm", "900", "--rpd", "50", "--models", "demo");
        assertThat(parley("keys", "set", "--file", file.toString(), "--name", "a", "--tpm", "1200", "--tpd", "99999"))
                .isZero();
        var tenant = ApiKeys.load(file).authenticate("Bearer " + key);
        assertThat(tenant.limits()).isEqualTo(new Limits(9, 1200, 50L, 99999L));
        assertThat(tenant.models()).containsExactly("demo");

        assertThat(parley("keys", "set", "--file", file.toString(), "--name", "a", "--rpd", "0", "--models", "*"))
                .isZero();
        tenant = ApiKeys.load(file).authenticate("Bearer " + key);
        assertThat(tenant.limits()).isEqualTo(new Limits(9, 1200, null, 99999L));
        assertThat(tenant.models()).isEmpty();

        assertThat(parley("keys", "set", "--file", file.toString(), "--name", "a", "--rpm", "0"))
                .isEqualTo(2);
        assertThat(err.toString()).contains("parley keys set: Invalid value for option '--rpm': must be at least 1");
        assertThat(parley("keys", "set", "--file", file.toString(), "--name", "nobody", "--rpm", "5"))
                .isEqualTo(1);
        assertThat(err.toString()).contains("no key named nobody");
    }
}
