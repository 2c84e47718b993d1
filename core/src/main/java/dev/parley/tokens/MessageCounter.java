package dev.parley.tokens;

import dev.parley.api.ChatMessage;
import dev.parley.api.Content;
import dev.parley.api.ContentPart;
import dev.parley.api.FunctionCall;
import dev.parley.api.FunctionDefinition;
import dev.parley.api.Tool;
import dev.parley.api.ToolCall;
import java.util.ArrayList;
import java.util.List;

/** {@link TokenCounter} for one encoding and one set of message rules. */
record MessageCounter(Encoding encoding, MessageRules rules) implements TokenCounter {

    // Measured against OpenAI's prompt_tokens by openai-chat-tokens (gpt-3.5-turbo) and matching the
    // cookbook's tool example for gpt-4 and gpt-4o: the definitions block costs 9 beyond its text, 4 of which
    // it shares with a system message when there is one.
    private static final int DEFINITIONS_OVERHEAD = 9;
    private static final int SHARED_WITH_SYSTEM_MESSAGE = 4;
    // A function_call in an assistant message costs 3 beyond its name and arguments.
    private static final int CALL_OVERHEAD = 3;
    // A message from role "function" costs 2 less than the per-message tokens suggest.
    private static final int FUNCTION_ROLE_DISCOUNT = 2;

    @Override
    public int count(String text) {
        return encoding.count(text);
    }

    @Override
    public int count(List<ChatMessage> messages) {
        return count(ChatPrompt.of(messages));
    }

    @Override
    public int count(ChatPrompt prompt) {
        boolean definitions = prompt.hasDefinitions();
        int tokens = 0;
        boolean padded = false;
        for (ChatMessage message : prompt.messages()) {
            // With definitions present, OpenAI appends a newline to the first system message.
            boolean pad = definitions && !padded && ChatMessage.SYSTEM.equals(message.role());
            padded |= pad;
            tokens += message(message, pad);
        }
        tokens += rules.replyPriming();
        if (definitions) {
            tokens += encoding.count(FunctionNamespace.render(definitionsOf(prompt))) + DEFINITIONS_OVERHEAD;
            if (padded) tokens -= SHARED_WITH_SYSTEM_MESSAGE;
        }
        return tokens;
    }

    private int message(ChatMessage message, boolean padContent) {
        int tokens = rules.tokensPerMessage() + encoding.count(message.role());
        if (message.content() != null) tokens += content(message.content(), padContent);
        if (message.name() != null) tokens += encoding.count(message.name()) + rules.tokensPerName();
        if (message.functionCall() != null) tokens += call(message.functionCall());
        if (message.toolCalls() != null) {
            for (ToolCall call : message.toolCalls()) {
                if (call.function() != null) tokens += call(call.function());
            }
        }
        // Like num_tokens_from_messages, every other string of the message is counted as it is.
        if (message.toolCallId() != null) tokens += encoding.count(message.toolCallId());
        if (message.refusal() != null) tokens += encoding.count(message.refusal());
        if (ChatMessage.FUNCTION.equals(message.role())) tokens -= FUNCTION_ROLE_DISCOUNT;
        return tokens;
    }

    private int content(Content content, boolean pad) {
        String text = content.text() + (pad ? "\n" : "");
        int tokens = encoding.count(text);
        if (content instanceof Content.Parts(var parts)) {
            for (ContentPart part : parts) {
                if (part.imageUrl() != null) tokens += ImageTokens.count(part.imageUrl());
            }
        }
        return tokens;
    }

    private int call(FunctionCall call) {
        int tokens = CALL_OVERHEAD;
        if (call.name() != null) tokens += encoding.count(call.name());
        if (call.arguments() != null) tokens += encoding.count(call.arguments());
        return tokens;
    }

    private static List<FunctionDefinition> definitionsOf(ChatPrompt prompt) {
        var all = new ArrayList<FunctionDefinition>(prompt.functions());
        for (Tool tool : prompt.tools()) {
            if (tool.function() != null) all.add(tool.function());
        }
        return all;
    }
}
