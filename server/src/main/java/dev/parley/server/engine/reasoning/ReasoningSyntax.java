package dev.parley.server.engine.reasoning;

import java.util.List;

/**
 * How a family of models writes its reasoning apart from its answer, read from its chat template: the answer's
 * {@code reasoning_content} is that part of the text, and its {@code content} the rest.
 */
public sealed interface ReasoningSyntax {

    /**
     * Reasoning between two tags, before the answer: {@code <think>…</think>} (Qwen3, Qwen 3.5, QwQ, DeepSeek R1 and
     * V3.1 on, GLM 4.5 on, MiniMax M2, Kimi K2 Thinking, SmolLM3, Nemotron, LFM2.5, …), {@code
     * <seed:think>…</seed:think>} (Seed-OSS), {@code [THINK]…[/THINK]} (Magistral, Ministral 3 Reasoning), {@code
     * <|START_THINKING|>…<|END_THINKING|>} (Command R7B, Command A), {@code <|open|>think<|sep|>…<|close|>think<|sep|>}
     * (Kimi K3), {@code <mm:think>…</mm:think>} (MiniMax M3), {@code <|channel>thought\n…<channel|>} (Gemma 4), {@code
     * <|inner_prefix|>…<|inner_suffix|>} (Apertus), {@code Here are my reasoning steps:…[BEGIN FINAL RESPONSE]}
     * (Apriel 1.6). Templates that think by default often open the tag in the prompt already; the answer then starts
     * inside it.
     *
     * @param answer the markup around the answer itself, left out of it ({@code <|START_RESPONSE|>} and {@code
     *     <|END_RESPONSE|>} for Command R7B); empty for none
     */
    record Tags(String open, String close, List<String> answer) implements ReasoningSyntax {
        public Tags(String open, String close) {
            this(open, close, List.of());
        }

        @Override
        public ReasoningParser parser(String promptEnd) {
            return new TagParser(open, close, answer, promptEnd.stripTrailing().endsWith(open));
        }
    }

    /**
     * gpt-oss's channels: {@code <|channel|>analysis<|message|>…<|end|>} is reasoning, the {@code final} channel (and
     * {@code commentary}) the answer, each message's header markup left out. Made of special tokens, so the model's
     * text must show them ({@link #special}).
     */
    record Channels() implements ReasoningSyntax {
        @Override
        public ReasoningParser parser(String promptEnd) {
            return new ChannelParser();
        }
    }

    /** The syntax a chat template's source sets reasoning apart in; null for none (or no template). */
    static ReasoningSyntax of(String template) {
        if (template == null) return null;
        if (template.contains("<|channel|>") && template.contains("analysis")) return new Channels();
        if (template.contains("<seed:think>")) return new Tags("<seed:think>", "</seed:think>");
        // Apriel 1.6: its prompt opens the reasoning in words; a marker starts the answer.
        if (template.contains("'Here are my reasoning steps:") && template.contains("[BEGIN FINAL RESPONSE]"))
            return new Tags("Here are my reasoning steps:", "[BEGIN FINAL RESPONSE]", List.of("[END FINAL RESPONSE]"));
        // Apertus: its inner monologue, '<|inner_prefix|>…<|inner_suffix|>'.
        if (template.contains("'<|inner_prefix|>'")) return new Tags("<|inner_prefix|>", "<|inner_suffix|>");
        // Gemma 4: a thought channel, '<|channel>thought\n…<channel|>' (not gpt-oss's '<|channel|>').
        if (template.contains("'<|channel>thought")) return new Tags("<|channel>thought", "<channel|>");
        // MiniMax M3 starts an answer without thinking with the closing tag.
        if (template.contains("<mm:think>")) return new Tags("<mm:think>", "</mm:think>", List.of("</mm:think>"));
        if (template.contains("[THINK]") && template.contains("[/THINK]")) return new Tags("[THINK]", "[/THINK]");
        // Kimi K3's XTML: '<|open|>' + tag + '<|sep|>' … '<|close|>' + tag + '<|sep|>', the answer in a response tag.
        if (template.contains("'<|open|>'") && template.contains("open_tag('think')"))
            return new Tags(
                    "<|open|>think<|sep|>",
                    "<|close|>think<|sep|>",
                    List.of("<|open|>response<|sep|>", "<|close|>response<|sep|>", "<|close|>message<|sep|>"));
        // Cohere's answer is itself marked: <|START_RESPONSE|>…<|END_RESPONSE|> (R7B) or <|START_TEXT|>… (Command A).
        if (template.contains("<|START_THINKING|>"))
            return new Tags(
                    "<|START_THINKING|>",
                    "<|END_THINKING|>",
                    template.contains("<|START_RESPONSE|>")
                            ? List.of("<|START_RESPONSE|>", "<|END_RESPONSE|>")
                            : List.of("<|START_TEXT|>", "<|END_TEXT|>"));
        if (template.contains("</think>")) return new Tags("<think>", "</think>");
        return null;
    }

    /** Whether the model's text must show special tokens, which this syntax's markup is made of. */
    default boolean special() {
        return this instanceof Channels
                || this instanceof Tags tags && tags.open().startsWith("<|");
    }

    /**
     * A parser for one answer, written after a prompt that ends with {@code promptEnd} (its last characters, special
     * tokens included): a prompt that opens the reasoning already has the answer start inside it.
     */
    ReasoningParser parser(String promptEnd);
}
