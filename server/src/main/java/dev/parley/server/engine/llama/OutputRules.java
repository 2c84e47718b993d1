package dev.parley.server.engine.llama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.server.engine.tools.ToolCallParser;
import dev.parley.server.engine.tools.ToolSyntax;
import java.util.Map;

/**
 * What shapes one choice's answer beyond sampling: a grammar its tokens must follow from the first ({@code
 * response_format}, a required tool call), or one that applies once the model starts a tool call ({@code
 * tool_choice: auto}); the syntax its tool calls are read out of its text in, or null when it has no tools; and
 * the callable functions' parameters schemas by name.
 * Grammars are GBNF text with start rule {@code root}.
 */
record OutputRules(
        String grammar,
        String grammarAfterTrigger,
        ToolSyntax tools,
        boolean toolsRequired,
        Map<String, JsonNode> parameters) {
    static final OutputRules NONE = new OutputRules(null, null, null, false, Map.of());

    static OutputRules grammar(String gbnf) {
        return new OutputRules(gbnf, null, null, false, Map.of());
    }

    /** A new parser for one choice's text, or null without tools. */
    ToolCallParser parser() {
        return tools == null ? null : new ToolCallParser(tools, toolsRequired || grammar != null, parameters);
    }
}
