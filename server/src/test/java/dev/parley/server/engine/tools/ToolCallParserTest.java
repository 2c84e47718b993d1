package dev.parley.server.engine.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.FunctionCall;
import dev.parley.api.Json;
import dev.parley.api.ToolCall;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ToolCallParserTest {
    /** What a parser let through: words, and calls joined from their pieces. */
    static final class Collected implements ToolCallParser.Sink {
        final StringBuilder text = new StringBuilder();
        final List<ToolCall> pieces = new ArrayList<>();
        final List<String> triggers = new ArrayList<>();

        @Override
        public void text(String words) {
            text.append(words);
        }

        @Override
        public void call(ToolCall piece) {
            pieces.add(piece);
        }

        List<String> names() {
            return pieces.stream()
                    .filter(p -> p.function().name() != null)
                    .map(p -> p.function().name())
                    .toList();
        }

        /** Each call's arguments, its pieces joined. */
        List<String> arguments() {
            List<StringBuilder> joined = new ArrayList<>();
            for (ToolCall piece : pieces) {
                if (piece.index() == joined.size()) joined.add(new StringBuilder());
                assertThat(piece.index()).as("pieces come call by call").isEqualTo(joined.size() - 1);
                joined.get(piece.index()).append(piece.function().arguments());
            }
            return joined.stream().map(StringBuilder::toString).toList();
        }
    }

    /** Feeds {@code text} in pieces of {@code step} characters, as tokens would bring it. */
    static Collected parse(ToolSyntax syntax, boolean required, String text, int step) {
        return parse(syntax, required, Map.of(), text, step);
    }

    /** The same, with the functions' parameters schemas, which the raw-text forms read their values by. */
    static Collected parse(
            ToolSyntax syntax, boolean required, Map<String, JsonNode> parameters, String text, int step) {
        var parser = new ToolCallParser(syntax, required, parameters);
        var out = new Collected();
        for (int i = 0; i < text.length(); i += step) {
            String trigger = parser.append(text.substring(i, Math.min(text.length(), i + step)), out);
            if (trigger != null) out.triggers.add(trigger);
        }
        parser.finish(out);
        assertThat(parser.called()).isEqualTo(!out.pieces.isEmpty());
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 7, 1000})
    void hermesWordsThenCallsInAnyPiecesOfText(int step) {
        String text =
                "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris {x}\"}}\n"
                        + "</tool_call>\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": [2]}}\n</tool_call>";

        var out = parse(ToolSyntax.HERMES, false, text, step);

        assertThat(out.text).hasToString("Let me look.\n");
        assertThat(out.names()).containsExactly("get_weather", "add");
        assertThat(out.arguments()).containsExactly("{\"city\": \"Paris {x}\"}", "{\"a\": 1, \"b\": [2]}");
        assertThat(out.triggers).singleElement().satisfies(t -> assertThat(t).startsWith("<tool_call>"));
        List<String> ids =
                out.pieces.stream().map(ToolCall::id).filter(id -> id != null).toList();
        assertThat(ids).hasSize(2).doesNotHaveDuplicates().allMatch(id -> id.matches("call_[A-Za-z0-9]{24}"));
        // The header of a call goes out before any of its arguments.
        assertThat(out.pieces.getFirst().function().name()).isEqualTo("get_weather");
        if (step == 1)
            assertThat(out.pieces.size()).as("arguments stream as they come").isGreaterThan(10);
    }

    @Test
    void textThatOnlyLooksLikeTheTriggerIsWords() {
        var out = parse(ToolSyntax.HERMES, false, "a <tool and <tool_cal", 1);

        assertThat(out.text).hasToString("a <tool and <tool_cal");
        assertThat(out.pieces).isEmpty();
    }

    @Test
    void llama3CallsOnlyWhenTheAnswerStartsWithJson() {
        var call = parse(ToolSyntax.LLAMA3, false, "  {\"name\": \"add\", \"parameters\": {\"a\": 2}}", 2);
        assertThat(call.names()).containsExactly("add");
        assertThat(call.arguments()).containsExactly("{\"a\": 2}");
        assertThat(call.text).isEmpty();

        var words = parse(ToolSyntax.LLAMA3, false, "It is {\"name\": \"add\"}", 2);
        assertThat(words.pieces).isEmpty();
        assertThat(words.text).hasToString("It is {\"name\": \"add\"}");
    }

    @Test
    void mistralArrayAndArgsSyntaxes() {
        var array = parse(
                ToolSyntax.MISTRAL_ARRAY,
                true,
                "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {\"x\": \"]\"}}]",
                3);
        assertThat(array.names()).containsExactly("a", "b");
        assertThat(array.arguments()).containsExactly("{}", "{\"x\": \"]\"}");

        var args = parse(ToolSyntax.MISTRAL_ARGS, false, "[TOOL_CALLS]add[ARGS]{\"a\": 1}[TOOL_CALLS]neg[ARGS]{}", 4);
        assertThat(args.names()).containsExactly("add", "neg");
        assertThat(args.arguments()).containsExactly("{\"a\": 1}", "{}");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5, 1000})
    void harmonyCallsInEitherOrderOfRecipientAndChannel(int step) {
        // As gpt-oss's template writes it, required from the first token (with the space the template puts there).
        var required = parse(
                ToolSyntax.HARMONY, true, " to=functions.add<|channel|>commentary json<|message|>{\"a\": 1}", step);
        assertThat(required.names()).containsExactly("add");
        assertThat(required.arguments()).containsExactly("{\"a\": 1}");
        assertThat(required.text).isEmpty();

        // Words first, then a call with the recipient after the channel, as gpt-oss also writes it.
        var auto = parse(
                ToolSyntax.HARMONY,
                false,
                "Let me check. <|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
                        + "{\"city\": \"a<b\"}",
                step);
        assertThat(auto.names()).containsExactly("get_weather");
        assertThat(auto.arguments()).containsExactly("{\"city\": \"a<b\"}");
        assertThat(auto.text).hasToString("Let me check. <|channel|>commentary ");
        assertThat(auto.triggers).hasSize(1).allSatisfy(t -> assertThat(t).startsWith("to=functions."));
    }

    @Test
    void aCallWrittenInAnotherKeyOrderIsStillRead() {
        var out = parse(
                ToolSyntax.HERMES,
                true,
                "<tool_call>\n{\"arguments\": {\"a\": 1}, \"name\": \"add\"}\n</tool_call>",
                3);

        assertThat(out.names()).containsExactly("add");
        assertThat(out.arguments()).containsExactly("{\"a\":1}");
    }

    @Test
    void genericCallsOrAResponseInWords() {
        var call = parse(
                ToolSyntax.GENERIC, false, "{\"tool_calls\": [{\"name\": \"add\", \"arguments\": {\"a\": 1}}]}", 5);
        assertThat(call.names()).containsExactly("add");

        var words = parse(ToolSyntax.GENERIC, false, "{\"response\": \"Hello {there}\"}", 5);
        assertThat(words.pieces).isEmpty();
        assertThat(words.text).hasToString("Hello {there}");
    }

    /**
     * Gemma 4 arguments that do not read (a '}' where an array's next item or its end should be) end the reading: they
     * once made the reader add empty items for ever, in the scheduler's thread, until the heap ran out.
     */
    @Test
    void gemmaArgumentsThatDoNotReadAreKeptAsWrittenAndEndTheReading() {
        String call = "<|tool_call>call:get_weather{tags:[1}<tool_call|>";
        var out = parse(ToolSyntax.GEMMA4, true, WEATHER, call, 1000);
        assertThat(out.names()).containsExactly("get_weather");
        assertThat(out.arguments()).containsExactly("tags:[1");
    }

    /**
     * Arguments nested far deeper than any schema (a model can write brackets for as long as its context lasts) are
     * read without exhausting the stack of the scheduler's thread, which reads every answer: once past a depth, the
     * readers of Python values, Gemma 4 values and MiniMax M3 elements take them as written.
     */
    @ParameterizedTest
    @EnumSource(
            value = ToolSyntax.class,
            names = {"GEMMA4", "MINIMAX_M3", "LFM2", "MINICPM", "XML", "HERMES"})
    void argumentsNestedTooDeeplyAreReadWithoutExhaustingTheStack(ToolSyntax syntax) {
        int depth = 100_000;
        String nested = "[".repeat(depth) + "]".repeat(depth);
        String text = switch (syntax) {
            case GEMMA4 -> "<|tool_call>call:get_weather{tags:" + nested + "}<tool_call|>";
            case MINIMAX_M3 ->
                "]<]minimax[>[<tool_call>\n]<]minimax[>[<invoke name=\"get_weather\">"
                        + "]<]minimax[>[<a>".repeat(depth) + "]<]minimax[>[</invoke>\n]<]minimax[>[</tool_call>";
            case LFM2 -> "<|tool_call_start|>[get_weather(tags=" + nested + ")]<|tool_call_end|>";
            case MINICPM -> "<function name=\"get_weather\"><param name=\"tags\">" + nested + "</param></function>";
            default -> syntax.written(List.of(new FunctionCall("get_weather", "{\"tags\": " + nested + "}")));
        };
        var out = parse(syntax, true, WEATHER, text, 4096);
        assertThat(out.names()).containsExactly("get_weather");
    }

    /**
     * In the raw-text forms, a JSON value whose string holds the form's closing markup is read to the markup after its
     * brackets close, not cut at the first.
     */
    @Test
    void aJsonValueHoldingTheClosingMarkupIsReadWhole() {
        var schema = Map.of(
                "get_weather",
                Json.tree("{\"type\":\"object\",\"properties\":{\"tags\":{\"type\":\"array\"},"
                        + "\"note\":{\"type\":[\"string\",\"null\"]},\"days\":{\"type\":\"integer\"}}}"));
        String xml =
                "<tool_call>\n<function=get_weather>\n<parameter=tags>\n[\"</parameter>\", {\"a\": \"]</parameter>\"}]\n"
                        + "</parameter>\n<parameter=note>\n\"x</parameter>y\"\n</parameter>\n<parameter=days>\n3\n</parameter>\n"
                        + "</function>\n</tool_call>";
        var out = parse(ToolSyntax.XML, true, schema, xml, 5);
        assertThat(Json.tree(out.arguments().getFirst()))
                .isEqualTo(
                        Json.tree(
                                "{\"tags\":[\"</parameter>\",{\"a\":\"]</parameter>\"}],\"note\":\"x</parameter>y\",\"days\":3}"));
        String minicpm = "<function name=\"get_weather\"><param name=\"tags\">['</param>', 1]</param>"
                + "<param name=\"days\">3</param></function>";
        assertThat(Json.tree(parse(ToolSyntax.MINICPM, true, schema, minicpm, 5)
                        .arguments()
                        .getFirst()))
                .isEqualTo(Json.tree("{\"tags\":[\"</param>\",1],\"days\":3}"));
    }

    /** White space before a call is no answer in words, whether it comes in one piece with the call or before it. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 1000})
    void whiteSpaceBeforeACallIsNoWordsInAnyPieces(int step) {
        var out = parse(
                ToolSyntax.HERMES, false, " \n<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>", step);
        assertThat(out.names()).containsExactly("now");
        assertThat(out.text).isEmpty();

        var words = parse(
                ToolSyntax.HERMES,
                false,
                " \nSure. <tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>",
                step);
        assertThat(words.text).hasToString(" \nSure. ");
    }

    @Test
    void aCallCutShortKeepsWhatWasWrittenAsOpenAiDoesAtTheLengthLimit() {
        var started = parse(ToolSyntax.HERMES, true, "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": ", 3);
        assertThat(started.names()).containsExactly("add");
        assertThat(started.arguments()).containsExactly("{\"a\": ");
        assertThat(started.text).isEmpty();

        // In the forms whose arguments are read when the call closes, what was written of them.
        var xml = parse(ToolSyntax.XML, true, "<tool_call>\n<function=add>\n<parameter=a>\n1", 3);
        assertThat(xml.names()).containsExactly("add");
        assertThat(xml.arguments()).containsExactly("\n<parameter=a>\n1");
        var python = parse(ToolSyntax.LFM2, false, "<|tool_call_start|>[add(a=[1, ", 3);
        assertThat(python.names()).containsExactly("add");
        assertThat(python.arguments()).containsExactly("a=[1, ");

        String beforeItsName = "<tool_call>\n{\"name\": \"ad";
        var unnamed = parse(ToolSyntax.HERMES, true, beforeItsName, 3);
        assertThat(unnamed.pieces).isEmpty();
        assertThat(unnamed.text).as("nothing is lost").hasToString(beforeItsName);
    }

    /** get_weather's parameters: a string, which the raw-text forms write as it is, and JSON values. */
    static final Map<String, JsonNode> WEATHER = Map.of(
            "get_weather",
            Json.tree("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
                    + "\"days\":{\"type\":\"integer\"},\"tags\":{\"type\":\"array\"}}}"));

    /**
     * One family's answer: its words before the calls, then each call's name and its arguments as handed on (the
     * raw-text forms' values read by get_weather's schema: strings as written, others as JSON).
     */
    record Answer(
            ToolSyntax syntax,
            boolean required,
            String text,
            String words,
            List<String> names,
            List<String> arguments) {
        @Override
        public String toString() {
            return syntax.name();
        }
    }

    static final List<Answer> ANSWERS = List.of(
            new Answer(
                    ToolSyntax.XML,
                    false,
                    "Checking.\n<tool_call>\n<function=get_weather>\n<parameter=city>\n42 Rue <b>\nParis\n</parameter>\n"
                            + "<parameter=days>\n3\n</parameter>\n<parameter=tags>\n[\"a\"]\n</parameter>\n</function>\n"
                            + "</tool_call>",
                    "Checking.\n",
                    List.of("get_weather"),
                    List.of("{\"city\":\"42 Rue <b>\\nParis\",\"days\":3,\"tags\":[\"a\"]}")),
            // With and without the newlines, which these templates differ on.
            new Answer(
                    ToolSyntax.ARG_KEY,
                    false,
                    "Checking.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>42 Rue <b>\nParis"
                            + "</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>"
                            + "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Lyon</arg_value></tool_call>"
                            + "<tool_call>now</tool_call>",
                    "Checking.\n",
                    List.of("get_weather", "get_weather", "now"),
                    List.of("{\"city\":\"42 Rue <b>\\nParis\",\"days\":3}", "{\"city\":\"Lyon\"}", "{}")),
            new Answer(
                    ToolSyntax.SEED,
                    false,
                    "On it.\n<seed:tool_call>\n<function=get_weather>\n<parameter=city>Rue <b> 3</parameter>\n"
                            + "<parameter=days>2</parameter>\n</function>\n</seed:tool_call>",
                    "On it.\n",
                    List.of("get_weather"),
                    List.of("{\"city\":\"Rue <b> 3\",\"days\":2}")),
            new Answer(
                    ToolSyntax.MINIMAX,
                    true,
                    "<minimax:tool_call>\n<invoke name=\"get_weather\">\n<parameter name=\"city\">Paris</parameter>\n"
                            + "<parameter name=\"days\">3</parameter>\n</invoke>\n<invoke name=\"now\">\n</invoke>\n"
                            + "</minimax:tool_call>",
                    "",
                    List.of("get_weather", "now"),
                    List.of("{\"city\":\"Paris\",\"days\":3}", "{}")),
            new Answer(
                    ToolSyntax.HUNYUAN,
                    false,
                    "<tool_calls:opensource>\n<tool_call:opensource>get_weather<tool_sep:opensource>\n"
                            + "<arg_key:opensource>city</arg_key:opensource>\n<arg_value:opensource>Paris"
                            + "</arg_value:opensource>\n<arg_key:opensource>days</arg_key:opensource>\n"
                            + "<arg_value:opensource>3</arg_value:opensource>\n</tool_call:opensource>\n"
                            + "</tool_calls:opensource>",
                    "",
                    List.of("get_weather"),
                    List.of("{\"city\":\"Paris\",\"days\":3}")),
            new Answer(
                    ToolSyntax.DSML_TOOL_CALLS,
                    false,
                    "Sure.\n\n<｜DSML｜tool_calls>\n<｜DSML｜invoke name=\"get_weather\">\n"
                            + "<｜DSML｜parameter name=\"city\" string=\"true\">Paris, \"France\"</｜DSML｜parameter>\n"
                            + "<｜DSML｜parameter name=\"days\" string=\"false\">3</｜DSML｜parameter>\n</｜DSML｜invoke>\n"
                            + "</｜DSML｜tool_calls>",
                    "Sure.\n\n",
                    List.of("get_weather"),
                    List.of("{\"city\":\"Paris, \\\"France\\\"\",\"days\":3}")),
            new Answer(
                    ToolSyntax.KIMI,
                    false,
                    "Let me check.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
                            + "<|tool_call_argument_begin|>{\"city\": \"Paris\"}<|tool_call_end|><|tool_call_begin|>"
                            + "functions.add:1<|tool_call_argument_begin|>{\"a\": 1}<|tool_call_end|>"
                            + "<|tool_calls_section_end|>",
                    "Let me check.",
                    List.of("get_weather", "add"),
                    List.of("{\"city\": \"Paris\"}", "{\"a\": 1}")),
            new Answer(
                    ToolSyntax.DEEPSEEK,
                    false,
                    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\": \"{Paris}\"}"
                            + "<｜tool▁call▁end｜><｜tool▁call▁begin｜>now<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
                    "",
                    List.of("get_weather", "now"),
                    List.of("{\"city\": \"{Paris}\"}", "{}")),
            new Answer(
                    ToolSyntax.DEEPSEEK_R1,
                    true,
                    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
                            + "{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>now\n"
                            + "```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
                    "",
                    List.of("get_weather", "now"),
                    List.of("{\"city\": \"Paris\"}", "{}")),
            new Answer(
                    ToolSyntax.GRANITE,
                    false,
                    "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, "
                            + "{\"name\": \"now\", \"arguments\": {}}]",
                    "",
                    List.of("get_weather", "now"),
                    List.of("{\"city\": \"Paris\"}", "{}")),
            new Answer(
                    ToolSyntax.GEMMA4,
                    false,
                    "Checking.<|tool_call>call:get_weather{city:<|\"|>Paris, {France}<|\"|>,days:3,tags:[<|\"|>a<|\"|>,{k:2.5,on:true}]}"
                            + "<tool_call|><|tool_call>call:now{}<tool_call|>",
                    "Checking.",
                    List.of("get_weather", "now"),
                    List.of(
                            "{\"city\":\"Paris, {France}\",\"days\":3,\"tags\":[\"a\",{\"k\":2.5,\"on\":true}]}",
                            "{}")),
            new Answer(
                    ToolSyntax.MINICPM,
                    false,
                    "Let me check.\n<function name=\"get_weather\"><param name=\"city\"><![CDATA[Paris <b>\n]]></param>"
                            + "<param name=\"days\">3</param><param name=\"tags\">['a', True, None]</param></function>\n"
                            + "<function name=\"now\"></function>",
                    "Let me check.\n",
                    List.of("get_weather", "now"),
                    List.of("{\"city\":\"Paris <b>\\n\",\"days\":3,\"tags\":[\"a\",true,null]}", "{}")),
            new Answer(
                    ToolSyntax.APERTUS,
                    false,
                    "<|tools_prefix|>[{\"get_weather\": {\"city\": \"Paris\", \"tags\": [\"}\"]}}, {\"now\": {}}]<|tools_suffix|>",
                    "",
                    List.of("get_weather", "now"),
                    List.of("{\"city\": \"Paris\", \"tags\": [\"}\"]}", "{}")),
            new Answer(
                    ToolSyntax.MINIMAX_M1,
                    false,
                    "Sure.\n<tool_calls>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"{Paris}\"}}\n"
                            + "{\"name\": \"now\", \"arguments\": {}}\n</tool_calls>",
                    "Sure.\n",
                    List.of("get_weather", "now"),
                    List.of("{\"city\": \"{Paris}\"}", "{}")),
            new Answer(
                    ToolSyntax.NEMOTRON,
                    true,
                    "<TOOLCALL>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"]\"}}, {\"name\": \"now\", "
                            + "\"arguments\": {}}]</TOOLCALL>",
                    "",
                    List.of("get_weather", "now"),
                    List.of("{\"city\": \"]\"}", "{}")),
            // Nested: an object's members and an array's items as elements.
            new Answer(
                    ToolSyntax.MINIMAX_M3,
                    false,
                    "On it.]<]minimax[>[<tool_call>\n]<]minimax[>[<invoke name=\"get_weather\">]<]minimax[>[<city>Paris <b>"
                            + "]<]minimax[>[</city>]<]minimax[>[<days>3]<]minimax[>[</days>]<]minimax[>[<tags>]<]minimax[>[<item>"
                            + "a]<]minimax[>[</item>]<]minimax[>[<item>]<]minimax[>[<k>2]<]minimax[>[</k>]<]minimax[>[</item>"
                            + "]<]minimax[>[</tags>]<]minimax[>[</invoke>\n]<]minimax[>[<invoke name=\"now\">]<]minimax[>[</invoke>"
                            + "\n]<]minimax[>[</tool_call>",
                    "On it.",
                    List.of("get_weather", "now"),
                    List.of("{\"city\":\"Paris <b>\",\"days\":3,\"tags\":[\"a\",{\"k\":2}]}", "{}")),
            new Answer(
                    ToolSyntax.XTML,
                    false,
                    "Checking.<|open|>tools<|sep|><|open|>call tool=\"get_weather\" index=\"1\"<|sep|><|open|>argument "
                            + "key=\"city\" type=\"string\"<|sep|>Paris <b><|close|>argument<|sep|><|open|>argument key=\"days\" "
                            + "type=\"number\"<|sep|>3<|close|>argument<|sep|><|close|>call<|sep|><|open|>call tool=\"now\" "
                            + "index=\"2\"<|sep|><|close|>call<|sep|><|close|>tools<|sep|>",
                    "Checking.",
                    List.of("get_weather", "now"),
                    List.of("{\"city\":\"Paris <b>\",\"days\":3}", "{}")),
            new Answer(
                    ToolSyntax.COMMAND_R,
                    false,
                    "Checking.<|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": "
                            + "{\"city\": \"Paris]\"}},\n    {\"tool_call_id\": \"1\", \"tool_name\": \"now\", "
                            + "\"parameters\": {}}\n]<|END_ACTION|>",
                    "Checking.",
                    List.of("get_weather", "now"),
                    List.of("{\"city\": \"Paris]\"}", "{}")),
            // Python literals in either quote, with Python's escapes and keywords; a ")" inside a string.
            new Answer(
                    ToolSyntax.LFM2,
                    false,
                    "Let me see.<|tool_call_start|>[get_weather(city='Paris (\\'the\\' city)', days=3, tags=[\"a\", True, "
                            + "None]), now()]<|tool_call_end|>",
                    "Let me see.",
                    List.of("get_weather", "now"),
                    List.of("{\"city\":\"Paris ('the' city)\",\"days\":3,\"tags\":[\"a\",true,null]}", "{}")));

    static Stream<Arguments> eachFamilysCallsAreReadInAnyPiecesOfText() {
        return ANSWERS.stream().flatMap(a -> IntStream.of(1, 4, 1000).mapToObj(step -> Arguments.of(a, step)));
    }

    @ParameterizedTest
    @MethodSource
    void eachFamilysCallsAreReadInAnyPiecesOfText(Answer answer, int step) {
        var out = parse(answer.syntax(), answer.required(), WEATHER, answer.text(), step);

        assertThat(out.text).hasToString(answer.words());
        if (!answer.required())
            assertThat(out.triggers).as("the calls start once").hasSize(1);
        assertThat(out.names()).isEqualTo(answer.names());
        assertThat(out.arguments()).isEqualTo(answer.arguments());
    }

    /**
     * Calls written into a history (for templates that do not render them) are read back as the same calls: names,
     * and arguments as JSON, in every syntax.
     */
    @ParameterizedTest
    @EnumSource(ToolSyntax.class)
    void callsWrittenAsTheModelWritesThemReadBackAsTheSameCalls(ToolSyntax syntax) throws Exception {
        var weather = new FunctionCall(
                "get_weather",
                "{\"city\": \"Paris, \\\"France\\\"\", \"days\": 3, \"tags\": [\"a\", 2.5, true, null]}");
        var now = new FunctionCall("now", "{}");
        List<FunctionCall> calls = syntax == ToolSyntax.LLAMA3 ? List.of(weather) : List.of(weather, now);

        String words = syntax.trigger() == null || syntax.triggerAtStart() ? "" : "Sure. ";
        var out = parse(syntax, false, WEATHER, words + syntax.written(calls), 3);

        assertThat(out.text).hasToString(words);

        assertThat(out.names()).isEqualTo(calls.stream().map(FunctionCall::name).toList());
        for (int i = 0; i < calls.size(); i++)
            assertThat(Json.tree(out.arguments().get(i)))
                    .as(syntax.written(calls))
                    .isEqualTo(Json.tree(calls.get(i).arguments()));
    }

    /** The bundled real templates each name the syntax their models write calls in. */
    @ParameterizedTest
    @CsvSource({
        "GLM-4.6.jinja, ARG_KEY",
        "GLM-4.7-Flash.jinja, ARG_KEY",
        "poolside-Laguna-S-2.1.jinja, ARG_KEY",
        "inclusionai-ling-3.0-flash.jinja, ARG_KEY",
        "Spark2.5.jinja, ARG_KEY",
        "moonshotai-Kimi-K2.jinja, KIMI",
        "Kimi-K2-Instruct.jinja, KIMI",
        "Kimi-K2-Thinking.jinja, KIMI",
        "deepseek-ai-DeepSeek-V3.1.jinja, DEEPSEEK",
        "ByteDance-Seed-OSS.jinja, SEED",
        "tencent-Hy3.jinja, HUNYUAN",
        "deepseek-ai-DeepSeek-V3.2.jinja, DSML_FUNCTION_CALLS",
        "deepseek-ai-DeepSeek-V4.jinja, DSML_TOOL_CALLS",
        "deepseek-ai-DeepSeek-V4-Flash-0731.jinja, DSML_TOOL_CALLS",
        "MiniMax-M2.jinja, MINIMAX",
        "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja, DEEPSEEK_R1",
        "llama-cpp-deepseek-r1.jinja, DEEPSEEK_R1",
        "ibm-granite-granite-3.3-2B-Instruct.jinja, GRANITE",
        "LFM2-8B-A1B.jinja, LFM2",
        "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja, COMMAND_R",
        "Cohere2MoE.jinja, COMMAND_R",
        "Kimi-K3.jinja, XTML",
        "google-gemma-4-31B-it.jinja, GEMMA4",
        "NVIDIA-Nemotron-Nano-v2.jinja, NEMOTRON",
        "Apriel-1.6-15b-Thinker-fixed.jinja, APRIEL",
        "unsloth-Apriel-1.5.jinja, APRIEL",
        "MiniMax-M1.jinja, MINIMAX_M1",
        "Apertus-8B-Instruct.jinja, APERTUS",
        "openbmb-MiniCPM5-1B.jinja, MINICPM",
        "google-gemma-4-31B-it-interleaved.jinja, GEMMA4",
        "MiniMax-M3.jinja, MINIMAX_M3",
        "LFM2.5-8B-A1B.jinja, LFM2",
        "LFM2.5-Instruct.jinja, LFM2",
        "microsoft-Phi-3.5-mini-instruct.jinja, GENERIC",
        "Qwen-Qwen2.5-7B-Instruct.jinja, HERMES",
        "MiMo-VL.jinja, HERMES",
        "Qwen3.5-4B.jinja, XML",
        "openai-gpt-oss-120b.jinja, HARMONY",
        "meta-llama-Llama-3.1-8B-Instruct.jinja, LLAMA3",
        "mistralai-Mistral-Nemo-Instruct-2407.jinja, MISTRAL_ARRAY",
        "Mistral-Small-3.2-24B-Instruct-2506.jinja, MISTRAL_ARGS"
    })
    void eachTemplateNamesItsFamilysSyntax(String template, ToolSyntax syntax) throws Exception {
        try (var in = ToolCallParserTest.class.getResourceAsStream(
                "/dev/parley/server/engine/template/templates/" + template)) {
            assertThat(ToolSyntax.of(new String(in.readAllBytes(), StandardCharsets.UTF_8)))
                    .isEqualTo(syntax);
        }
    }
}
