package dev.parley.server.engine.reasoning;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ReasoningParserTest {
    private static final ReasoningSyntax THINK = new ReasoningSyntax.Tags("<think>", "</think>");
    private static final ReasoningSyntax CHANNELS = new ReasoningSyntax.Channels();

    /** What a parser made of a text: the reasoning and the answer, and whether each token ended inside reasoning. */
    record Split(String reasoning, String content, List<Boolean> inside) {}

    /** Feeds {@code pieces} one by one, as tokens come, then finishes. */
    static Split parse(ReasoningSyntax syntax, String promptEnd, List<String> pieces) {
        ReasoningParser parser = syntax.parser(promptEnd);
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        var sink = new ReasoningParser.Sink() {
            @Override
            public void reasoning(String text) {
                assertThat(text).isNotEmpty();
                reasoning.append(text);
            }

            @Override
            public void content(String text) {
                content.append(text);
            }
        };
        var inside = new ArrayList<Boolean>();
        for (String piece : pieces) {
            parser.append(piece, sink);
            inside.add(parser.inReasoning());
        }
        parser.finish(sink);
        return new Split(reasoning.toString(), content.toString(), inside);
    }

    /** The same text whole, one character at a time, and in pieces of three: each split the same way. */
    private static Split parseEveryWay(ReasoningSyntax syntax, String promptEnd, String text) {
        Split whole = parse(syntax, promptEnd, List.of(text));
        List<String> chars = text.codePoints().mapToObj(Character::toString).toList();
        List<String> threes = new ArrayList<>();
        for (int i = 0; i < text.length(); i += 3) threes.add(text.substring(i, Math.min(text.length(), i + 3)));
        for (Split other : List.of(parse(syntax, promptEnd, chars), parse(syntax, promptEnd, threes))) {
            assertThat(other.reasoning()).isEqualTo(whole.reasoning());
            assertThat(other.content()).isEqualTo(whole.content());
        }
        return whole;
    }

    @Test
    void tagsSetTheReasoningApartFromTheAnswer() {
        String[][] cases = {
            // text, reasoning, answer
            {"<think>\nAdd them.\n</think>\n\nFour.", "Add them.", "Four."},
            {"<think>Add them.</think>Four.", "Add them.", "Four."},
            {"  \n<think> Add\n\nthem. </think>  Four.  ", "Add\n\nthem.", "Four.  "},
            {"<think></think>\n\nFour.", "", "Four."},
            // Cut off while thinking: all of it is reasoning, nothing the answer.
            {"<think>\nAdd them, then", "Add them, then", ""},
            {"<think>\nAdd them </th", "Add them </th", ""},
            // No reasoning: the answer as written, white space and all; a tag later on is the answer's.
            {"\nFour.", "", "\nFour."},
            {"Four. <think>no</think>", "", "Four. <think>no</think>"},
            {"<thinking>Four.", "", "<thinking>Four."},
            {"<b>Four</b>", "", "<b>Four</b>"},
            {"<th", "", "<th"},
        };
        for (String[] c : cases) {
            Split split = parseEveryWay(THINK, "<|im_start|>assistant\n", c[0]);
            assertThat(split.reasoning()).as(c[0]).isEqualTo(c[1]);
            assertThat(split.content()).as(c[0]).isEqualTo(c[2]);
        }
    }

    @Test
    void aPromptThatOpensTheReasoningHasTheAnswerStartInsideIt() {
        // Qwen 3.5, DeepSeek R1: the generation prompt ends with "<think>\n".
        Split split = parseEveryWay(THINK, "<|im_start|>assistant\n<think>\n", "Add them.\n</think>\n\nFour.");
        assertThat(split.reasoning()).isEqualTo("Add them.");
        assertThat(split.content()).isEqualTo("Four.");
        // Thinking turned off in the prompt ("<think>\n\n</think>\n\n"): what follows is the answer.
        Split off = parseEveryWay(THINK, "<think>\n\n</think>\n\n", "Four.");
        assertThat(off.reasoning()).isEmpty();
        assertThat(off.content()).isEqualTo("Four.");
    }

    @Test
    void tokensCountAsReasoningUntilTheReasoningEnds() {
        Split split = parse(THINK, "", List.of("<", "think", ">\n", "Add", ".", "</", "think", ">\n\n", "Four", "."));
        assertThat(split.inside()).containsExactly(false, false, true, true, true, true, true, false, false, false);
        assertThat(split.reasoning()).isEqualTo("Add.");
        assertThat(split.content()).isEqualTo("Four.");
    }

    @Test
    void otherTagsWork() {
        var seed = new ReasoningSyntax.Tags("<seed:think>", "</seed:think>");
        Split split = parseEveryWay(seed, "", "<seed:think>Add.</seed:think>Four.");
        assertThat(split.reasoning()).isEqualTo("Add.");
        assertThat(split.content()).isEqualTo("Four.");
        var mistral = new ReasoningSyntax.Tags("[THINK]", "[/THINK]");
        split = parseEveryWay(mistral, "", "[THINK]Add.[/THINK]Four.");
        assertThat(split.reasoning()).isEqualTo("Add.");
        assertThat(split.content()).isEqualTo("Four.");
    }

    @Test
    void cohereThinksBetweenSpecialTagsAndMarksItsAnswer() {
        var r7b = ReasoningSyntax.of(template("CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja"));
        assertThat(r7b.special()).isTrue();
        Split split = parseEveryWay(
                r7b,
                "<|CHATBOT_TOKEN|>",
                "<|START_THINKING|>Add.<|END_THINKING|><|START_RESPONSE|>Four.<|END_RESPONSE|>");
        assertThat(split.reasoning()).isEqualTo("Add.");
        assertThat(split.content()).isEqualTo("Four.");
        // Thinking turned off in the prompt; an answer cut short inside its closing markup keeps its text.
        split = parseEveryWay(
                r7b, "<|START_THINKING|><|END_THINKING|>", "<|START_RESPONSE|>Four <b>five</b><|END_RESPO");
        assertThat(split.reasoning()).isEmpty();
        assertThat(split.content()).isEqualTo("Four <b>five</b><|END_RESPO");
        // Command A opens the thinking in the prompt and marks its answer as text.
        var commandA = ReasoningSyntax.of(template("Cohere2MoE.jinja"));
        split = parseEveryWay(commandA, "<|START_THINKING|>", "Plan.<|END_THINKING|><|START_TEXT|>Done.<|END_TEXT|>");
        assertThat(split.reasoning()).isEqualTo("Plan.");
        assertThat(split.content()).isEqualTo("Done.");
        // Calls after the thinking go on to the tool call parser, as they are.
        split = parseEveryWay(r7b, "", "<|START_THINKING|>Call.<|END_THINKING|><|START_ACTION|>[]<|END_ACTION|>");
        assertThat(split.content()).isEqualTo("<|START_ACTION|>[]<|END_ACTION|>");
    }

    @Test
    void apriel16ReasonsAfterItsPromptAndMarksItsAnswer() {
        var apriel = ReasoningSyntax.of(template("Apriel-1.6-15b-Thinker-fixed.jinja"));
        Split split = parseEveryWay(
                apriel,
                "\n<|begin_assistant|>\nHere are my reasoning steps:\n",
                "2 and 2 make 4.\n[BEGIN FINAL RESPONSE]\nFour.\n[END FINAL RESPONSE]");
        assertThat(split.reasoning()).isEqualTo("2 and 2 make 4.");
        assertThat(split.content()).isEqualTo("Four.\n");
    }

    @Test
    void gemma4ThinksInAThoughtChannel() {
        var gemma = ReasoningSyntax.of(template("google-gemma-4-31B-it.jinja"));
        assertThat(gemma.special()).isTrue();
        Split split = parseEveryWay(gemma, "<|turn>model\n", "<|channel>thought\nAdd.\n<channel|>Four.");
        assertThat(split.reasoning()).isEqualTo("Add.");
        assertThat(split.content()).isEqualTo("Four.");
        // Thinking off: the prompt holds an empty thought already.
        split = parseEveryWay(gemma, "<|turn>model\n<|channel>thought\n<channel|>", "Four.");
        assertThat(split.reasoning()).isEmpty();
        assertThat(split.content()).isEqualTo("Four.");
    }

    @Test
    void miniMaxM3MayStartItsAnswerWithTheClosingTag() {
        var m3 = ReasoningSyntax.of(template("MiniMax-M3.jinja"));
        Split thought = parseEveryWay(m3, "]~b]ai\n", "<mm:think>Add.</mm:think>Four.");
        assertThat(thought.reasoning()).isEqualTo("Add.");
        assertThat(thought.content()).isEqualTo("Four.");
        Split direct = parseEveryWay(m3, "]~b]ai\n", "</mm:think>Four.");
        assertThat(direct.reasoning()).isEmpty();
        assertThat(direct.content()).isEqualTo("Four.");
    }

    @Test
    void kimiK3ThinksAndAnswersInXtmlTags() {
        var k3 = ReasoningSyntax.of(template("Kimi-K3.jinja"));
        Split split = parseEveryWay(
                k3,
                "<|open|>message role=\"assistant\"<|sep|><|open|>think<|sep|>",
                "Add.<|close|>think<|sep|><|open|>response<|sep|>Four.<|close|>response<|sep|><|close|>message<|sep|>");
        assertThat(split.reasoning()).isEqualTo("Add.");
        assertThat(split.content()).isEqualTo("Four.");
        split = parseEveryWay(k3, "<|open|>response<|sep|>", "Four.<|close|>response<|sep|><|open|>tools<|sep|>");
        assertThat(split.reasoning()).isEmpty();
        assertThat(split.content()).isEqualTo("Four.<|open|>tools<|sep|>");
    }

    @Test
    void channelsSetTheAnalysisApartFromTheFinalAnswer() {
        String text = "<|channel|>analysis<|message|>User asks 2+2. Answer 4.<|end|>"
                + "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.";
        Split split = parseEveryWay(CHANNELS, "<|start|>assistant", text);
        assertThat(split.reasoning()).isEqualTo("User asks 2+2. Answer 4.");
        assertThat(split.content()).isEqualTo("2 + 2 = 4.");
        // A final answer with no analysis, and a commentary channel (a preamble): both the answer.
        assertThat(parseEveryWay(CHANNELS, "", "<|channel|>final<|message|>Hi!").content())
                .isEqualTo("Hi!");
        Split commentary = parseEveryWay(
                CHANNELS,
                "",
                "<|channel|>commentary<|message|>Checking.<|end|><|start|>assistant<|channel|>final"
                        + "<|message|>Done.");
        assertThat(commentary.reasoning()).isEmpty();
        assertThat(commentary.content()).isEqualTo("Checking.Done.");
    }

    @Test
    void aMessageToAToolGoesOnAsAnswerTextFromItsRecipient() {
        // After its analysis, gpt-oss calls a tool: the call is for the tool call parser to read.
        String text = "<|channel|>analysis<|message|>Need weather.<|end|>"
                + "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{\"city\": \"Paris\"}";
        Split split = parseEveryWay(CHANNELS, "<|start|>assistant", text);
        assertThat(split.reasoning()).isEqualTo("Need weather.");
        assertThat(split.content())
                .isEqualTo("to=functions.get_weather<|channel|>commentary json<|message|>{\"city\": \"Paris\"}");
        // Right away, as the template writes a call after the prompt's "<|start|>assistant".
        assertThat(parseEveryWay(CHANNELS, "", " to=functions.now<|channel|>commentary json<|message|>{}")
                        .content())
                .isEqualTo(" to=functions.now<|channel|>commentary json<|message|>{}");
    }

    @Test
    void channelTextCutOffOrWithoutChannelsIsKept() {
        Split cut = parseEveryWay(CHANNELS, "", "<|channel|>analysis<|message|>User asks <|en");
        assertThat(cut.reasoning()).isEqualTo("User asks <|en");
        assertThat(cut.content()).isEmpty();
        Split inHeader = parseEveryWay(CHANNELS, "", "<|channel|>analysis<|message|>Think.<|end|><|start|>assist");
        assertThat(inHeader.reasoning()).isEqualTo("Think.");
        assertThat(inHeader.content()).isEmpty();
        Split plain = parseEveryWay(CHANNELS, "", "Just words <|channel|> here.");
        assertThat(plain.reasoning()).isEmpty();
        assertThat(plain.content()).isEqualTo("Just words <|channel|> here.");
        String noMessage = "<|channel|>" + "x".repeat(600);
        assertThat(parseEveryWay(CHANNELS, "", noMessage).content()).isEqualTo(noMessage);
    }

    @ParameterizedTest
    @CsvSource({
        "Qwen-Qwen3-0.6B.jinja, <think>",
        "Qwen3.5-4B.jinja, <think>",
        "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja, <think>",
        "GLM-4.6.jinja, <think>",
        "MiniMax-M2.jinja, <think>",
        "ByteDance-Seed-OSS.jinja, <seed:think>",
        "mistralai-Ministral-3-14B-Reasoning-2512.jinja, [THINK]",
        "openai-gpt-oss-120b.jinja, channels",
        "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja, <|START_THINKING|>",
        "Cohere2MoE.jinja, <|START_THINKING|>",
        "Kimi-K3.jinja, <|open|>think<|sep|>",
        "MiniMax-M3.jinja, <mm:think>",
        "Apertus-8B-Instruct.jinja, <|inner_prefix|>",
        "Apriel-1.6-15b-Thinker-fixed.jinja, Here are my reasoning steps:",
        "google-gemma-4-31B-it.jinja, <|channel>thought",
        "google-gemma-4-31B-it-interleaved.jinja, <|channel>thought",
        "meta-llama-Llama-3.1-8B-Instruct.jinja, none",
        "Qwen-Qwen2.5-7B-Instruct.jinja, none",
        "google-gemma-2-2b-it.jinja, none",
    })
    void theSyntaxIsReadFromTheTemplate(String file, String expected) {
        ReasoningSyntax syntax = ReasoningSyntax.of(template(file));
        String found = switch (syntax) {
            case null -> "none";
            case ReasoningSyntax.Tags tags -> tags.open();
            case ReasoningSyntax.Channels channels -> "channels";
        };
        assertThat(found).isEqualTo(expected);
        assertThat(ReasoningSyntax.of(null)).isNull();
    }

    private static String template(String file) {
        try (InputStream in =
                ReasoningParserTest.class.getResourceAsStream("/dev/parley/server/engine/template/templates/" + file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
