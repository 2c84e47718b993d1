package dev.parley.server.engine.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.server.engine.reasoning.ReasoningParser;
import dev.parley.server.engine.reasoning.ReasoningSyntax;
import dev.parley.server.engine.tools.ToolCallParser;
import dev.parley.server.engine.tools.ToolSyntax;
import java.util.Map;

/**
 * What shapes one choice's answer beyond sampling: a grammar its tokens must follow from the first ({@code
 * response_format}, a required tool call), or one that applies once the model starts a tool call ({@code
 * tool_choice: auto}); the syntax its tool calls are read out of its text in, or null when it has no tools; and
 * the callable functions' parameters schemas by name; and the syntax that sets the answer's reasoning apart (null for
 * none) with the prompt's last characters, which may open the reasoning already.
 * Grammars are GBNF text with start rule {@code root}.
 */
record OutputRules(
        String grammar,
        String grammarAfterTrigger,
        ToolSyntax tools,
        boolean toolsRequired,
        Map<String, JsonNode> parameters,
        ReasoningSyntax reasoning,
        String promptEnd) {
    static final OutputRules NONE = new OutputRules(null, null, null, false, Map.of());

    static OutputRules grammar(String gbnf) {
        return new OutputRules(gbnf, null, null, false, Map.of());
    }

    OutputRules(
            String grammar,
            String grammarAfterTrigger,
            ToolSyntax tools,
            boolean toolsRequired,
            Map<String, JsonNode> parameters) {
        this(grammar, grammarAfterTrigger, tools, toolsRequired, parameters, null, "");
    }

    /**
     * These rules with the model's reasoning syntax ({@code reasoning}, null for none) after a prompt ending with
     * {@code promptEnd}; none when a grammar holds the answer from its first token (a required tool call, a response
     * format): it leaves no room for reasoning.
     */
    OutputRules withReasoning(ReasoningSyntax reasoning, String promptEnd) {
        ReasoningSyntax kept = grammar != null ? null : reasoning;
        return new OutputRules(grammar, grammarAfterTrigger, tools, toolsRequired, parameters, kept, promptEnd);
    }

    /** A new reasoning parser for one choice's text, or null when the model has no reasoning syntax. */
    ReasoningParser reasoningParser() {
        return reasoning == null ? null : reasoning.parser(promptEnd);
    }

    /** Whether the answer's text must show special tokens: tool syntaxes and some reasoning syntaxes use them. */
    boolean specialText() {
        return tools != null || reasoning != null && reasoning.special();
    }

    /** A new parser for one choice's text, or null without tools. */
    ToolCallParser parser() {
        return tools == null ? null : new ToolCallParser(tools, toolsRequired || grammar != null, parameters);
    }
}
