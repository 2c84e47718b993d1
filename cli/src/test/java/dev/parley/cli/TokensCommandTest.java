package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokensCommandTest {

    @TempDir
    Path dir;

    static InProcess parley(String... args) {
        return InProcess.run(args);
    }

    static String resource(String name) {
        try {
            return Path.of(TokensCommandTest.class.getResource(name).toURI()).toString();
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void countsTheSeedExampleAs127UnderGpt35Turbo0301() {
        InProcess run = parley("tokens", "--model", "gpt-3.5-turbo-0301", "--messages", resource("seed-messages.json"));
        assertThat(run).isEqualTo(new InProcess(0, "127\n", ""));
    }

    @Test
    void countsTheSeedExampleAs129UnderGpt4() {
        InProcess run = parley("tokens", "--model", "gpt-4", "--messages", resource("seed-messages.json"));
        assertThat(run).isEqualTo(new InProcess(0, "129\n", ""));
    }

    @Test
    void countsARequestWithToolsUsingTheRequestsModel() {
        assertThat(parley("tokens", "--messages", resource("request-with-tools.json")))
                .isEqualTo(new InProcess(0, "101\n", ""));
        assertThat(parley("tokens", "--model", "gpt-4", "--messages", resource("request-with-tools.json")))
                .isEqualTo(new InProcess(0, "105\n", ""));
    }

    @Test
    void countsTextWithTheDefaultModel() {
        assertThat(parley("tokens", "tiktoken is great!")).isEqualTo(new InProcess(0, "6\n", ""));
        assertThat(TokensCommand.DEFAULT_MODEL).isEqualTo("gpt-4o");
    }

    @Test
    void countsTheTextOfAFileItNamesAndTheNameItselfWhenLiteral(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        var file = java.nio.file.Files.writeString(dir.resolve("note.txt"), "tiktoken is great!");
        assertThat(parley("tokens", file.toString())).isEqualTo(new InProcess(0, "6\n", ""));
        assertThat(parley("tokens", "--encoding", "o200k_base", "--literal", "--ids", "note.txt"))
                .isEqualTo(parley("tokens", "--encoding", "o200k_base", "--ids", "note.txt")); // no such file here
        assertThat(parley("tokens", "--literal", file.toString()).out()).isNotEqualTo("6\n");
    }

    @Test
    void printsTokenIdsOfAnEncoding() {
        assertThat(parley("tokens", "--encoding", "cl100k_base", "--ids", "hello world"))
                .isEqualTo(new InProcess(0, "15339 1917\n", ""));
        assertThat(parley("tokens", "--model", "gpt-4o", "--ids", "tiktoken is great!"))
                .isEqualTo(new InProcess(0, "83 8251 2488 382 2212 0\n", ""));
    }

    @Test
    void countsStandardInputExactlyAsRead() {
        InputStream stdin = System.in;
        try {
            System.setIn(new ByteArrayInputStream("hello world".getBytes(StandardCharsets.UTF_8)));
            assertThat(parley("tokens", "--encoding", "r50k_base", "--ids"))
                    .isEqualTo(new InProcess(0, "31373 995\n", ""));
        } finally {
            System.setIn(stdin);
        }
    }

    @Test
    void warnsOnStderrWhenTheModelIsAGuess() {
        InProcess run = parley("tokens", "--model", "my-llama", "--messages", resource("seed-messages.json"));
        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).isEqualTo("129\n");
        assertThat(run.err())
                .isEqualTo("parley tokens: warning: model 'my-llama' not found; "
                        + "counting with cl100k_base and the message rules of gpt-4-0613\n");
    }

    @Test
    void rejectsModelAndEncodingTogetherAsUsage() {
        assertThat(parley("tokens", "--model", "gpt-4", "--encoding", "cl100k_base", "hi"))
                .isEqualTo(new InProcess(2, "", "parley tokens: --model and --encoding exclude each other\n"));
    }

    @Test
    void rejectsAnUnknownEncodingAsUsageListingTheKnownOnes() {
        assertThat(parley("tokens", "--encoding", "gpt2", "hi"))
                .isEqualTo(new InProcess(
                        2,
                        "",
                        "parley tokens: unknown encoding 'gpt2'; known encodings: "
                                + "o200k_base, cl100k_base, p50k_base, p50k_edit, r50k_base\n"));
    }

    @Test
    void rejectsAMissingFileAsInput() {
        Path missing = dir.resolve("missing.json");
        assertThat(parley("tokens", "--messages", missing.toString()))
                .isEqualTo(new InProcess(1, "", "parley tokens: cannot read " + missing + ": no such file\n"));
    }

    @Test
    void rejectsInvalidJsonAsInputInOneLine() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.json"), "[{\"role\": \"user\", \"content\": }]");
        InProcess run = parley("tokens", "--messages", bad.toString());
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.out()).isEmpty();
        assertThat(run.err())
                .startsWith("parley tokens: cannot read " + bad + ": invalid JSON at line 1, column ")
                .endsWith("\n")
                .hasLineCount(1);
    }

    @Test
    void rejectsJsonThatHoldsNoMessagesAsInput() throws Exception {
        Path other = Files.writeString(dir.resolve("other.json"), "{\"prompt\": \"hi\"}");
        assertThat(parley("tokens", "--messages", other.toString()))
                .isEqualTo(new InProcess(
                        1,
                        "",
                        "parley tokens: " + other
                                + " holds neither a messages array nor a request object with messages\n"));
        Path wrong = Files.writeString(dir.resolve("wrong.json"), "[{\"role\": \"user\", \"content\": 42}]");
        assertThat(parley("tokens", "--messages", wrong.toString()))
                .isEqualTo(new InProcess(
                        1,
                        "",
                        "parley tokens: cannot read " + wrong
                                + ": expected a string or an array of content parts (at messages[0].content)\n"));
        Files.writeString(wrong, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": 5}");
        assertThat(parley("tokens", "--messages", wrong.toString()))
                .isEqualTo(new InProcess(
                        1, "", "parley tokens: cannot read " + wrong + ": expected an array (at tools)\n"));
    }

    @Test
    void rejectsAMessageWithoutARoleAsInput() throws Exception {
        Path roleless = Files.writeString(
                dir.resolve("roleless.json"),
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"content\": \"no role\"}, null]}");
        assertThat(parley("tokens", "--messages", roleless.toString()))
                .isEqualTo(new InProcess(1, "", "parley tokens: cannot read " + roleless + ": messages[2] is null\n"));
        Files.writeString(roleless, "[{\"content\": \"no role\"}]");
        assertThat(parley("tokens", "--messages", roleless.toString()))
                .isEqualTo(
                        new InProcess(1, "", "parley tokens: cannot read " + roleless + ": messages[0] has no role\n"));
    }

    @Test
    void rejectsTextTogetherWithMessagesAsUsage() {
        assertThat(parley("tokens", "--messages", resource("seed-messages.json"), "hi"))
                .isEqualTo(new InProcess(2, "", "parley tokens: give TEXT or --messages, not both\n"));
    }

    @Test
    void aMistypedCommandLineGetsOneLineAndAPointerToHelp() {
        InProcess run = parley("tokens", "--modle");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.out()).isEmpty();
        assertThat(run.err().lines().toList())
                .containsExactly("parley tokens: Unknown option: '--modle'", "Try 'parley tokens --help'.");
    }
}
