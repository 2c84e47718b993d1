package dev.parley.server;

import static dev.parley.server.Loopback.chunks;
import static dev.parley.server.Loopback.streamedText;
import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionChunk;
import dev.parley.api.Json;
import dev.parley.api.TextCompletion;
import dev.parley.testkit.GgufWriter;
import dev.parley.testkit.TensorType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Current architectures served end to end: for each, a tiny model with random weights in its shape and
 * with a real tokenizer (from llama.cpp's vocabulary test files, see {@code vocab/README.md}), written by the
 * testkit's GgufWriter, loaded by the real llama.cpp and driven over HTTP.
 *
 * <p>qwen3 needs a llama.cpp newer than b4916, which does not know the architecture.
 */
@Timeout(120)
class ArchitecturesServerTest {
    /** Gemma's turns as its GGUFs carry them; llama.cpp recognises the template by {@code <start_of_turn>}. */
    static final String GEMMA_TEMPLATE = "{{ bos_token }}{% for message in messages %}<start_of_turn>"
            + "{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n{{ message['content'] | trim }}<end_of_turn>\n"
            + "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";

    /**
     * Each architecture with its tokenizer and, as llama.cpp's own tokenizer gives them (v0.5.0), the ids of
     * "Hello world" as a prompt (with the BOS the model adds, if any) and of one user turn "Hello" rendered with
     * the model's chat template as Hugging Face renders it.
     */
    enum Architecture {
        /**
         * Llama 3: 4 query heads share one KV head, RoPE base 500000, its 128k BPE vocabulary.
         * {@code <|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n}
         */
        LLAMA3(
                "ggml-vocab-llama-bpe.gguf",
                () -> GgufWriter.llama()
                        .layers(2)
                        .heads(4)
                        .kvHeads(1)
                        .ropeFreqBase(500_000)
                        .chatTemplate(WrittenModelServerTest.LLAMA3_TEMPLATE),
                new int[] {128000, 9906, 1917},
                new int[] {128000, 128006, 882, 128007, 271, 9906, 128009, 128006, 78191, 128007, 271}),
        /**
         * Qwen 3: per-head query and key norms, heads of 32 for a width of 64; Qwen 2's vocabulary (no BOS) and
         * its Jinja template, which adds a system turn when there is none. {@code <|im_start|>system\nYou are a
         * helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n}
         */
        QWEN3(
                "ggml-vocab-qwen2.gguf",
                () -> GgufWriter.qwen3().layers(2).heads(4).kvHeads(2).headDim(32),
                new int[] {9707, 1879},
                new int[] {
                    151644, 8948, 198, 2610, 525, 264, 10950, 17847, 151645, 198, 151644, 872, 198, 9707, 151645, 198,
                    151644, 77091, 198
                }),
        /**
         * Gemma 3: post-norms, GELU, a 16-token sliding window on every other layer; Llama 2's SentencePiece
         * vocabulary stands in for Gemma's, so the turn markers are plain text.
         * {@code <s><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n}, 28 tokens: longer than
         * the window. Six layers, because llama.cpp releases that do not read {@code sliding_window_pattern}
         * assume Gemma 3's one global layer in six, and b4916 crashes in decoding a model that has none.
         */
        GEMMA3(
                "ggml-vocab-llama-spm.gguf",
                () -> GgufWriter.gemma3()
                        .layers(6)
                        .heads(4)
                        .kvHeads(1)
                        .headDim(32)
                        .slidingWindow(16)
                        .chatTemplate(GEMMA_TEMPLATE),
                new int[] {1, 15043, 3186},
                new int[] {
                    1, 529, 2962, 29918, 974, 29918, 685, 29958, 1792, 13, 10994, 29966, 355, 29918, 974, 29918, 685,
                    29958, 13, 29966, 2962, 29918, 974, 29918, 685, 29958, 4299, 13
                }),
        /**
         * LFM2: short-convolution layers, whose state llama.cpp keeps per sequence as recurrent state, beside
         * attention layers (here layers 1 and 3 of 4); Qwen 2's vocabulary and template as {@link #QWEN3}'s.
         */
        LFM2(
                "ggml-vocab-qwen2.gguf",
                () -> GgufWriter.lfm2().layers(4).heads(4).kvHeads(2),
                QWEN3.helloWorld,
                QWEN3.helloChat),
        /**
         * Qwen 3.5: three layers of linear attention (a gated delta net, recurrent state) to one of gated attention,
         * multi-section RoPE; Qwen 2's vocabulary and template as {@link #QWEN3}'s.
         */
        QWEN35(
                "ggml-vocab-qwen2.gguf",
                () -> GgufWriter.qwen35().layers(4).heads(4).kvHeads(2),
                QWEN3.helloWorld,
                QWEN3.helloChat);

        final String vocabulary;
        final Supplier<GgufWriter> writer;
        final int[] helloWorld;
        final int[] helloChat;

        Architecture(String vocabulary, Supplier<GgufWriter> writer, int[] helloWorld, int[] helloChat) {
            this.vocabulary = vocabulary;
            this.writer = writer;
            this.helloWorld = helloWorld;
            this.helloChat = helloChat;
        }

        String id() {
            return name().toLowerCase();
        }
    }

    @TempDir
    static Path dir;

    private static final Map<Architecture, Served> SERVED = new EnumMap<>(Architecture.class);

    static synchronized Served served(Architecture architecture) {
        return SERVED.computeIfAbsent(
                architecture,
                a -> Served.of(
                        a.writer
                                .get()
                                .dim(64)
                                .ffnDim(128)
                                .contextLength(4096)
                                .vocabulary(Served.vocabulary(a.vocabulary))
                                .tiedOutput(true)
                                .type(TensorType.Q8_0)
                                .seed(17)
                                .write(dir.resolve(a.id() + ".gguf")),
                        a.id(),
                        256));
    }

    /** A greedy completion of up to 8 tokens of a prompt given as JSON: a string or an array of token ids. */
    static TextCompletion complete(Served served, Architecture architecture, String prompt, String extra)
            throws Exception {
        var response = served.loopback()
                .post(
                        "/v1/completions",
                        "{\"model\":\"" + architecture.id() + "\",\"prompt\":" + prompt
                                + ",\"max_tokens\":8,\"temperature\":0" + extra + "}");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.read(response.body(), TextCompletion.class);
    }

    /** The greedy chat answer of up to 8 tokens to the architecture's hello chat. */
    private static ChatCompletion greedyChat(Served served, Architecture architecture) throws Exception {
        var response = served.loopback().post("/v1/chat/completions", chat(architecture, ",\"max_tokens\":8"));
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.read(response.body(), ChatCompletion.class);
    }

    @AfterAll
    static void stop() {
        SERVED.values().forEach(Served::close);
        SERVED.clear();
    }

    private static String chat(Architecture architecture, String extra) {
        return "{\"model\":\"" + architecture.id()
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"temperature\":0" + extra + "}";
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void answersAChatFromThePromptTheRealTokenizerGives(Architecture architecture) throws Exception {
        Served served = served(architecture);

        var response = served.loopback().post("/v1/chat/completions", chat(architecture, ",\"max_tokens\":8"));

        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        var answer = Json.read(response.body(), ChatCompletion.class);
        assertThat(answer.model()).isEqualTo(architecture.id());
        assertThat(answer.usage().promptTokens()).isEqualTo(architecture.helloChat.length);
        assertThat(answer.usage().completionTokens()).isBetween(1, 8);
        assertThat(answer.choices()).singleElement().satisfies(choice -> {
            assertThat(choice.message().role()).isEqualTo("assistant");
            assertThat(choice.finishReason()).isIn("stop", "length");
        });
        // Greedy decoding from the reference ids writes the same answer only if the prompt was those ids.
        assertThat(complete(served, architecture, Arrays.toString(architecture.helloChat), "")
                        .text())
                .isEqualTo(answer.text());
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void streamsTheSameAnswerAndEndsWithDone(Architecture architecture) throws Exception {
        Served served = served(architecture);
        var whole = greedyChat(served, architecture);

        var stream = served.loopback()
                .post(
                        "/v1/chat/completions",
                        chat(
                                architecture,
                                ",\"max_tokens\":8,\"stream\":true,\"stream_options\":{\"include_usage\":true}"));

        assertThat(stream.statusCode()).as(stream.body()).isEqualTo(200);
        List<ChatCompletionChunk> chunks = chunks(stream.body()); // checks that the last event is [DONE]
        assertThat(chunks.getFirst().choices().getFirst().delta().role()).isEqualTo("assistant");
        // The counts; the second request may find the first one's prompt cached.
        assertThat(chunks.getLast().usage())
                .usingRecursiveComparison()
                .ignoringFields("promptTokensDetails")
                .isEqualTo(whole.usage());
        assertThat(streamedText(stream.body())).isEqualTo(whole.text());
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void choicesThatShareTheirPromptAcrossSlotsAnswerAsOneAlone(Architecture architecture) throws Exception {
        // Two slots, each with a cache of its own, and three choices: the second gets the first's prompt cells
        // copied between caches; the third waits for a slot and finds the prompt held there (or reads it).
        Served served = served(architecture);
        var one = greedyChat(served, architecture);

        var three = served.loopback().post("/v1/chat/completions", chat(architecture, ",\"max_tokens\":8,\"n\":3"));

        assertThat(three.statusCode()).as(three.body()).isEqualTo(200);
        var answer = Json.read(three.body(), ChatCompletion.class);
        assertThat(answer.choices()).hasSize(3);
        for (var choice : answer.choices()) assertThat(choice.message().text()).isEqualTo(one.text());
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void conversationsBeyondTheSlotsAnswerFromThePromptCacheAsAlone(Architecture architecture) throws Exception {
        Served plain = served(architecture); // no prompt cache: each next turn is answered there too
        Path model = plain.model();
        String[] openings = {
            "Hello world, this is the first of three conversations about the weather in the hills and the valleys",
            "Another conversation begins here and talks about boats on a lake in the summer time with friends",
            "A third one, about a cat that sleeps by the fire while the rain falls outside all day and all night"
        };
        try (Served cached = Served.of(model, architecture.id(), 256, 4)) {
            String[] firsts = new String[openings.length];
            for (int k = 0; k < openings.length; k++) // three conversations, two slots
            firsts[k] = complete(cached, architecture, Json.write(openings[k]), "")
                    .text();
            for (int k = 0; k < openings.length; k++) {
                String next = Json.write(openings[k] + firsts[k] + " And then?");
                TextCompletion answer = complete(cached, architecture, next, "");
                assertThat(answer.text())
                        .as("conversation %d", k)
                        .isEqualTo(complete(plain, architecture, next, "").text());
            }
            // This Gemma 3's saved cells hold only the last 16 of its sliding-window layers, behind where a next turn
            // leaves its last answer: it goes on from the window kept where its last prompt ended. LFM2's and Qwen
            // 3.5's recurrent state cannot be cut back at all: they go on from the state kept a few tokens before it.
            assertThat(metric(cached, "parley_engine_prompt_restored_tokens_total"))
                    .as("conversations loaded from host memory")
                    .isPositive();
            double checkpoints = metric(cached, "parley_engine_prompt_checkpoint_bytes");
            if (architecture == Architecture.GEMMA3
                    || architecture == Architecture.LFM2
                    || architecture == Architecture.QWEN35)
                assertThat(checkpoints).isPositive();
            else
                assertThat(checkpoints)
                        .as("no sliding window nor recurrent state, nothing kept for one")
                        .isZero();
        }
    }

    @org.junit.jupiter.api.Test
    void qwen35sNextChatTurnGoesOnFromItsStateBeforeTheGenerationPromptItsTemplateRendersOtherwise() throws Exception {
        // Qwen 3.5's own template ends a prompt with <think>\n, and renders an earlier answer without it: the next
        // turn shares the last prompt but for those tokens, and goes on from the state kept a few tokens before.
        Path model = qwen35Chat();
        String first = "[{\"role\":\"system\",\"content\":\"You answer briefly and kindly, in plain words.\"},"
                + "{\"role\":\"user\",\"content\":\"What is the weather like in the hills today?\"}";
        try (Served served = Served.of(model, "qwen35", 256);
                Served plain = Served.of(model, "qwen35", 256)) {
            ChatCompletion one = chatTurn(served, first + "]");
            String second = first + ",{\"role\":\"assistant\",\"content\":" + Json.write(one.text())
                    + ",\"reasoning_content\":" + Json.write(reasoning(one))
                    + "},{\"role\":\"user\",\"content\":\"And tomorrow?\"}]";

            ChatCompletion two = chatTurn(served, second);

            assertThat(two.usage().promptTokensDetails())
                    .as("cached prompt tokens")
                    .isNotNull();
            assertThat(two.usage().promptTokensDetails().cachedTokens())
                    .isEqualTo(one.usage().promptTokens() - 4); // the engine keeps the state 4 tokens before the end
            chatTurn(plain, "[{\"role\":\"user\",\"content\":\"Something else\"}]"); // its slot holds another
            assertThat(said(two)).isEqualTo(said(chatTurn(plain, second)));
        }
    }

    @org.junit.jupiter.api.Test
    void qwen35ConversationsThatShareASystemPromptReadItOnceWithAPromptCache() throws Exception {
        // Recurrent state cannot be cut back to where the system prompt ends: the second conversation stops reading
        // there to keep its memory in the prompt cache, and later ones load that and read only their own messages.
        Path model = qwen35Chat();
        String system = "{\"role\":\"system\",\"content\":\"You are a patient guide to the hills and valleys of the"
                + " north. You answer briefly and kindly, in plain words, and you never make up a path.\"}";
        String[] questions = {
            "Which path goes up the hill?",
            "Where does the river bend?",
            "Is the bridge safe?",
            "Can we camp here?",
            "Which hut is open?"
        };
        try (Served cached = Served.of(model, "qwen35", 256, 8);
                Served plain = Served.of(model, "qwen35", 256)) {
            String[] chats = new String[questions.length];
            for (int k = 0; k < questions.length; k++)
                chats[k] = "[" + system + ",{\"role\":\"user\",\"content\":" + Json.write(questions[k]) + "}]";
            // Where the first two prompts part (at the user's first word), and the start of that line: where every
            // conversation after this system prompt goes on from.
            int opening = lineWherePromptsPart(
                    promptPieces(plain, "\"messages\":" + chats[0]), promptPieces(plain, "\"messages\":" + chats[1]));
            assertThat(opening).isGreaterThan(30);

            for (int k = 0; k < questions.length; k++) {
                ChatCompletion answer = chatTurn(cached, chats[k]);
                assertThat(said(answer)).as("conversation %d", k).isEqualTo(said(chatTurn(plain, chats[k])));
                var details = answer.usage().promptTokensDetails();
                assertThat(details == null ? 0 : details.cachedTokens())
                        .as("cached prompt tokens of conversation %d", k)
                        .isEqualTo(k < 2 ? 0 : opening);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void qwen35TextsThatShareALongStartReadItOnceWithAPromptCacheThoughTheirQuestionsShareAWord() throws Exception {
        // Legacy completions have no chat markup: the start is kept back at the line where the first two part, so a
        // third question that does not begin with their shared word ("Which") finds it too.
        Path model = qwen35Chat();
        String system = "A patient guide to the hills and valleys of the north answers briefly and kindly, in plain"
                + " words, and never makes up a path.\nQuestion: ";
        String[] questions = {
            "Which path goes up the hill?",
            "Which bird sings at dawn?",
            "Where does the river bend?",
            "Can we camp here?"
        };
        try (Served cached = Served.of(model, "qwen35", 256, 8);
                Served plain = Served.of(model, "qwen35", 256)) {
            String[] texts = new String[questions.length];
            for (int k = 0; k < questions.length; k++) texts[k] = Json.write(system + questions[k] + "\nAnswer:");
            int line = lineWherePromptsPart(
                    promptPieces(plain, "\"add_special\":true,\"content\":" + texts[0]),
                    promptPieces(plain, "\"add_special\":true,\"content\":" + texts[1]));
            assertThat(line).isGreaterThan(16);
            for (int k = 0; k < questions.length; k++) {
                TextCompletion answer = complete(cached, Architecture.QWEN35, texts[k], "");
                assertThat(answer.text())
                        .as("text %d", k)
                        .isEqualTo(complete(plain, Architecture.QWEN35, texts[k], "")
                                .text());
                var details = answer.usage().promptTokensDetails();
                assertThat(details == null ? 0 : details.cachedTokens())
                        .as("cached prompt tokens of text %d", k)
                        .isEqualTo(k < 2 ? 0 : line);
            }
        }
    }

    /** The tokens, with their text, of a prompt ({@code fields} of a tokenize request: a text or messages). */
    private static com.fasterxml.jackson.databind.JsonNode promptPieces(Served served, String fields) throws Exception {
        var response =
                served.loopback().post("/tokenize", "{\"model\":\"qwen35\",\"with_pieces\":true," + fields + "}");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.mapper().readTree(response.body()).get("tokens");
    }

    /**
     * Where the line the two prompts part in starts: just after the last token before they part that ends a line or
     * is chat markup ({@code <|im_start|>}).
     */
    private static int lineWherePromptsPart(
            com.fasterxml.jackson.databind.JsonNode one, com.fasterxml.jackson.databind.JsonNode other) {
        int parted = 0;
        while (one.get(parted).get("id").asInt() == other.get(parted).get("id").asInt()) parted++;
        int line = parted;
        while (line > 0) {
            String piece = one.get(line - 1).get("piece").asText();
            if (piece.endsWith("\n") || piece.equals("<|im_start|>")) break;
            line--;
        }
        return line;
    }

    /** A random-weight Qwen 3.5 with Qwen's vocabulary and Qwen 3.5's own chat template, written once. */
    private static synchronized Path qwen35Chat() {
        Path model = dir.resolve("qwen35-chat.gguf");
        if (java.nio.file.Files.exists(model)) return model;
        return GgufWriter.qwen35()
                .layers(4)
                .heads(4)
                .kvHeads(2)
                .dim(64)
                .ffnDim(128)
                .contextLength(4096)
                .vocabulary(Served.vocabulary("ggml-vocab-qwen2.gguf"))
                .chatTemplate(Served.template("Qwen3.5-4B.jinja"))
                .tiedOutput(true)
                .type(TensorType.Q8_0)
                .seed(17)
                .write(model);
    }

    /**
     * All an answer says: Qwen 3.5's template opens the reasoning in the prompt, so a random model's words are its
     * reasoning, and its content is empty.
     */
    private static String said(ChatCompletion answer) {
        return reasoning(answer) + "|" + answer.text();
    }

    private static String reasoning(ChatCompletion answer) {
        String reasoning = answer.choices().getFirst().message().reasoningContent();
        assertThat(reasoning).isNotEmpty();
        return reasoning;
    }

    private static ChatCompletion chatTurn(Served served, String messages) throws Exception {
        var response = served.loopback()
                .post(
                        "/v1/chat/completions",
                        "{\"model\":\"qwen35\",\"messages\":" + messages + ",\"max_tokens\":8,\"temperature\":0}");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Json.read(response.body(), ChatCompletion.class);
    }

    private static double metric(Served served, String name) throws Exception {
        return served.loopback()
                .get("/metrics")
                .body()
                .lines()
                .filter(line -> line.startsWith(name + " "))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.indexOf(' ') + 1)))
                .sum();
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void tokenizesAsTheRealTokenizerDoes(Architecture architecture) throws Exception {
        Served served = served(architecture);

        TextCompletion fromText = complete(served, architecture, "\"Hello world\"", "");
        TextCompletion fromIds = complete(served, architecture, Arrays.toString(architecture.helloWorld), "");
        TextCompletion echoed = complete(
                served, architecture, Arrays.toString(architecture.helloWorld), ",\"echo\":true,\"max_tokens\":0");

        assertThat(fromText.usage().promptTokens()).isEqualTo(architecture.helloWorld.length);
        assertThat(fromText.text()).isEqualTo(fromIds.text());
        assertThat(echoed.text()).isEqualTo("Hello world");
    }
}
