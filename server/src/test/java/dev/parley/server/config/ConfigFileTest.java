package dev.parley.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.server.engine.llama.KvCacheType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a configuration file: what it may say, and the errors that name the line or place of a mistake. */
class ConfigFileTest {
    @TempDir
    Path dir;

    Path file;

    @BeforeEach
    void modelFile() throws IOException {
        Files.writeString(dir.resolve("tiny.gguf"), "not read until opened");
        file = dir.resolve("parley.yaml");
    }

    ServerConfig read(String yaml) throws IOException {
        Files.writeString(file, yaml);
        return ConfigFile.read(file, Map.of("FLEET_KEY", "sk-fleet", "GPU2_KEY", "sk-gpu2")::get);
    }

    void refused(String yaml, String... message) throws IOException {
        Files.writeString(file, yaml);
        assertThatThrownBy(() -> ConfigFile.read(file, name -> null))
                .isInstanceOf(IllegalArgumentException.class)
                .message()
                .startsWith(file.toString())
                .contains(message);
    }

    @Test
    void readsLocalModelsFleetsAndTheServersOptions() throws IOException {
        ServerConfig config = read("""
                server:
                  host: 0.0.0.0
                  port: 9000
                  cors_origins: ["*"]
                  data_dir: data
                  shutdown_timeout: 5
                  log_format: json
                  sse_keepalive: 2.5
                  keep_responses: 7
                keys: keys.yaml
                redis:
                  url: redis://127.0.0.1:6379
                  fail_open: true
                models:
                  - id: tiny
                    file: tiny.gguf
                    aliases: [small]
                    parallel: 8
                    kv_cache: f32
                    cache_ram_mb: 512
                    swa_full: true
                    chat_template_kwargs: {enable_thinking: false}
                    price: {input: 0.1, output: 0.4}
                    fallbacks: [big]
                upstreams:
                  - name: gpus
                    base_urls:
                      - http://gpu-1:8000/v1
                      - url: http://gpu-2:8000/v1
                        api_key: ${GPU2_KEY}
                        rpm: 600
                        tpm: 100000
                    api_key: ${FLEET_KEY}
                    first_byte_timeout: 30
                    idle_timeout: 120
                    cooldown: 5
                    models:
                      - id: big
                        upstream_id: meta-llama/Llama-3.1-70B-Instruct
                        aliases: [llama]
                        output_reserve: 2048
                        price: {input: 2.5, output: 10}
                """);
        assertThat(config.server().host()).isEqualTo("0.0.0.0");
        assertThat(config.server().port()).isEqualTo(9000);
        assertThat(config.server().dataDir()).isEqualTo(dir.resolve("data").toString());
        assertThat(config.server().sseKeepalive()).isEqualTo(2.5);
        assertThat(config.server().keepResponses()).isEqualTo(7);
        assertThat(config.keys()).isEqualTo(dir.resolve("keys.yaml").toString());
        assertThat(config.redis().failOpen()).isTrue();
        var tiny = config.models().getFirst();
        assertThat(tiny.file()).isEqualTo(dir.resolve("tiny.gguf").toString());
        assertThat(tiny.aliases()).containsExactly("small");
        assertThat(tiny.kvCache()).isEqualTo(KvCacheType.F32);
        assertThat(tiny.cacheRamMb()).isEqualTo(512);
        assertThat(tiny.swaFull()).isTrue();
        assertThat(tiny.chatTemplateKwargs()).hasToString("{\"enable_thinking\":false}");
        assertThat(tiny.fallbacks()).containsExactly("big");
        var gpus = config.upstreams().getFirst();
        assertThat(gpus.idleTimeout()).isEqualTo(120);
        assertThat(gpus.apiKey()).isEqualTo("sk-fleet");
        assertThat(gpus.baseUrls())
                .containsExactly(
                        new ServerConfig.Replica("http://gpu-1:8000/v1", null, null, null),
                        new ServerConfig.Replica("http://gpu-2:8000/v1", "sk-gpu2", 600L, 100000L));
        assertThat(gpus.models().getFirst().servedAs()).isEqualTo("meta-llama/Llama-3.1-70B-Instruct");
        assertThat(config.prices())
                .containsExactly(
                        Map.entry("tiny", new dev.parley.server.usage.Price(0.1, 0.4)),
                        Map.entry("big", new dev.parley.server.usage.Price(2.5, 10)));
    }

    @Test
    void aKeepAliveBeyondAnHourOrBelowZeroIsRefused() throws IOException {
        for (String seconds : new String[] {"-1", "3601", "1e9"})
            refused(
                    "server:\n  sse_keepalive: " + seconds + "\nmodels:\n  - id: tiny\n    file: tiny.gguf\n",
                    "server.sse_keepalive must be between 0 (never) and 3600 seconds");
    }

    @Test
    void keptResponsesLastFromNoneToTenYears() throws IOException {
        for (String days : new String[] {"-1", "3651"})
            refused(
                    "server:\n  keep_responses: " + days + "\nmodels:\n  - id: tiny\n    file: tiny.gguf\n",
                    "server.keep_responses must be between 0 (none) and 3650 days");
    }

    @Test
    void anUnknownKeyIsAnErrorNamingItsLineAndTheKeysThatExist() throws IOException {
        refused("""
                models:
                  - id: tiny
                    file: tiny.gguf
                    paralel: 8
                """, ":4: unknown key 'paralel'", "(at models[0].paralel)", "parallel");
        refused("""
                server:
                  port: 9000
                upstream:
                  - name: x
                """, ":3: unknown key 'upstream'", "upstreams");
    }

    @Test
    void aValueOfTheWrongTypeOrBrokenYamlNamesItsLine() throws IOException {
        refused("""
                models:
                  - id: tiny
                    file: tiny.gguf
                    parallel: lots
                """, ":4:", "models[0].parallel");
        refused("""
                models:
                  - id: "tiny
                    file: tiny.gguf
                """, "not valid YAML");
        // Said in the file's terms, never in the Java types the values were to become.
        refused("server:\n  port: 80.5\n", ":2: '80.5' is not an integer (at server.port)");
        refused("server:\n  port: 80x\n", ":2: '80x' is not an integer (at server.port)");
        refused("""
                models:
                  - id: tiny
                    file: tiny.gguf
                    kv_cache: f8
                """, ":4: 'f8' is not one of f16, f32 (at models[0].kv_cache)");
        refused("""
                models:
                  - id: tiny
                    file: tiny.gguf
                    aliases: small
                """, ":4: expected an array (at models[0].aliases)");
        refused("""
                models:
                  - id: tiny
                    file: tiny.gguf
                    embeddings: yes please
                """, ":4: 'yes please' is not a boolean (at models[0].embeddings)");
        refused("", ": the file is empty");
        refused("# models: to come\n\n", ": the file is empty");
    }

    @Test
    void valuesOutOfRangeDuplicateNamesAndUnknownFallbacksAreRefusedBeforeAnythingOpens() throws IOException {
        refused("server:\n  port: 8080\n", "no models");
        refused("models:\n  - id: tiny\n    file: tiny.gguf\n    parallel: 0\n", "models[0] (tiny).parallel", "not 0");
        refused("models:\n  - id: tiny\n    file: missing.gguf\n", "no model file at");
        refused(
                "models:\n  - id: tiny\n    file: tiny.gguf\n    cache_ram_mb: -1\n",
                "models[0] (tiny).cache_ram_mb",
                "not -1");
        refused(
                "models:\n  - id: tiny\n    file: tiny.gguf\n  - id: other\n    file: tiny.gguf\n    aliases: [tiny]\n",
                "models[1] (other) alias: tiny is already the name of a model or an alias");
        refused(
                "models:\n  - id: tiny\n    file: tiny.gguf\n    aliases: [tiny]\n",
                "models[0] (tiny) alias: tiny is already the name of a model or an alias");
        refused(
                "models:\n  - id: tiny\n    file: tiny.gguf\n  - id: tiny\n    file: tiny.gguf\n",
                "models[1] (tiny): tiny is already the name of a model or an alias");
        refused(
                "models:\n  - id: tiny\n    file: tiny.gguf\n    chat_template_kwargs: {messages: []}\n",
                "models[0] (tiny): Invalid 'chat_template_kwargs.messages': the server sets 'messages' itself.");
        refused(
                "models:\n  - id: tiny\n    file: tiny.gguf\n    chat_template_kwargs: [true]\n",
                "models[0] (tiny): Invalid type for 'chat_template_kwargs': expected an object, but got array");
        refused("models:\n  - id: tiny\n    file: tiny.gguf\n    fallbacks: [nowhere]\n", "fallback nowhere");
        refused("models:\n  - id: tiny\n    file: tiny.gguf\n    fallbacks: [tiny]\n", "falls back to itself");
        refused("upstreams:\n  - name: a\n    base_urls: [ftp://x]\n", "a base URL is http(s)://host[:port][/path]");
        refused("upstreams:\n  - name: a\n    base_urls: [{url: 'http://x/v1', rpm: 5}]\n", "rpm and tpm go together");
        refused(
                "upstreams:\n  - name: a\n    base_urls: [http://x/v1]\n    api_key: ${NOT_SET}\n",
                "uses ${NOT_SET}, which is not set");
        refused(
                "upstreams:\n  - name: a\n    base_urls: [http://x/v1]\n    first_byte_timeout: 0\n",
                "first_byte_timeout must be more than 0");
        refused("upstreams:\n  - name: a\n    base_urls: [http://x/v1]\n    models: []\n", "models is empty");
        refused("server:\n  log_format: xml\nmodels:\n  - id: t\n    file: tiny.gguf\n", "text or json");
        refused("models:\n  - id: t\n    file: tiny.gguf\n    price: {input: -1, output: 1}\n", ":4:", "price");
    }

    @Test
    void aFileThatCannotBeReadSaysWhy() {
        assertThatThrownBy(() -> ConfigFile.read(dir.resolve("absent.yaml")))
                .hasMessageContaining("absent.yaml")
                .hasMessageContaining("no such file");
    }
}
