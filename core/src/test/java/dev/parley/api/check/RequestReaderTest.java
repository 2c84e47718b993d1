package dev.parley.api.check;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ApiError;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.InvalidRequestException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Bad request bodies become exact OpenAI errors naming their param; good ones read through. */
class RequestReaderTest {
    private static final String HELLO = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

    static ApiError chatError(String body) {
        try {
            RequestReader.chat(body.getBytes(StandardCharsets.UTF_8));
        } catch (InvalidRequestException e) {
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.error().type()).isEqualTo("invalid_request_error");
            return e.error();
        }
        throw new AssertionError("accepted: " + body);
    }

    static ApiError completionError(String body) {
        try {
            RequestReader.completion(body.getBytes(StandardCharsets.UTF_8));
        } catch (InvalidRequestException e) {
            return e.error();
        }
        throw new AssertionError("accepted: " + body);
    }

    @Test
    void readsAValidRequest() {
        ChatCompletionRequest request =
                RequestReader.chat(("{\"model\":\"m\"," + HELLO + ",\"temperature\":0}").getBytes());
        assertThat(request.messages().getFirst().text()).isEqualTo("hi");
        assertThat(request.temperature()).isZero();
    }

    @ParameterizedTest(name = "{0} -> {1} {2}")
    @CsvSource(delimiter = '|', textBlock = """
        {"messages":[{"role":"user","content":"hi"}]}                       | model                    | missing_required_parameter
        {"model":"m"}                                                         | messages                 | missing_required_parameter
        {"model":"m","messages":[]}                                           | messages                 | empty_array
        {"model":"m","messages":[{"content":"hi"}]}                           | messages[0].role         | missing_required_parameter
        {"model":"m","messages":[{"role":"robot","content":"hi"}]}            | messages[0].role         | invalid_value
        {"model":"m","messages":[{"role":"user"}]}                            | messages[0].content      | missing_required_parameter
        {"model":"m","messages":[{"role":"user","content":"x","name":"a b"}]} | messages[0].name         | invalid_value
        {"model":"m","messages":[{"role":"tool","content":"x"}]}              | messages[0].tool_call_id | missing_required_parameter
        {"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]} | messages[0].content[0].type | invalid_value
        {"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]} | messages[0].content[0].text | missing_required_parameter
        {"model":"m","messages":[{"role":"user","content":5}]}               | messages[0].content      | invalid_type
        {"model":"m","messages":{"role":"user"}}                              | messages                 | invalid_type
        {"model":"m",MSG,"temperature":2.5}                                   | temperature              | decimal_above_max_value
        {"model":"m",MSG,"temperature":-0.1}                                  | temperature              | decimal_below_min_value
        {"model":"m",MSG,"temperature":"0.5"}                                 | temperature              | invalid_type
        {"model":"m",MSG,"top_p":1.5}                                         | top_p                    | decimal_above_max_value
        {"model":"m",MSG,"n":0}                                               | n                        | integer_below_min_value
        {"model":"m",MSG,"n":1.5}                                             | n                        | invalid_type
        {"model":"m",MSG,"n":99999999999}                                     | n                        | integer_above_max_value
        {"model":"m",MSG,"max_tokens":0}                                      | max_tokens               | integer_below_min_value
        {"model":"m",MSG,"max_completion_tokens":0}                           | max_completion_tokens    | integer_below_min_value
        {"model":"m",MSG,"presence_penalty":3}                                | presence_penalty         | decimal_above_max_value
        {"model":"m",MSG,"frequency_penalty":-3}                              | frequency_penalty        | decimal_below_min_value
        {"model":"m",MSG,"logit_bias":{"12":101}}                             | logit_bias.12            | decimal_above_max_value
        {"model":"m",MSG,"logit_bias":{"abc":1}}                              | logit_bias               | invalid_value
        {"model":"m",MSG,"stop":["a","b","c","d","e"]}                        | stop                     | array_above_max_length
        {"model":"m",MSG,"top_logprobs":3}                                    | top_logprobs             | invalid_value
        {"model":"m",MSG,"logprobs":true,"top_logprobs":21}                   | top_logprobs             | integer_above_max_value
        {"model":"m",MSG,"stream_options":{"include_usage":true}}             | stream_options           | invalid_value
        {"model":"m",MSG,"response_format":{"type":"yaml"}}                   | response_format.type     | invalid_value
        {"model":"m",MSG,"tools":[{"type":"function","function":{"name":"has space"}}]} | tools[0].function.name | invalid_value
        {"model":"m",MSG,"tool_choice":"sometimes"}                           | tool_choice              | invalid_value
        {"model":"m",MSG,"tool_choice":{"type":"function","function":{"name":"f"}}} | tool_choice        | invalid_value
        {"model":"m",MSG,"stream":"yes"}                                      | stream                   | invalid_type
        {"model":"m",MSG,"tool_choice":"required"}                            | tool_choice              | invalid_value
        {"model":"m",MSG,"response_format":{"type":"json_object"}}            | messages                 | invalid_value
        {"model":"m","messages":[{"role":"tool","tool_call_id":"c","content":"4"}]} | messages.[0].role  | invalid_value
        {"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"},{"role":"tool","tool_call_id":"c","content":"4"}]} | messages.[2].role | invalid_value
        """)
    void rejectsEachBadChatRequestNamingItsParam(String body, String param, String code) {
        ApiError error = chatError(body.replace("MSG", HELLO));
        assertThat(error.param()).isEqualTo(param);
        assertThat(error.code()).isEqualTo(code);
        assertThat(error.message()).isNotBlank();
    }

    @Test
    void saysWhatWasExpectedAndWhatCame() {
        assertThat(chatError("{\"model\":\"m\"," + HELLO + ",\"temperature\":2.5}")
                        .message())
                .isEqualTo(
                        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.");
        assertThat(chatError("{\"model\":\"m\"," + HELLO + ",\"temperature\":\"hot\"}")
                        .message())
                .isEqualTo("Invalid type for 'temperature': expected a number, but got a string instead.");
        assertThat(chatError("{\"model\":\"m\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}")
                        .message())
                .isEqualTo(
                        "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        ``
        `   `
        `{"model":`
        `{"model":"m",}`
        `not json`
        `{"model":"m"} {"x":1}`
        """)
    void rejectsMalformedJsonWithoutAParam(String body) {
        ApiError error = chatError(body == null ? "" : body);
        assertThat(error.param()).isNull();
        assertThat(error.message()).startsWith("We could not parse the JSON body of your request");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        `{"model":"m","temperature":NaN}` | Non-standard token 'NaN' at line 1, column 31
        `{"model":"m","n":+1}`            | in numeric value: JSON spec does not allow numbers to have plus signs at line 1
        `{"model":"m",/*x*/}`             | maybe a (non-standard) comment? at line 1, column 14
        `{"model":"m"`                    | expected close marker for Object (opened at line 1, column 1) at line 1
        `{"model":"m"} {"x":1}`           | (there is more after the JSON object).
        """)
    void saysWhatIsWrongWithTheJsonAndWhereInItsOwnTerms(String body, String said) {
        String message = chatError(body).message();
        assertThat(message).contains(said).doesNotContain("Feature", "`", "dev.parley", "Source");
    }

    @Test
    void rejectsABodyThatIsNotAnObject() {
        ApiError error = chatError("[1,2]");
        assertThat(error.code()).isEqualTo("invalid_type");
        assertThat(error.message()).contains("expected a JSON object, but got an array");
    }

    @Test
    void acceptsAnAssistantMessageThatOnlyCallsTools() {
        String body =
                "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\","
                        + "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"ok\"}]}";
        assertThat(RequestReader.chat(body.getBytes()).messages()).hasSize(2);
    }

    @ParameterizedTest(name = "{0} -> {1} {2}")
    @CsvSource(delimiter = '|', textBlock = """
        {"model":"m"}                                  | prompt       | missing_required_parameter
        {"model":"m","prompt":[]}                      | prompt       | empty_array
        {"model":"m","prompt":[1,"a"]}                 | prompt       | invalid_type
        {"model":"m","prompt":{"text":"a"}}            | prompt       | invalid_type
        {"model":"m","prompt":"a","logprobs":6}        | logprobs     | integer_above_max_value
        {"model":"m","prompt":"a","n":3,"best_of":2}   | best_of      | invalid_value
        {"model":"m","prompt":"a","max_tokens":-1}     | max_tokens   | integer_below_min_value
        {"prompt":"a"}                                 | model        | missing_required_parameter
        """)
    void rejectsEachBadLegacyRequest(String body, String param, String code) {
        ApiError error = completionError(body);
        assertThat(error.param()).isEqualTo(param);
        assertThat(error.code()).isEqualTo(code);
    }

    @Test
    void acceptsEveryLegacyPromptShape() {
        for (String prompt : new String[] {"\"a\"", "[\"a\",\"b\"]", "[1,2]", "[[1],[2]]"}) {
            String body = "{\"model\":\"m\",\"prompt\":" + prompt + ",\"max_tokens\":0,\"echo\":true}";
            assertThat(RequestReader.completion(body.getBytes()).prompt().size())
                    .isPositive();
        }
    }

    @Test
    void rejectsOnlyWhatIsWrongAndAcceptsTheFullSurface() {
        String body = new String(readFixture(), StandardCharsets.UTF_8);
        assertThat(RequestReader.chat(body.getBytes()).tools()).hasSize(1);
    }

    private static byte[] readFixture() {
        try (var in = RequestReaderTest.class.getResourceAsStream("/dev/parley/api/chat-request-full.json")) {
            return in.readAllBytes();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
