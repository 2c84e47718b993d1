package dev.parley.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.AuthenticationException;
import dev.parley.server.limits.Limits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeysFileTest {
    @TempDir
    Path dir;

    @Test
    void addingAKeyCreatesTheFileAndStoresOnlyItsHash() throws Exception {
        Path file = dir.resolve("sub/keys.json");
        String key = KeysFile.newKey();
        KeysFile.add(file, new KeyEntry("team-a", KeysFile.sha256(key), 60, 10_000, null, 1_000_000L, List.of("demo")));
        assertThat(Files.readString(file)).doesNotContain(key).contains(KeysFile.sha256(key));
        assertThat(KeysFile.read(file)).singleElement().satisfies(entry -> {
            assertThat(entry.limits()).isEqualTo(new Limits(60, 10_000, null, 1_000_000L));
            assertThat(entry.models()).containsExactly("demo");
        });
    }

    @Test
    void aKeyAuthenticatesAsItsTenantAndNoOtherDoes() {
        Path file = dir.resolve("keys.json");
        KeysFile.add(file, new KeyEntry("a", KeysFile.sha256("sk-a"), 1, 1, null, null, List.of()));
        KeysFile.add(file, new KeyEntry("b", KeysFile.sha256("sk-b"), 2, 2, null, null, List.of("demo")));
        ApiKeys keys = ApiKeys.load(file);
        assertThat(keys.authenticate("Bearer sk-b")).isEqualTo(new Tenant("b", Limits.perMinute(2, 2), Set.of("demo")));
        assertThat(keys.authenticate("bearer  sk-a ").name()).isEqualTo("a");
        assertThatThrownBy(() -> keys.authenticate("Bearer sk-c")).isInstanceOf(AuthenticationException.class);
        assertThatThrownBy(() -> keys.authenticate("sk-a")).isInstanceOf(AuthenticationException.class);
        assertThatThrownBy(() -> keys.authenticate(null)).isInstanceOf(AuthenticationException.class);
    }

    @Test
    void aYamlFileReadsLikeJson() throws Exception {
        Path file = dir.resolve("keys.yaml");
        Files.writeString(file, """
                keys:
                  - name: batch
                    sha256: %s
                    rpm: 10
                    tpm: 2000
                    rpd: 500
                """.formatted(KeysFile.sha256("sk-x")));
        assertThat(ApiKeys.load(file).authenticate("Bearer sk-x").limits())
                .isEqualTo(new Limits(10, 2_000, 500L, null));
    }

    @Test
    void aFileThatDoesNotParseIsNamedWithTheLineAndWhatIsWrongThere() throws Exception {
        Path json = dir.resolve("keys.json");
        Files.writeString(json, "{\"keys\": [\n  {name: \"a\"}\n]}");
        assertThatThrownBy(() -> KeysFile.read(json))
                .hasMessage("cannot read keys file " + json + ":2: Unexpected character ('n' (code 110)): was expecting"
                        + " double-quote to start field name");
        Files.writeString(json, "{\"keys\": [\n  {\"name\": \"a\", \"rpm\": NaN}\n]}");
        assertThatThrownBy(() -> KeysFile.read(json))
                .hasMessage("cannot read keys file " + json + ":2: Non-standard token 'NaN'");
        Path yaml = dir.resolve("keys.yaml");
        Files.writeString(yaml, "keys:\n  - name: a\n   sha256: x\n");
        assertThatThrownBy(() -> KeysFile.read(yaml))
                .hasMessage("cannot read keys file " + yaml + ":3: while parsing a block collection; expected <block"
                        + " end>, but found '<block mapping start>'");
    }

    @Test
    void aValueOfTheWrongKindIsNamedInTheFilesTermsAndAFractionOfARequestIsNotRoundedDown() throws Exception {
        Path yaml = dir.resolve("keys.yaml");
        Files.writeString(yaml, "keys: 5\n");
        assertThatThrownBy(() -> KeysFile.read(yaml))
                .hasMessage("cannot read keys file " + yaml + ":1: expected an array (at keys)");
        Files.writeString(yaml, "keys:\n  - name: a\n    key_sha256: x\n    rpm: 100.5\n");
        assertThatThrownBy(() -> KeysFile.read(yaml))
                .hasMessage("cannot read keys file " + yaml + ":4: '100.5' is not an integer (at keys[0].rpm)");
    }

    @Test
    void aServerIsNotStartedOnAMissingOrEmptyKeysFile() throws Exception {
        Path missing = dir.resolve("nope/keys.yaml");
        assertThatThrownBy(() -> ApiKeys.load(missing))
                .hasMessage("no keys file at " + missing + " (make one with: parley keys add --file " + missing
                        + " --name NAME)");
        Path empty = dir.resolve("empty.json");
        Files.writeString(empty, "{\"keys\": []}");
        assertThatThrownBy(() -> ApiKeys.load(empty)).hasMessage("no keys in " + empty);
    }

    @Test
    void keysAddedAtOnceAreAllKept() throws Exception {
        Path file = dir.resolve("keys.yaml");
        int adders = 16;
        var start = new CountDownLatch(1);
        try (var pool = Executors.newFixedThreadPool(adders)) {
            var added = new ArrayList<Future<?>>();
            for (int i = 0; i < adders; i++) {
                String name = "k" + i;
                added.add(pool.submit(() -> {
                    start.await();
                    KeysFile.add(file, new KeyEntry(name, KeysFile.sha256("sk-" + name), 1, 1, null, null, List.of()));
                    return null;
                }));
            }
            start.countDown();
            for (var each : added) each.get();
        }
        assertThat(KeysFile.read(file)).hasSize(adders);
    }

    @Test
    void twoKeysOfOneNameAreRefused() {
        Path file = dir.resolve("keys.json");
        KeysFile.add(file, new KeyEntry("a", KeysFile.sha256("sk-a"), 1, 1, null, null, List.of()));
        assertThatThrownBy(() ->
                        KeysFile.add(file, new KeyEntry("a", KeysFile.sha256("sk-b"), 1, 1, null, null, List.of())))
                .hasMessageContaining("already");
    }
}
