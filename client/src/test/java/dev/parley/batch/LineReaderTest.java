package dev.parley.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ChatCompletionRequest;
import org.junit.jupiter.api.Test;

class LineReaderTest {
    final LineReader reader = new LineReader(Endpoint.AUTO, new Estimator(null));

    InputLine.Job job(InputLine line) {
        assertThat(line).isInstanceOf(InputLine.Job.class);
        return (InputLine.Job) line;
    }

    @Test
    void aChatLineKeepsMetadataAndCustomIdOutOfTheBodyItSends() {
        var job = job(reader.read(3, """
                {"custom_id":"q-1","model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],"max_tokens":10,"metadata":{"row":7}}"""));
        assertThat(job.id()).isEqualTo("q-1");
        assertThat(job.customId()).isEqualTo("q-1");
        assertThat(job.number()).isEqualTo(3);
        assertThat(job.metadata().toString()).isEqualTo("{\"row\":7}");
        assertThat(job.body().has("metadata")).isFalse();
        assertThat(job.body().has("custom_id")).isFalse();
        assertThat(job.request()).isInstanceOf(BatchRequest.Chat.class);
        // 8 prompt tokens for one short user message under gpt-4o-mini's rules, plus max_tokens × n
        assertThat(job.estimate()).isEqualTo(8 + 10);
    }

    @Test
    void aLineWithAPromptAndNoMessagesIsALegacyCompletion() {
        var job = job(reader.read(
                1, "{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":[\"a b\",\"c\"],\"max_tokens\":5,\"n\":2}"));
        assertThat(job.request()).isInstanceOf(BatchRequest.Completion.class);
        assertThat(job.estimate()).isEqualTo(3 + 5 * 2 * 2); // 2 + 1 prompt tokens, 5 × n for each prompt
    }

    @Test
    void readsTheBatchApiLineFormatAndGoesWhereItsUrlSays() {
        var job = job(reader.read(1, """
                {"custom_id":"r1","method":"POST","url":"/v1/completions","body":{"model":"m","prompt":"x"}}"""));
        assertThat(job.request()).isInstanceOf(BatchRequest.Completion.class);
        assertThat(job.body().toString()).isEqualTo("{\"model\":\"m\",\"prompt\":\"x\"}");
        assertThat(job.estimate()).isEqualTo(1 + 16); // the legacy default max_tokens of 16
    }

    @Test
    void aBatchApiLineWhoseMethodIsNotPostIsInvalidRatherThanSentAsAPost() {
        for (String method : new String[] {"\"GET\"", "\"post\"", "\"DELETE\"", "5", "null"}) {
            assertThat(reader.read(2, """
                    {"custom_id":"r1","method":%s,"url":"/v1/chat/completions","body":{"model":"m","messages":[]}}""".formatted(method)))
                    .as(method)
                    .isInstanceOfSatisfying(
                            InputLine.Invalid.class,
                            bad -> assertThat(bad.message())
                                    .isEqualTo("method " + method + " is not POST: a Batch"
                                            + " API line's body is sent with POST"));
        }
    }

    @Test
    void estimatesToolsAndListContentAndToolCallsWithoutFailing() {
        var job = job(reader.read(1, """
                {"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"Weather?"}]},
                 {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get","arguments":"{}"}}]},
                 {"role":"tool","tool_call_id":"c1","content":"sunny"}],
                 "tools":[{"type":"function","function":{"name":"get","parameters":{"type":"object","properties":{}}}}]}"""));
        assertThat(job.estimate()).isGreaterThan(16);
        assertThat(((BatchRequest.Chat) job.request()).request()).isInstanceOf(ChatCompletionRequest.class);
    }

    @Test
    void aBadLineIsReportedWithItsNumberAndWhatIsWrong() {
        assertThat(reader.read(4, "{\"model\": "))
                .isInstanceOfSatisfying(
                        InputLine.Invalid.class, bad -> assertThat(bad.number()).isEqualTo(4));
        assertThat(reader.read(5, "{\"model\":\"m\",\"messages\":[],\"temperature\":3}"))
                .isInstanceOfSatisfying(
                        InputLine.Invalid.class,
                        bad -> assertThat(bad.message()).startsWith("messages"));
        assertThat(reader.read(6, "[1,2]")).isInstanceOf(InputLine.Invalid.class);
        assertThat(reader.read(7, "  ")).isInstanceOf(InputLine.Blank.class);
    }

    @Test
    void aRepeatedCustomIdIsInvalidSoNoResultCouldBeMistakenForAnother() {
        job(reader.read(
                1, "{\"custom_id\":\"a\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"));
        assertThat(reader.read(
                        2,
                        "{\"custom_id\":\"a\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"y\"}]}"))
                .isInstanceOf(InputLine.Invalid.class);
    }

    @Test
    void withoutACustomIdTheIdentityIsTheLineNumberAndAHashOfTheText() {
        String text = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
        var job = job(reader.read(9, text));
        assertThat(job.id()).matches("line-9-[0-9a-f]{16}");
        assertThat(LineReader.identity(9, null, text + " ")).isEqualTo(job.id());
        assertThat(LineReader.identity(10, null, text)).isNotEqualTo(job.id());
        assertThat(LineReader.identity(9, null, text.replace("x", "z"))).isNotEqualTo(job.id());
    }
}
