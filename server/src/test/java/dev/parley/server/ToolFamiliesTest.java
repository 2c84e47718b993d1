package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.Json;
import dev.parley.api.ToolCall;
import dev.parley.server.engine.llama.LlamaModel;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Tool calls in each family's own syntax, end to end: tiny models with random weights, the family's real
 * vocabulary and its published chat template, served over HTTP. The template shows the model its tools and renders
 * earlier calls and their results back; the grammar makes even random weights write calls in the family's syntax,
 * and the parser reads them back into {@code tool_calls}.
 */
@Timeout(240)
class ToolFamiliesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    enum Family {
        /** Qwen 2.5: {@code <tool_call>\n{"name": …, "arguments": …}\n</tool_call>}. */
        QWEN(
                "ggml-vocab-qwen2.gguf",
                "Qwen-Qwen2.5-7B-Instruct.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * Qwen 3.5: {@code <tool_call>\n<function=name>\n<parameter=key>\nvalue\n</parameter>\n</function>\n</tool_call>},
         * strings as raw text.
         */
        QWEN35(
                "ggml-vocab-qwen2.gguf",
                "Qwen3.5-4B.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * GLM 4.6: {@code <tool_call>name\n<arg_key>key</arg_key>\n<arg_value>value</arg_value>\n</tool_call>},
         * strings as raw text.
         */
        GLM(
                "ggml-vocab-qwen2.gguf",
                "GLM-4.6.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * Seed-OSS: {@code <seed:tool_call>\n<function=name>\n<parameter=key>value</parameter>\n</function>\n
         * </seed:tool_call>}, strings as raw text.
         */
        SEED(
                "ggml-vocab-qwen2.gguf",
                "ByteDance-Seed-OSS.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * MiniMax M2: {@code <minimax:tool_call>\n<invoke name="name">\n<parameter name="key">value</parameter>\n
         * </invoke>\n</minimax:tool_call>}, strings as raw text.
         */
        MINIMAX(
                "ggml-vocab-qwen2.gguf",
                "MiniMax-M2.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * MiniMax M3: {@code ]<]minimax[>[<tool_call>\n]<]minimax[>[<invoke name="name">]<]minimax[>[<key>value
         * ]<]minimax[>[</key>]<]minimax[>[</invoke>\n]<]minimax[>[</tool_call>}.
         */
        MINIMAX_M3(
                "ggml-vocab-qwen2.gguf",
                "MiniMax-M3.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * Kimi K2: {@code <|tool_calls_section_begin|><|tool_call_begin|>functions.name:0<|tool_call_argument_begin|>
         * {…}<|tool_call_end|><|tool_calls_section_end|>}; Qwen's vocabulary stands in, so the markup is plain text.
         * Its template keeps the conversation's call ids in a list it appends to and pops from.
         */
        KIMI(
                "ggml-vocab-qwen2.gguf",
                "Kimi-K2-Instruct.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * Kimi K3: {@code <|open|>tools<|sep|><|open|>call tool="name" index="1"<|sep|><|open|>argument key="key"
         * type="string"<|sep|>value<|close|>argument<|sep|><|close|>call<|sep|><|close|>tools<|sep|>}.
         */
        KIMI_K3(
                "ggml-vocab-qwen2.gguf",
                "Kimi-K3.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * DeepSeek V3.1: {@code <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>name<｜tool▁sep｜>{…}<｜tool▁call▁end｜>
         * <｜tool▁calls▁end｜>}, its tools described in the system message (its template shows none).
         */
        DEEPSEEK(
                "ggml-vocab-qwen2.gguf",
                "deepseek-ai-DeepSeek-V3.1.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * DeepSeek V4: {@code <｜DSML｜tool_calls>\n<｜DSML｜invoke name="name">\n<｜DSML｜parameter name="key"
         * string="true">value</｜DSML｜parameter>\n</｜DSML｜invoke>\n</｜DSML｜tool_calls>}.
         */
        DEEPSEEK_V4(
                "ggml-vocab-qwen2.gguf",
                "deepseek-ai-DeepSeek-V4.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * DeepSeek R1 (the Qwen distill's template): {@code <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function
         * <｜tool▁sep｜>name\n```json\n{…}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>}, its tools in the system message.
         */
        DEEPSEEK_R1(
                "ggml-vocab-qwen2.gguf",
                "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /** Granite 3.3: {@code <|tool_call|>[{"name": …, "arguments": …}]}. */
        GRANITE(
                "ggml-vocab-qwen2.gguf",
                "ibm-granite-granite-3.3-2B-Instruct.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * Hunyuan 3: {@code <tool_calls:opensource>\n<tool_call:opensource>name<tool_sep:opensource>\n
         * <arg_key:opensource>key</arg_key:opensource>\n<arg_value:opensource>value</arg_value:opensource>\n…}.
         */
        HUNYUAN(
                "ggml-vocab-qwen2.gguf",
                "tencent-Hy3.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * LFM2: {@code <|tool_call_start|>[name(key="value")]<|tool_call_end|>}, Python calls. Its template shows
         * neither earlier calls nor their arguments: Parley writes them into the assistant's text as the model would.
         */
        LFM2(
                "ggml-vocab-qwen2.gguf",
                "LFM2-8B-A1B.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * Gemma 2, a template from before tools: the generic JSON form, told in the system message; it has no turn
         * for tool results (it refuses them) and shows no calls, so both are written into the conversation's text.
         */
        GEMMA2(
                "ggml-vocab-qwen2.gguf",
                "google-gemma-2-2b-it.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * Command R7B: {@code <|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": …, "parameters": …}\n]
         * <|END_ACTION|>}.
         */
        COMMAND_R(
                "ggml-vocab-qwen2.gguf",
                "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /** Nemotron Nano 2: {@code <TOOLCALL>[{"name": …, "arguments": …}]</TOOLCALL>}. */
        NEMOTRON(
                "ggml-vocab-qwen2.gguf",
                "NVIDIA-Nemotron-Nano-v2.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /** MiniMax M1: {@code <tool_calls>\n{"name": …, "arguments": …}\n</tool_calls>}. */
        MINIMAX_M1(
                "ggml-vocab-qwen2.gguf",
                "MiniMax-M1.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /** MiniCPM 5: {@code <function name="name"><param name="key">value</param></function>}. */
        MINICPM(
                "ggml-vocab-qwen2.gguf",
                "openbmb-MiniCPM5-1B.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /** Apertus: {@code <|tools_prefix|>[{"name": {…}}]<|tools_suffix|>}. */
        APERTUS(
                "ggml-vocab-qwen2.gguf",
                "Apertus-8B-Instruct.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /** Gemma 4: {@code <|tool_call>call:name{key:<|"|>value<|"|>}<tool_call|>}. */
        GEMMA4(
                "ggml-vocab-qwen2.gguf",
                "google-gemma-4-31B-it.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32)),
        /**
         * Functionary 3.2: the generic JSON form; its template shows earlier calls ({@code >>>name\n{…}}) only when their
         * arguments are a string.
         */
        FUNCTIONARY(
                "ggml-vocab-llama-bpe.gguf",
                "meetkai-functionary-medium-v3.2.jinja",
                null,
                () -> GgufWriter.llama().layers(2).heads(4).kvHeads(1).ropeFreqBase(500_000)),
        /** Llama 3.1: the whole answer is {@code {"name": …, "parameters": …}}. */
        LLAMA3(
                "ggml-vocab-llama-bpe.gguf",
                "meta-llama-Llama-3.1-8B-Instruct.jinja",
                "{",
                () -> GgufWriter.llama().layers(2).heads(4).kvHeads(1).ropeFreqBase(500_000)),
        /**
         * Mistral Nemo: {@code [TOOL_CALLS][{"name": …, "arguments": …}]}, with call ids of 9 letters and digits;
         * Llama 2's SentencePiece vocabulary stands in, so {@code [TOOL_CALLS]} is plain text.
         */
        MISTRAL(
                "ggml-vocab-llama-spm.gguf",
                "mistralai-Mistral-Nemo-Instruct-2407.jinja",
                null,
                () -> GgufWriter.llama().layers(2).heads(4).kvHeads(1)),
        /**
         * gpt-oss: a message to the tool, {@code to=functions.name<|channel|>commentary json<|message|>{…}}, ended by
         * {@code <|call|>}; Qwen's vocabulary stands in, so the markup is plain text.
         */
        GPT_OSS(
                "ggml-vocab-qwen2.gguf",
                "openai-gpt-oss-120b.jinja",
                null,
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32));

        final String vocabulary;
        final String template;
        /** The text a lone token of which starts a call on its own (tool_choice auto); null when none does. */
        final String trigger;

        final Supplier<GgufWriter> writer;

        Family(String vocabulary, String template, String trigger, Supplier<GgufWriter> writer) {
            this.vocabulary = vocabulary;
            this.template = template;
            this.trigger = trigger;
            this.writer = writer;
        }

        String id() {
            return name().toLowerCase();
        }
    }

    @TempDir
    static Path dir;

    private static final Map<Family, Served> SERVED = new ConcurrentHashMap<>();

    /**
     * Every family served, and the answers the tests read asked, two families at a time: a family's server and its
     * answers are its own (greedy, so the same answers whatever runs beside them), and one family's grammar sampling
     * leaves a core free.
     */
    @BeforeAll
    static void serveAndAsk() throws Exception {
        try (var pool = Executors.newFixedThreadPool(2)) {
            List<Future<?>> asked = new ArrayList<>();
            for (Family family : Family.values())
                asked.add(pool.submit(() -> {
                    try {
                        required(family);
                        named(family);
                        return streamed(family);
                    } catch (RuntimeException | AssertionError e) {
                        throw new AssertionError("serving and asking " + family + " failed", e);
                    }
                }));
            for (Future<?> answer : asked) answer.get();
        }
    }

    static Served served(Family family) {
        return SERVED.computeIfAbsent(
                family,
                f -> Served.of(
                        f.writer
                                .get()
                                .dim(64)
                                .ffnDim(128)
                                .contextLength(4096)
                                .vocabulary(Served.vocabulary(f.vocabulary))
                                .chatTemplate(Served.template(f.template))
                                .tiedOutput(true)
                                .type(TensorType.Q8_0)
                                .seed(29)
                                .write(dir.resolve(f.id() + ".gguf")),
                        f.id(),
                        2048));
    }

    @AfterAll
    static void stop() {
        SERVED.values().forEach(Served::close);
        ANSWERED.clear();
        STREAMED.clear();
        NAMED.clear();
        SERVED.clear();
    }

    static final String TOOLS = """
            [{"type":"function","function":{"name":"get_weather","description":"The weather in a city.",
              "parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":12},
                "unit":{"enum":["celsius","fahrenheit"]}},"required":["city","unit"],"additionalProperties":false}}},
             {"type":"function","function":{"name":"add","description":"Adds two numbers.",
              "parameters":{"type":"object","properties":{"a":{"type":"integer","minimum":0,"maximum":99},
                "b":{"type":"integer","minimum":0,"maximum":99}},"required":["a","b"],"additionalProperties":false}}}]""";

    static String request(Family family, String messages, String extra) {
        return "{\"model\":\"" + family.id() + "\",\"messages\":" + messages + ",\"tools\":" + TOOLS
                + ",\"max_tokens\":240,\"temperature\":0" + extra + "}";
    }

    static final String QUESTION = "[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"}]";

    static final String REQUIRED = ",\"tool_choice\":\"required\",\"parallel_tool_calls\":false";

    private static final Map<Family, ChatCompletion> ANSWERED = new ConcurrentHashMap<>();
    private static final Map<Family, String> STREAMED = new ConcurrentHashMap<>();
    private static final Map<Family, ChatCompletion> NAMED = new ConcurrentHashMap<>();

    /**
     * The family's answer to {@link #QUESTION} with a call required ({@link #REQUIRED}), asked once: greedy, so the
     * same answer every time.
     */
    static ChatCompletion required(Family family) {
        return once(ANSWERED, family, f -> chat(f, request(f, QUESTION, REQUIRED)));
    }

    /** What {@code ask} answers for {@code family}, asked the first time only. */
    private static <T> T once(Map<Family, T> answers, Family family, Asked<T> ask) {
        return answers.computeIfAbsent(family, f -> {
            try {
                return ask.of(f);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private interface Asked<T> {
        T of(Family family) throws Exception;
    }

    /** The family's answer with a call of {@code add} named (sampled, seeded), asked once. */
    static ChatCompletion named(Family family) {
        return once(
                NAMED,
                family,
                f -> chat(
                        f,
                        request(
                                f,
                                QUESTION,
                                ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"add\"}},"
                                        + "\"parallel_tool_calls\":false,\"seed\":5,\"temperature\":0.9")));
    }

    /** The same request as {@link #required}'s, streamed: the body of its event stream, asked once. */
    static String streamed(Family family) {
        return once(STREAMED, family, f -> {
            String body = request(f, QUESTION, REQUIRED).replace("\"max_tokens\"", "\"stream\":true,\"max_tokens\"");
            var response = served(f).loopback().post("/v1/chat/completions", body);
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            return response.body();
        });
    }

    static ChatCompletion chat(Family family, String body) throws Exception {
        var response = served(family).loopback().post("/v1/chat/completions", body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.read(response.body(), ChatCompletion.class);
    }

    /** The one call of a finished answer, checked: a known tool, arguments that are JSON within its schema. */
    static ToolCall oneCall(ChatCompletion completion) throws IOException {
        var choice = completion.choices().getFirst();
        assertThat(choice.finishReason()).as(Json.write(choice.message())).isEqualTo("tool_calls");
        assertThat(choice.message().content()).isNull();
        assertThat(choice.message().toolCalls()).hasSize(1);
        ToolCall call = choice.message().toolCalls().getFirst();
        assertThat(call.id()).matches("call_[A-Za-z0-9]{24}");
        assertThat(call.type()).isEqualTo("function");
        JsonNode arguments = JSON.readTree(call.function().arguments());
        switch (call.function().name()) {
            case "get_weather" -> {
                assertThat(arguments.get("city").asText()).hasSizeLessThanOrEqualTo(12);
                assertThat(arguments.get("unit").asText()).isIn("celsius", "fahrenheit");
                assertThat(arguments.size()).isEqualTo(2);
            }
            case "add" -> {
                assertThat(arguments.get("a").asInt()).isBetween(0, 99);
                assertThat(arguments.get("b").asInt()).isBetween(0, 99);
                assertThat(arguments.size()).isEqualTo(2);
            }
            default ->
                throw new AssertionError("no tool named " + call.function().name());
        }
        return call;
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void aRequiredCallIsWrittenInTheFamilysSyntaxAndReadBack(Family family) throws Exception {
        oneCall(required(family));
        assertThat(oneCall(named(family)).function().name()).isEqualTo("add");
    }

    @org.junit.jupiter.api.Test
    void gptOssWritesItsCallAsAMessageToTheTool() throws Exception {
        // The tokens the model wrote, from its log-probabilities: gpt-oss's own call syntax, not the generic JSON.
        var completion = chat(Family.GPT_OSS, request(Family.GPT_OSS, QUESTION, REQUIRED + ",\"logprobs\":true"));
        ToolCall call = oneCall(completion);
        StringBuilder written = new StringBuilder();
        completion.choices().getFirst().logprobs().content().forEach(t -> written.append(t.token()));
        assertThat(written.toString())
                .matches("(?s) ?to=functions\\." + call.function().name()
                        + "<\\|channel\\|>commentary json<\\|message\\|>\\{.*");
        assertThat(JSON.readTree(written.substring(written.indexOf("<|message|>") + "<|message|>".length())))
                .isEqualTo(JSON.readTree(call.function().arguments()));
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void tokenizeCountsThePromptWithItsToolsAsTheChatsUsageCountsIt(Family family) throws Exception {
        // The required call's request, whose answer the other tests read too.
        String body = request(family, QUESTION, REQUIRED);
        var tokenized = served(family).loopback().post("/tokenize", body.replaceFirst("\\{", "{\"with_pieces\":true,"));
        assertThat(tokenized.statusCode()).as(tokenized.body()).isEqualTo(200);
        JsonNode tokens = JSON.readTree(tokenized.body());
        StringBuilder prompt = new StringBuilder();
        tokens.path("tokens").forEach(t -> prompt.append(t.path("piece").asText()));
        assertThat(prompt.toString()).contains("get_weather", "What is the weather in Paris?");
        assertThat(tokens.path("count").asInt())
                .isEqualTo(tokens.path("tokens").size())
                .isEqualTo(required(family).usage().promptTokens());
    }

    @org.junit.jupiter.api.Test
    void deepSeeksToolsAreShownInItsSystemMessageWithItsOwnCallForm() throws Exception {
        String body = request(Family.DEEPSEEK, QUESTION, "").replace("\"max_tokens\":240", "\"max_tokens\":1");
        var tokenized = served(Family.DEEPSEEK).loopback().post("/tokenize", body);
        // A piece may be part of a character (these markers' are three bytes each): the text is read whole.
        var prompt = served(Family.DEEPSEEK)
                .loopback()
                .post(
                        "/detokenize",
                        "{\"model\":\"deepseek\",\"tokens\":"
                                + JSON.readTree(tokenized.body()).path("tokens") + "}");

        assertThat(JSON.readTree(prompt.body()).path("content").asText())
                .startsWith("## Tools\n")
                .contains("### get_weather\nDescription: The weather in a city.\n\nParameters: {\"type\":\"object\"")
                .contains("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>tool name<｜tool▁sep｜>arguments<｜tool▁call▁end｜>")
                .doesNotContain("\"tool_calls\"")
                .endsWith("<｜User｜>What is the weather in Paris?<｜Assistant｜><think></think>");
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void theStreamedCallIsTheSameCall(Family family) throws Exception {
        ToolCall whole = oneCall(required(family));

        Map<Integer, String[]> calls = new TreeMap<>();
        List<String> finishes = new ArrayList<>();
        for (ChatCompletionChunk chunk : Loopback.chunks(streamed(family))) {
            for (var choice : chunk.choices()) {
                if (choice.finishReason() != null) finishes.add(choice.finishReason());
                if (choice.delta().content() != null)
                    assertThat(choice.delta().content()).isEmpty();
                if (choice.delta().toolCalls() == null) continue;
                for (ToolCall piece : choice.delta().toolCalls()) {
                    String[] call = calls.computeIfAbsent(piece.index(), i -> new String[] {null, null, ""});
                    if (piece.id() != null) call[0] = piece.id();
                    if (piece.function().name() != null)
                        call[1] = piece.function().name();
                    if (piece.function().arguments() != null)
                        call[2] += piece.function().arguments();
                }
            }
        }

        assertThat(finishes).containsExactly("tool_calls");
        assertThat(calls).containsOnlyKeys(0);
        assertThat(calls.get(0)[0]).matches("call_[A-Za-z0-9]{24}");
        assertThat(calls.get(0)[1]).isEqualTo(whole.function().name());
        assertThat(JSON.readTree(calls.get(0)[2]))
                .isEqualTo(JSON.readTree(whole.function().arguments()));
    }

    /** The text of a chat's prompt, read back from its tokens (a piece may be part of a character). */
    static String prompt(Family family, String body) throws Exception {
        var tokenized = served(family).loopback().post("/tokenize", body);
        assertThat(tokenized.statusCode()).as(tokenized.body()).isEqualTo(200);
        var text = served(family)
                .loopback()
                .post(
                        "/detokenize",
                        "{\"model\":\"" + family.id() + "\",\"tokens\":"
                                + JSON.readTree(tokenized.body()).path("tokens") + "}");
        return JSON.readTree(text.body()).path("content").asText();
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void aToolLoopRendersTheCallAndItsResultBack(Family family) throws Exception {
        // A call as OpenAI gives them, with arguments no model wrote, so that the prompt shows where they went.
        String arguments = "{\"city\":\"Lyon\",\"unit\":\"celsius\"}";
        var call = ToolCall.function("call_q8Xz3RkV0aLm2NbT5cWy7DfH", "get_weather", arguments);
        String messages = "[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[" + Json.write(call) + "]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"" + call.id() + "\",\"content\":\"sunny, 21 degrees\"}]";
        String body = request(family, messages, ",\"tool_choice\":\"none\",\"max_tokens\":4");

        var answer = chat(family, body);

        assertThat(answer.choices().getFirst().message().toolCalls()).isNullOrEmpty();
        assertThat(answer.choices().getFirst().finishReason()).isIn("stop", "length");
        String prompt = prompt(family, body);
        assertThat(prompt).contains("Lyon", "sunny, 21 degrees");
        assertThat(prompt.indexOf("Lyon")).isLessThan(prompt.indexOf("sunny, 21 degrees"));
        switch (family) {
            case FUNCTIONARY -> assertThat(prompt).contains(">>>get_weather\n" + arguments);
            case LFM2 ->
                assertThat(prompt).contains("<|tool_call_start|>[get_weather(city=\"Lyon\", unit=\"celsius\")]");
            case GEMMA2 ->
                assertThat(prompt)
                        .contains(
                                "{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lyon\", \"unit\": \"celsius\"}}]}")
                        .contains(
                                "{\"tool_response\": {\"name\": \"get_weather\", \"content\": \"sunny, 21 degrees\"}}");
            default -> {}
        }
    }

    /**
     * Only Llama 3's trigger is one token in these vocabularies (this Qwen vocabulary spells {@code <tool_call>} in
     * four), so only it can be forced by a bias; the grammars after every syntax's trigger are checked in {@code
     * ToolSyntaxGrammarTest}.
     */
    @ParameterizedTest
    @EnumSource(
            value = Family.class,
            names = {"LLAMA3"})
    void withAutoTheGrammarTakesOverOnceTheModelStartsACall(Family family) throws Exception {
        int trigger;
        try (LlamaModel model = LlamaModel.open(served(family).model())) {
            int[] ids = model.tokenize(family.trigger, false, true);
            assertThat(ids).as("%s is one token", family.trigger).hasSize(1);
            trigger = ids[0];
        }
        // The bias makes this model start a call at once, as a trained one would; what follows is its own.
        String bias = ",\"logit_bias\":{\"" + trigger + "\":100},\"parallel_tool_calls\":false";

        oneCall(chat(family, request(family, QUESTION, bias)));
    }
}
