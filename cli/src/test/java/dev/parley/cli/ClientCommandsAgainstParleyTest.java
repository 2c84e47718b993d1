package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.server.ParleyServer;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code parley chat}, {@code complete} and {@code models} against a real Parley server serving one model. */
@Timeout(60)
class ClientCommandsAgainstParleyTest {
    static ParleyServer server;
    static String root;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    @BeforeAll
    static void start() {
        var engine = LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                .withModelId("demo")
                .withParallel(1)
                .withContextPerSequence(256));
        server = ParleyServer.start(engine, "127.0.0.1", 0);
        root = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    int parley(String... args) {
        var command = Main.commandLine();
        command.setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
        return command.execute(args);
    }

    @Test
    void chatAndCompleteWithoutAModelUseTheOneTheServerServes() {
        assertThat(parley("chat", "--base-url", root + "/v1", "--api-key", "none", "--max-tokens", "3", "Hi"))
                .as(err.toString())
                .isZero();
        assertThat(parley("complete", "--base-url", root + "/v1", "--api-key", "none", "--max-tokens", "3", "Lily and"))
                .as(err.toString())
                .isZero();
        assertThat(out.toString().lines())
                .hasSize(2)
                .allSatisfy(line -> assertThat(line).isNotBlank());
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void aBaseUrlWithoutV1GetsAHint() {
        assertThat(parley("chat", "--base-url", root, "--api-key", "none", "--max-retries", "0", "-m", "demo", "Hi"))
                .isEqualTo(Failures.EXIT);
        assertThat(parley("models", "--base-url", root + "/", "--api-key", "none"))
                .isEqualTo(Failures.EXIT);
        assertThat(err.toString().lines())
                .hasSize(2)
                .allSatisfy(line -> assertThat(line)
                        .contains("(HTTP 404")
                        .endsWith("; the server has no " + root
                                + "/models: is /v1 missing from the base URL? Try --base-url " + root + "/v1"));
    }

    @Test
    void aMissingModelIsNotTakenForAMissingV1() {
        assertThat(parley("chat", "--base-url", root + "/v1", "--api-key", "none", "-m", "nope", "Hi"))
                .isEqualTo(Failures.EXIT);
        assertThat(err.toString()).contains("HTTP 404").doesNotContain("/v1 missing");
    }

    @Test
    void anArgumentTheClientRefusesBeforeSendingIsNotReportedAsAnAnswer() {
        assertThat(parley("chat", "--base-url", root + "/v1", "--api-key", "none", "-m", "demo", "-t", "5", "Hi"))
                .isEqualTo(Failures.EXIT);
        assertThat(err.toString())
                .isEqualTo("parley chat: Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but"
                        + " got 5 instead." + System.lineSeparator());
        assertThat(out.toString()).isEmpty();
    }

    /**
     * The README's single-file example, run by the JDK's source launcher on the client's own classpath
     * (parley-client, parley-core, Jackson, JTokkit and nothing else) against this server.
     */
    @Test
    void theClientAloneRunsTheSingleFileExample() throws Exception {
        var allowed = java.util.regex.Pattern.compile(
                ".*(parley-(core|client)-[^/\\\\]*(?<!-tests)\\.jar|[/\\\\](core|client)[/\\\\]target[/\\\\]classes[/\\\\]?"
                        + "|jackson-(databind|core|annotations)-[^/\\\\]*\\.jar|jtokkit-[^/\\\\]*\\.jar)");
        String classpath = java.util.Arrays.stream(
                        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))
                                .split(java.io.File.pathSeparator))
                .filter(entry -> allowed.matcher(entry).matches())
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
        assertThat(classpath.split(java.io.File.pathSeparator)).hasSize(6);
        var example = java.nio.file.Path.of("..", "client", "examples", "Hello.java");
        var builder = new ProcessBuilder(
                        java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java")
                                .toString(),
                        "-cp",
                        classpath,
                        example.toString())
                .redirectErrorStream(true);
        builder.environment().put("OPENAI_BASE_URL", root + "/v1");
        builder.environment().put("OPENAI_API_KEY", "none");
        builder.environment().remove("PARLEY_MODEL");
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(process.waitFor()).as(output).isZero();
        assertThat(output.lines())
                .hasSize(3)
                .allSatisfy(line -> assertThat(line).isNotBlank());
    }
}
