package dev.parley.client;

import dev.parley.api.ChatCompletion;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ToolCall;
import dev.parley.api.Usage;
import dev.parley.tokens.ChatPrompt;
import dev.parley.tokens.TokenCounter;

/**
 * Usage counted locally with {@code dev.parley.tokens}. The prompt count follows OpenAI's billing rules
 * (messages, names, tools, functions); the completion count is the tokens of each choice's text and tool
 * calls, which is what the API reports for plain answers and an estimate for tool calls.
 */
enum TiktokenUsage implements UsageCounter {
    INSTANCE;

    @Override
    public Usage count(ChatCompletionRequest request, ChatCompletion answer) {
        TokenCounter counter = TokenCounter.forModel(request.model());
        int completion = 0;
        for (ChatCompletion.Choice choice : answer.choices()) {
            completion += counter.count(choice.message().text());
            if (choice.message().toolCalls() != null) {
                for (ToolCall call : choice.message().toolCalls()) {
                    if (call.function() == null) continue;
                    completion += counter.count(nullToEmpty(call.function().name()))
                            + counter.count(nullToEmpty(call.function().arguments()));
                }
            }
        }
        return Usage.of(counter.count(ChatPrompt.of(request)), completion);
    }

    private static String nullToEmpty(String text) {
        return text == null ? "" : text;
    }
}
