package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A real keyed server whose keys file is edited while it serves. */
@Timeout(60)
class KeysReloadTest {
    static final String CHAT =
            "{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                    + "\"max_tokens\":4,\"temperature\":0}";

    @TempDir
    Path dir;

    Path keys;
    ParleyServer server;
    Loopback loopback;

    static KeyEntry key(String name, long rpm) {
        return new KeyEntry(name, KeysFile.sha256("sk-" + name), rpm, 1_000_000, null, null, List.of());
    }

    @BeforeEach
    void start() {
        keys = dir.resolve("keys.yaml");
        KeysFile.add(keys, key("stays", 1000));
        KeysFile.add(keys, key("goes", 1000));
        server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(2)
                        .withContextPerSequence(128)),
                ApiKeys.load(keys),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0);
        loopback = Loopback.to(server);
    }

    @AfterEach
    void stop() {
        server.close();
        loopback.close();
    }

    HttpRequest request(String name, String body) {
        return HttpRequest.newBuilder(URI.create(loopback.base() + "/v1/chat/completions"))
                .header("Authorization", "Bearer sk-" + name)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    HttpResponse<String> chat(String name) throws Exception {
        return loopback.http().send(request(name, CHAT), HttpResponse.BodyHandlers.ofString());
    }

    /** Sends as {@code name} until the status is {@code status} (the server has seen the file's change). */
    HttpResponse<String> until(String name, int status) throws Exception {
        HttpResponse<String> response = chat(name);
        for (int attempt = 0; attempt < 400 && response.statusCode() != status; attempt++) {
            Thread.sleep(25);
            response = chat(name);
        }
        return response;
    }

    @Test
    void aRemovedKeyIsRefusedAndAnAddedOneAcceptedWithoutARestartAndAStreamRunningOnItEndsWhole() throws Exception {
        assertThat(chat("goes").statusCode()).isEqualTo(200);
        assertThat(chat("new").statusCode()).isEqualTo(401);

        String longer = CHAT.replace("\"max_tokens\":4", "\"max_tokens\":64,\"stream\":true");
        HttpResponse<InputStream> stream =
                loopback.http().send(request("goes", longer), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.statusCode()).isEqualTo(200);
        var events = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
        assertThat(events.readLine()).startsWith("data: ");

        KeysFile.remove(keys, "goes");
        KeysFile.add(keys, key("new", 1000));
        var refused = until("goes", 401);
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(refused.body()).contains("invalid_api_key");
        assertThat(until("new", 200).statusCode()).isEqualTo(200);
        assertThat(chat("stays").statusCode()).isEqualTo(200);

        // The stream admitted before the key was removed runs to its end.
        List<String> rest = events.lines().toList();
        assertThat(rest).contains("data: [DONE]");
        assertThat(rest).noneMatch(line -> line.contains("\"error\""));
    }

    @Test
    void aKeysFileSwappedBehindALinkAsKubernetesUpdatesAMountedConfigMapIsReloaded() throws Exception {
        // Kubernetes mounts keys.yaml -> ..data/keys.yaml, ..data -> a folder of this version, and updates it by
        // pointing ..data at a new folder with one rename: nothing named keys.yaml changes in the keys' folder.
        Path first = Files.createDirectory(dir.resolve("..2026_12_04_10_00_00.1"));
        Files.copy(keys, first.resolve("keys.yaml"));
        Files.createSymbolicLink(dir.resolve("..data"), first.getFileName());
        Files.delete(keys);
        Files.createSymbolicLink(keys, Path.of("..data", "keys.yaml"));
        assertThat(until("goes", 200).statusCode()).isEqualTo(200);

        Path second = Files.createDirectory(dir.resolve("..2026_12_04_10_05_00.2"));
        Path next = second.resolve("keys.yaml");
        KeysFile.add(next, key("stays", 1000));
        KeysFile.add(next, key("new", 1000));
        Path link = Files.createSymbolicLink(dir.resolve("..data_tmp"), second.getFileName());
        Files.move(link, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

        assertThat(until("new", 200).statusCode()).isEqualTo(200);
        assertThat(until("goes", 401).statusCode()).isEqualTo(401);
        assertThat(chat("stays").statusCode()).isEqualTo(200);
    }

    @Test
    void changedLimitsApplyAtTheNextRequest() throws Exception {
        assertThat(chat("stays").headers().firstValue("x-ratelimit-limit-requests"))
                .hasValue("1000");
        KeysFile.update(keys, "stays", k -> key("stays", 7));
        HttpResponse<String> response = chat("stays");
        for (int attempt = 0; attempt < 400; attempt++) {
            if (response.headers().firstValue("x-ratelimit-limit-requests").equals(java.util.Optional.of("7"))) break;
            Thread.sleep(25);
            response = chat("stays");
        }
        assertThat(response.headers().firstValue("x-ratelimit-limit-requests")).hasValue("7");
    }

    @Test
    void aBrokenOrMissingFileKeepsTheKeysInUse() throws Exception {
        Path elsewhere = dir.resolve("kept.yaml");
        Files.copy(keys, elsewhere);
        Files.writeString(keys, "keys: [ {name: broken");
        assertThat(server.reloadKeys()).isFalse();
        assertThat(chat("stays").statusCode()).isEqualTo(200);
        Files.delete(keys);
        assertThat(server.reloadKeys()).isFalse();
        assertThat(chat("goes").statusCode()).isEqualTo(200);
        Files.move(elsewhere, keys);
        assertThat(server.reloadKeys()).isTrue();
        assertThat(chat("stays").statusCode()).isEqualTo(200);
    }
}
