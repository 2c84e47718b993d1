package dev.parley.server.engine.reasoning;

/**
 * How a family of models writes its reasoning apart from its answer, read from its chat template: the answer's
 * {@code reasoning_content} is that part of the text, and its {@code content} the rest.
 */
public sealed interface ReasoningSyntax {

    /**
     * Reasoning between two tags, before the answer: {@code <think>…</think>} (Qwen3, Qwen 3.5, QwQ, DeepSeek R1 and
     * V3.1 on, GLM 4.5 on, MiniMax M2, Kimi K2 Thinking, SmolLM3, Nemotron, LFM2.5, …), {@code
     * <seed:think>…</seed:think>} (Seed-OSS), {@code [THINK]…[/THINK]} (Magistral, Ministral 3 Reasoning). Templates
     * that think by default often open the tag in the prompt already; the answer then starts inside it.
     */
    record Tags(String open, String close) implements ReasoningSyntax {
        @Override
        public ReasoningParser parser(String promptEnd) {
            return new TagParser(open, close, promptEnd.stripTrailing().endsWith(open));
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
        if (template.contains("[THINK]") && template.contains("[/THINK]")) return new Tags("[THINK]", "[/THINK]");
        if (template.contains("</think>")) return new Tags("<think>", "</think>");
        return null;
    }

    /** Whether the model's text must show special tokens, which this syntax's markup is made of. */
    default boolean special() {
        return this instanceof Channels;
    }

    /**
     * A parser for one answer, written after a prompt that ends with {@code promptEnd} (its last characters, special
     * tokens included): a prompt that opens the reasoning already has the answer start inside it.
     */
    ReasoningParser parser(String promptEnd);
}
