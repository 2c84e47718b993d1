package dev.parley.server.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.FunctionCall;
import dev.parley.api.FunctionDefinition;
import dev.parley.api.InvalidRequestException;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaModel;
import dev.parley.server.engine.tools.ToolSyntax;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The grammar of each tool syntax accepts exactly calls in that syntax with arguments valid for the called function:
 * checked with the test recognizer, and parsed by llama.cpp's own grammar parser.
 */
class ToolSyntaxGrammarTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static LlamaModel model;

    @BeforeAll
    static void open() {
        model = LlamaModel.open(DemoModel.path());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static final List<FunctionDefinition> FUNCTIONS;

    static {
        try {
            FUNCTIONS = List.of(
                    FunctionDefinition.of(
                            "add",
                            "Adds.",
                            JSON.readTree("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},"
                                    + "\"required\":[\"a\"],\"additionalProperties\":false}")),
                    FunctionDefinition.of("now", null, null));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static final List<String> PARAMS = List.of("tools[0].function.parameters", "tools[1].function.parameters");

    /** One call of each function in the syntax, both in one answer (null: one call per answer), and a bad call. */
    static String[] samples(ToolSyntax syntax) {
        return switch (syntax) {
            case HERMES ->
                new String[] {
                    "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_call>",
                    "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>",
                    "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_call>\n"
                            + "<tool_call>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_call>",
                    "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"b\": 1}}\n</tool_call>"
                };
            case XML ->
                new String[] {
                    "<tool_call>\n<function=add>\n<parameter=a>\n1\n</parameter>\n</function>\n</tool_call>",
                    "<tool_call>\n<function=now>\n</function>\n</tool_call>",
                    "<tool_call>\n<function=add>\n<parameter=a>\n1\n</parameter>\n</function>\n</tool_call>\n"
                            + "<tool_call>\n<function=now>\n</function>\n</tool_call>",
                    "<tool_call>\n<function=add>\n<parameter=a>\none\n</parameter>\n</function>\n</tool_call>"
                };
            case ARG_KEY ->
                new String[] {
                    "<tool_call>add\n<arg_key>a</arg_key>\n<arg_value>1</arg_value>\n</tool_call>",
                    "<tool_call>now</tool_call>",
                    "<tool_call>add<arg_key>a</arg_key><arg_value>1</arg_value></tool_call>"
                            + "\n<tool_call>now\n</tool_call>",
                    "<tool_call>add\n<arg_key>a</arg_key>\n<arg_value>one</arg_value>\n</tool_call>"
                };
            case SEED ->
                new String[] {
                    "<seed:tool_call>\n<function=add>\n<parameter=a>1</parameter>\n</function>\n</seed:tool_call>",
                    "<seed:tool_call>\n<function=now>\n</function>\n</seed:tool_call>",
                    "<seed:tool_call>\n<function=add>\n<parameter=a>1</parameter>\n</function>\n</seed:tool_call>\n"
                            + "<seed:tool_call>\n<function=now>\n</function>\n</seed:tool_call>",
                    "<seed:tool_call>\n<function=add>\n<parameter=a>\n1\n</parameter>\n</function>\n</seed:tool_call>"
                };
            case MINIMAX ->
                new String[] {
                    "<minimax:tool_call>\n<invoke name=\"add\">\n<parameter name=\"a\">1</parameter>\n</invoke>\n"
                            + "</minimax:tool_call>",
                    "<minimax:tool_call>\n<invoke name=\"now\">\n</invoke>\n</minimax:tool_call>",
                    "<minimax:tool_call>\n<invoke name=\"add\">\n<parameter name=\"a\">1</parameter>\n</invoke>\n"
                            + "<invoke name=\"now\">\n</invoke>\n</minimax:tool_call>",
                    "<minimax:tool_call>\n<invoke name=\"add\">\n</invoke>\n</minimax:tool_call>"
                };
            case DSML_FUNCTION_CALLS, DSML_TOOL_CALLS -> {
                String open = syntax.trigger() + "\n";
                String close = "</" + syntax.trigger().substring(1);
                yield new String[] {
                    open + "<｜DSML｜invoke name=\"add\">\n<｜DSML｜parameter name=\"a\" string=\"false\">1"
                            + "</｜DSML｜parameter>\n</｜DSML｜invoke>\n" + close,
                    open + "<｜DSML｜invoke name=\"now\">\n</｜DSML｜invoke>\n" + close,
                    open + "<｜DSML｜invoke name=\"add\">\n<｜DSML｜parameter name=\"a\" string=\"false\">1"
                            + "</｜DSML｜parameter>\n</｜DSML｜invoke>\n<｜DSML｜invoke name=\"now\">\n</｜DSML｜invoke>\n"
                            + close,
                    open + "<｜DSML｜invoke name=\"add\">\n<｜DSML｜parameter name=\"a\" string=\"true\">1"
                            + "</｜DSML｜parameter>\n</｜DSML｜invoke>\n" + close
                };
            }
            case DEEPSEEK_R1 ->
                new String[] {
                    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>add\n```json\n{\"a\": 1}\n```"
                            + "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
                    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>now\n```json\n{}\n```"
                            + "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
                    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>add\n```json\n{\"a\": 1}\n```"
                            + "<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>now\n```json\n{}\n```"
                            + "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
                    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>add\n{\"a\": 1}"
                            + "<｜tool▁call▁end｜><｜tool▁calls▁end｜>"
                };
            case GRANITE ->
                new String[] {
                    "<|tool_call|>[{\"name\": \"add\", \"arguments\": {\"a\": 1}}]",
                    "<|tool_call|>[{\"name\": \"now\", \"arguments\": {}}]",
                    "<|tool_call|>[{\"name\": \"add\", \"arguments\": {\"a\": 1}}, {\"name\": \"now\", \"arguments\": {}}]",
                    "<|tool_call|>{\"name\": \"add\", \"arguments\": {\"a\": 1}}"
                };
            case HUNYUAN ->
                new String[] {
                    "<tool_calls:opensource>\n<tool_call:opensource>add<tool_sep:opensource>\n<arg_key:opensource>a"
                            + "</arg_key:opensource>\n<arg_value:opensource>1</arg_value:opensource>\n"
                            + "</tool_call:opensource>\n</tool_calls:opensource>",
                    "<tool_calls:opensource>\n<tool_call:opensource>now<tool_sep:opensource>\n</tool_call:opensource>\n"
                            + "</tool_calls:opensource>",
                    "<tool_calls:opensource>\n<tool_call:opensource>add<tool_sep:opensource>\n<arg_key:opensource>a"
                            + "</arg_key:opensource>\n<arg_value:opensource>1</arg_value:opensource>\n"
                            + "</tool_call:opensource>\n<tool_call:opensource>now<tool_sep:opensource>\n"
                            + "</tool_call:opensource>\n</tool_calls:opensource>",
                    "<tool_calls:opensource>\n<tool_call:opensource>add<tool_sep:opensource>\n</tool_call:opensource>\n"
                            + "</tool_calls:opensource>"
                };
            case KIMI ->
                new String[] {
                    "<|tool_calls_section_begin|><|tool_call_begin|>functions.add:0<|tool_call_argument_begin|>"
                            + "{\"a\": 1}<|tool_call_end|><|tool_calls_section_end|>",
                    "<|tool_calls_section_begin|><|tool_call_begin|>functions.now:12<|tool_call_argument_begin|>"
                            + "{}<|tool_call_end|><|tool_calls_section_end|>",
                    "<|tool_calls_section_begin|><|tool_call_begin|>functions.add:0<|tool_call_argument_begin|>"
                            + "{\"a\": 1}<|tool_call_end|><|tool_call_begin|>functions.now:1"
                            + "<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>",
                    "<|tool_calls_section_begin|><|tool_call_begin|>functions.add<|tool_call_argument_begin|>"
                            + "{\"a\": 1}<|tool_call_end|><|tool_calls_section_end|>"
                };
            case DEEPSEEK ->
                new String[] {
                    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>add<｜tool▁sep｜>{\"a\": 1}<｜tool▁call▁end｜>"
                            + "<｜tool▁calls▁end｜>",
                    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>now<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
                    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>add<｜tool▁sep｜>{\"a\": 1}<｜tool▁call▁end｜>"
                            + "<｜tool▁call▁begin｜>now<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
                    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>add<｜tool▁sep｜>{\"a\": 1}<｜tool▁call▁end｜>"
                };
            case MINIMAX_M3 ->
                new String[] {
                    "]<]minimax[>[<tool_call>\n]<]minimax[>[<invoke name=\"add\">]<]minimax[>[<a>1]<]minimax[>[</a>"
                            + "]<]minimax[>[</invoke>\n]<]minimax[>[</tool_call>",
                    "]<]minimax[>[<tool_call>\n]<]minimax[>[<invoke name=\"now\">]<]minimax[>[</invoke>\n"
                            + "]<]minimax[>[</tool_call>",
                    "]<]minimax[>[<tool_call>\n]<]minimax[>[<invoke name=\"add\">]<]minimax[>[<a>1]<]minimax[>[</a>"
                            + "]<]minimax[>[</invoke>\n]<]minimax[>[<invoke name=\"now\">]<]minimax[>[</invoke>\n"
                            + "]<]minimax[>[</tool_call>",
                    "]<]minimax[>[<tool_call>\n]<]minimax[>[<invoke name=\"add\">]<]minimax[>[<a>one]<]minimax[>[</a>"
                            + "]<]minimax[>[</invoke>\n]<]minimax[>[</tool_call>"
                };
            case XTML ->
                new String[] {
                    "<|open|>tools<|sep|><|open|>call tool=\"add\" index=\"1\"<|sep|><|open|>argument key=\"a\" "
                            + "type=\"number\"<|sep|>1<|close|>argument<|sep|><|close|>call<|sep|><|close|>tools<|sep|>",
                    "<|open|>tools<|sep|><|open|>call tool=\"now\" index=\"1\"<|sep|><|close|>call<|sep|><|close|>tools<|sep|>",
                    "<|open|>tools<|sep|><|open|>call tool=\"add\" index=\"1\"<|sep|><|open|>argument key=\"a\" "
                            + "type=\"number\"<|sep|>1<|close|>argument<|sep|><|close|>call<|sep|><|open|>call tool=\"now\" "
                            + "index=\"2\"<|sep|><|close|>call<|sep|><|close|>tools<|sep|>",
                    "<|open|>tools<|sep|><|open|>call tool=\"add\" index=\"1\"<|sep|><|open|>argument key=\"a\" "
                            + "type=\"string\"<|sep|>1<|close|>argument<|sep|><|close|>call<|sep|><|close|>tools<|sep|>"
                };
            case COMMAND_R ->
                new String[] {
                    "<|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"add\", \"parameters\": {\"a\": 1}}\n]"
                            + "<|END_ACTION|>",
                    "<|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"now\", \"parameters\": {}}\n]<|END_ACTION|>",
                    "<|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"add\", \"parameters\": {\"a\": 1}},\n    "
                            + "{\"tool_call_id\": \"1\", \"tool_name\": \"now\", \"parameters\": {}}\n]<|END_ACTION|>",
                    "<|START_ACTION|>[\n    {\"tool_name\": \"add\", \"parameters\": {\"a\": 1}}\n]<|END_ACTION|>"
                };
            case NEMOTRON ->
                new String[] {
                    "<TOOLCALL>[{\"name\": \"add\", \"arguments\": {\"a\": 1}}]</TOOLCALL>",
                    "<TOOLCALL>[{\"name\": \"now\", \"arguments\": {}}]</TOOLCALL>",
                    "<TOOLCALL>[{\"name\": \"add\", \"arguments\": {\"a\": 1}}, {\"name\": \"now\", \"arguments\": {}}]</TOOLCALL>",
                    "<TOOLCALL>[{\"name\": \"add\", \"arguments\": {\"a\": 1}}]"
                };
            case APERTUS ->
                new String[] {
                    "<|tools_prefix|>[{\"add\": {\"a\": 1}}]<|tools_suffix|>",
                    "<|tools_prefix|>[{\"now\": {}}]<|tools_suffix|>",
                    "<|tools_prefix|>[{\"add\": {\"a\": 1}}, {\"now\": {}}]<|tools_suffix|>",
                    "<|tools_prefix|>[{\"name\": \"add\", \"arguments\": {\"a\": 1}}]<|tools_suffix|>"
                };
            case APRIEL ->
                new String[] {
                    "<tool_calls>[{\"name\": \"add\", \"arguments\": {\"a\": 1}}]</tool_calls>",
                    "<tool_calls>[{\"name\": \"now\", \"arguments\": {}}]</tool_calls>",
                    "<tool_calls>[{\"name\": \"add\", \"arguments\": {\"a\": 1}}, {\"name\": \"now\", \"arguments\": {}}]"
                            + "</tool_calls>",
                    "<tool_calls>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_calls>"
                };
            case MINIMAX_M1 ->
                new String[] {
                    "<tool_calls>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_calls>",
                    "<tool_calls>\n{\"name\": \"now\", \"arguments\": {}}\n</tool_calls>",
                    "<tool_calls>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n{\"name\": \"now\", \"arguments\": {}}\n"
                            + "</tool_calls>",
                    "<tool_calls>[{\"name\": \"add\", \"arguments\": {\"a\": 1}}]</tool_calls>"
                };
            case MINICPM ->
                new String[] {
                    "<function name=\"add\"><param name=\"a\">1</param></function>",
                    "<function name=\"now\"></function>",
                    "<function name=\"add\"><param name=\"a\">1</param></function>\n<function name=\"now\"></function>",
                    "<function name=\"add\"><param name=\"a\">\"1\"</param></function>"
                };
            case GEMMA4 ->
                new String[] {
                    "<|tool_call>call:add{a:1}<tool_call|>",
                    "<|tool_call>call:now{}<tool_call|>",
                    "<|tool_call>call:add{a:1}<tool_call|><|tool_call>call:now{}<tool_call|>",
                    "<|tool_call>call:add{a:<|\"|>1<|\"|>}<tool_call|>"
                };
            case LFM2 ->
                new String[] {
                    "<|tool_call_start|>[add(a=1)]<|tool_call_end|>",
                    "<|tool_call_start|>[now()]<|tool_call_end|>",
                    "<|tool_call_start|>[add(a=1), now()]<|tool_call_end|>",
                    "<|tool_call_start|>[add(a=\"1\")]<|tool_call_end|>"
                };
            case LLAMA3 ->
                new String[] {
                    "{\"name\": \"add\", \"parameters\": {\"a\": 1}}",
                    "{\"name\": \"now\", \"parameters\": {}}",
                    null,
                    "{\"name\": \"sub\", \"parameters\": {\"a\": 1}}"
                };
            case MISTRAL_ARRAY ->
                new String[] {
                    "[TOOL_CALLS][{\"name\": \"add\", \"arguments\": {\"a\": 1}}]",
                    "[TOOL_CALLS][{\"name\": \"now\", \"arguments\": {}}]",
                    "[TOOL_CALLS][{\"name\": \"add\", \"arguments\": {\"a\": 1}}, {\"name\": \"now\", \"arguments\": {}}]",
                    "[TOOL_CALLS][{\"name\": \"add\", \"arguments\": {\"a\": \"1\"}}]"
                };
            case MISTRAL_ARGS ->
                new String[] {
                    "[TOOL_CALLS]add[ARGS]{\"a\": 1}",
                    "[TOOL_CALLS]now[ARGS]{}",
                    "[TOOL_CALLS]add[ARGS]{\"a\": 1}[TOOL_CALLS]now[ARGS]{}",
                    "[TOOL_CALLS]add[ARGS]{}"
                };
            case HARMONY ->
                new String[] {
                    "to=functions.add<|channel|>commentary json<|message|>{\"a\": 1}",
                    " to=functions.now<|channel|>commentary json<|message|>{}",
                    null,
                    "to=functions.add<|channel|>commentary json<|message|>{\"b\": 1}"
                };
            case GENERIC ->
                new String[] {
                    "{\"tool_calls\": [{\"name\": \"add\", \"arguments\": {\"a\": 1}}]}",
                    "{\"tool_calls\": [{\"name\": \"now\", \"arguments\": {}}]}",
                    "{\"tool_calls\": [{\"name\": \"add\", \"arguments\": {\"a\": 1}}, {\"name\": \"now\", \"arguments\": {}}]}",
                    "{\"tool_calls\": []}"
                };
        };
    }

    @ParameterizedTest
    @EnumSource(ToolSyntax.class)
    void acceptsCallsInTheSyntaxAndNothingElse(ToolSyntax syntax) {
        String[] sample = samples(syntax);
        String gbnf = syntax.grammar(FUNCTIONS, PARAMS, false, false, false).gbnf();
        var grammar = GbnfRecognizer.parse(gbnf);

        assertThat(model.checkGrammar(gbnf, JsonGrammar.ROOT)).as(gbnf).isTrue();
        assertThat(grammar.accepts(sample[0])).as(gbnf).isTrue();
        assertThat(grammar.accepts(sample[1])).as(gbnf).isTrue();
        assertThat(grammar.accepts(sample[3])).as(gbnf).isFalse();
        assertThat(grammar.accepts("Hello")).isFalse();
    }

    @ParameterizedTest
    @EnumSource(ToolSyntax.class)
    void severalCallsOnlyWhenParallel(ToolSyntax syntax) {
        String two = samples(syntax)[2];
        if (two == null) return; // one call per answer in this syntax

        assertThat(GbnfRecognizer.parse(syntax.grammar(FUNCTIONS, PARAMS, true, false, false)
                                .gbnf())
                        .accepts(two))
                .as(two)
                .isTrue();
        assertThat(GbnfRecognizer.parse(syntax.grammar(FUNCTIONS, PARAMS, false, false, false)
                                .gbnf())
                        .accepts(two))
                .isFalse();
    }

    @ParameterizedTest
    @EnumSource(ToolSyntax.class)
    void afterItsTriggerTheGrammarTakesTheRestOfTheCall(ToolSyntax syntax) {
        if (syntax.trigger() == null) return; // the whole answer is JSON: no trigger
        String call = samples(syntax)[0];
        String gbnf = syntax.grammar(FUNCTIONS, PARAMS, false, false, true).gbnf();

        assertThat(call).startsWith(syntax.trigger());
        assertThat(model.checkGrammar(gbnf, JsonGrammar.ROOT)).isTrue();
        assertThat(GbnfRecognizer.parse(gbnf)
                        .accepts(call.substring(syntax.trigger().length())))
                .as(gbnf)
                .isTrue();
        assertThat(GbnfRecognizer.parse(gbnf).accepts(call)).isFalse();
    }

    /** What is written into a template that does not render earlier calls is what the model is held to write. */
    @ParameterizedTest
    @EnumSource(ToolSyntax.class)
    void callsWrittenForTheHistoryAreCallsTheGrammarAccepts(ToolSyntax syntax) {
        var add = new FunctionCall("add", "{\"a\": 1}");
        var now = new FunctionCall("now", "{}");
        boolean several = samples(syntax)[2] != null;
        String written = syntax.written(several ? List.of(add, now) : List.of(add));

        assertThat(GbnfRecognizer.parse(syntax.grammar(FUNCTIONS, PARAMS, several, false, false)
                                .gbnf())
                        .accepts(written))
                .as(written)
                .isTrue();
    }

    @Test
    void lfm2CallsAreKeywordArgumentsWithPythonLiterals() throws Exception {
        var lookup = FunctionDefinition.of(
                "look_up",
                null,
                JSON.readTree("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
                        + "\"exact\":{\"type\":\"boolean\"},\"near\":{\"type\":[\"object\",\"null\"],"
                        + "\"properties\":{\"on\":{\"const\":true}}},\"limit\":{\"type\":\"integer\"}},"
                        + "\"required\":[\"exact\"]}"));
        var grammar = GbnfRecognizer.parse(ToolSyntax.LFM2
                .grammar(List.of(lookup), PARAMS, false, false, true)
                .gbnf());

        assertThat(grammar.accepts("[look_up(exact=True)]<|tool_call_end|>")).isTrue();
        assertThat(grammar.accepts("[look_up(city=\"Paris\", exact=False, limit=3)]<|tool_call_end|>"))
                .isTrue();
        assertThat(grammar.accepts("[look_up(exact=True, near=None)]<|tool_call_end|>"))
                .isTrue();
        assertThat(grammar.accepts("[look_up(exact=True, near={\"on\": True})]<|tool_call_end|>"))
                .isTrue();
        // JSON's keywords, arguments out of order, a missing required one, a stray comma: not Python as written.
        assertThat(grammar.accepts("[look_up(exact=true)]<|tool_call_end|>")).isFalse();
        assertThat(grammar.accepts("[look_up(exact=True, city=\"Paris\")]<|tool_call_end|>"))
                .isFalse();
        assertThat(grammar.accepts("[look_up(city=\"Paris\")]<|tool_call_end|>"))
                .isFalse();
        assertThat(grammar.accepts("[look_up(, exact=True)]<|tool_call_end|>")).isFalse();
        assertThat(grammar.accepts("[look_up(exact=True,)]<|tool_call_end|>")).isFalse();
    }

    /** In the forms that write strings as raw text, a string's format and pattern hold as in JSON. */
    @ParameterizedTest
    @EnumSource(
            value = ToolSyntax.class,
            names = {"XML", "ARG_KEY", "MINIMAX", "DSML_TOOL_CALLS", "XTML", "MINICPM", "MINIMAX_M3", "GEMMA4"})
    void rawStringsKeepTheirFormatAndPattern(ToolSyntax syntax) throws Exception {
        var book = FunctionDefinition.of(
                "book",
                null,
                JSON.readTree("{\"type\":\"object\",\"properties\":{\"day\":{\"type\":\"string\",\"format\":\"date\"},"
                        + "\"airport\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{3}$\"},\"note\":{\"type\":\"string\","
                        + "\"pattern\":\"^a\\\"b$\"}},\"required\":[\"day\",\"airport\",\"note\"]}"));
        var grammar = GbnfRecognizer.parse(
                syntax.grammar(List.of(book), PARAMS, false, false, false).gbnf());
        java.util.function.BiFunction<String, String, String> call =
                (day, airport) -> syntax.written(List.of(new FunctionCall(
                        "book", "{\"day\":\"" + day + "\",\"airport\":\"" + airport + "\",\"note\":\"free\"}")));

        assertThat(grammar.accepts(call.apply("2026-12-04", "CDG")))
                .as(call.apply("2026-12-04", "CDG"))
                .isTrue();
        assertThat(grammar.accepts(call.apply("tomorrow", "CDG"))).isFalse();
        assertThat(grammar.accepts(call.apply("2026-02-30", "CDG"))).isFalse();
        assertThat(grammar.accepts(call.apply("2026-12-04", "cdg"))).isFalse();
    }

    @Test
    void miniCpmWrapsStringsWithMarkupInCdata() throws Exception {
        var note = FunctionDefinition.of(
                "note",
                null,
                JSON.readTree("{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},\"done\":"
                        + "{\"type\":\"boolean\"}},\"required\":[\"text\"]}"));
        var grammar = GbnfRecognizer.parse(ToolSyntax.MINICPM
                .grammar(List.of(note), PARAMS, false, false, false)
                .gbnf());

        assertThat(grammar.accepts("<function name=\"note\"><param name=\"text\">Buy milk</param><param name=\"done\">"
                        + "True</param></function>"))
                .isTrue();
        assertThat(grammar.accepts(
                        "<function name=\"note\"><param name=\"text\"><![CDATA[a < b\n& c]]></param>" + "</function>"))
                .isTrue();
        assertThat(grammar.accepts("<function name=\"note\"><param name=\"text\">a < b</param></function>"))
                .isFalse();
        assertThat(grammar.accepts("<function name=\"note\"><param name=\"text\">x</param><param name=\"done\">"
                        + "true</param></function>"))
                .isFalse();
    }

    @Test
    void gemma4WritesItsArgumentsInKeyOrderWithItsOwnStrings() throws Exception {
        var plan = FunctionDefinition.of(
                "plan",
                null,
                JSON.readTree("{\"type\":\"object\",\"properties\":{\"to\":{\"type\":\"string\"},\"stops\":{\"type\":"
                        + "\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"at\":{\"type\":\"string\"},\"nights\":"
                        + "{\"type\":\"integer\"}},\"required\":[\"at\"]},\"maxItems\":2},\"fast\":{\"type\":\"boolean\"},"
                        + "\"extra\":{}},\"required\":[\"to\"]}"));
        String gbnf = ToolSyntax.GEMMA4
                .grammar(List.of(plan), PARAMS, false, false, false)
                .gbnf();
        var grammar = GbnfRecognizer.parse(gbnf);
        String q = "<|\"|>";

        assertThat(model.checkGrammar(gbnf, JsonGrammar.ROOT)).isTrue();
        assertThat(grammar.accepts("<|tool_call>call:plan{to:" + q + "Lyon, <b>" + q + "}<tool_call|>"))
                .isTrue();
        assertThat(grammar.accepts("<|tool_call>call:plan{extra:{k:[1,true]},fast:false,stops:[{at:" + q + "Dijon" + q
                        + ",nights:2},{at:" + q + "Paris" + q + "}],to:" + q + "Lyon" + q + "}<tool_call|>"))
                .isTrue();
        // Out of key order, a JSON string, a missing required key, too many items: refused.
        assertThat(grammar.accepts("<|tool_call>call:plan{to:" + q + "Lyon" + q + ",fast:false}<tool_call|>"))
                .isFalse();
        assertThat(grammar.accepts("<|tool_call>call:plan{to:\"Lyon\"}<tool_call|>"))
                .isFalse();
        assertThat(grammar.accepts("<|tool_call>call:plan{fast:true}<tool_call|>"))
                .isFalse();
        assertThat(grammar.accepts("<|tool_call>call:plan{stops:[{at:" + q + "a" + q + "},{at:" + q + "b" + q + "},{at:"
                        + q + "c" + q + "}],to:" + q + "Lyon" + q + "}<tool_call|>"))
                .isFalse();
    }

    @Test
    void miniMaxM3WritesObjectsAndArraysAsNestedElements() throws Exception {
        var plan = FunctionDefinition.of(
                "plan",
                null,
                JSON.readTree("{\"type\":\"object\",\"properties\":{\"trip\":{\"type\":\"object\",\"properties\":"
                        + "{\"to\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"}},\"required\":[\"to\"]},"
                        + "\"stops\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":2}},"
                        + "\"required\":[\"trip\"]}"));
        String gbnf = ToolSyntax.MINIMAX_M3
                .grammar(List.of(plan), PARAMS, false, false, true)
                .gbnf();
        var grammar = GbnfRecognizer.parse(gbnf);
        String m = "]<]minimax[>[";
        String open = "\n" + m + "<invoke name=\"plan\">";
        String close = m + "</invoke>\n" + m + "</tool_call>";

        assertThat(model.checkGrammar(gbnf, JsonGrammar.ROOT)).isTrue();
        assertThat(grammar.accepts(open + m + "<trip>" + m + "<to>Lyon] [x]" + m + "</to>" + m + "<days>3" + m
                        + "</days>" + m + "</trip>" + m + "<stops>" + m + "<item>Dijon" + m + "</item>" + m + "</stops>"
                        + close))
                .isTrue();
        assertThat(grammar.accepts(open + m + "<trip>" + m + "<to>Lyon" + m + "</to>" + m + "</trip>" + close))
                .isTrue();
        // A string holding the marker, an array over its maxItems, a missing required member: refused.
        assertThat(grammar.accepts(open + m + "<trip>" + m + "<to>a]<]b" + m + "</to>" + m + "</trip>" + close))
                .isFalse();
        assertThat(grammar.accepts(open + m + "<trip>" + m + "<to>a" + m + "</to>" + m + "</trip>" + m + "<stops>"
                        + (m + "<item>x" + m + "</item>").repeat(3) + m + "</stops>" + close))
                .isFalse();
        assertThat(grammar.accepts(open + m + "<trip>" + m + "<days>3" + m + "</days>" + m + "</trip>" + close))
                .isFalse();
    }

    @Test
    void aGenericAnswerMayBeWordsWhenTheModelMayAnswerInWords() {
        var grammar = GbnfRecognizer.parse(ToolSyntax.GENERIC
                .grammar(FUNCTIONS, PARAMS, false, true, false)
                .gbnf());

        assertThat(grammar.accepts("{\"response\": \"It is sunny.\"}")).isTrue();
        assertThat(grammar.accepts(samples(ToolSyntax.GENERIC)[0])).isTrue();
    }

    @Test
    void aParametersSchemaTheGrammarCannotHonourIsA400NamingTheTool() throws Exception {
        var odd = FunctionDefinition.of("odd", null, JSON.readTree("{\"type\":\"integer\",\"multipleOf\":3}"));

        assertThatThrownBy(() ->
                        ToolSyntax.HERMES.grammar(List.of(FUNCTIONS.getFirst(), odd), PARAMS, false, false, false))
                .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                    assertThat(e.error().param()).isEqualTo("tools[1].function.parameters");
                    assertThat(e.error().message()).contains("odd").contains("multipleOf");
                });
    }
}
