package dev.parley.tokens;

/**
 * How a chat model frames messages, in tokens: the rules of OpenAI's {@code num_tokens_from_messages}.
 *
 * @param tokensPerMessage added for every message ({@code <|start|>}, role, {@code <|message|>}, {@code <|end|>})
 * @param tokensPerName added when a message has a {@code name}; negative where the name replaces the role
 * @param replyPriming added once for the reply the model is primed with ({@code <|start|>assistant<|message|>})
 */
public record MessageRules(int tokensPerMessage, int tokensPerName, int replyPriming) {

    /** gpt-3.5-turbo-0613 and every chat model since: 3 per message, 1 per name, 3 for the reply. */
    public static final MessageRules STANDARD = new MessageRules(3, 1, 3);

    /** gpt-3.5-turbo-0301: {@code <|start|>{role/name}\n{content}<|end|>\n}; a name replaces the role. */
    public static final MessageRules CHATML_0301 = new MessageRules(4, -1, 3);
}
