package dev.parley.tokens;

/**
 * What the catalog knows of one model.
 *
 * @param name the model's name as the catalog lists it (a dated snapshot or an alias)
 * @param encoding the name of its tiktoken encoding, for {@link Encodings#byName}
 * @param contextWindow input plus output tokens the model accepts; null when not known
 * @param maxOutputTokens the most tokens one reply may have; null when not known or not separately limited
 * @param kind what the model is used for
 * @param rules how its chat messages are counted; completion and embedding models carry
 *     {@link MessageRules#STANDARD}, which is what a chat-formatted prompt would cost
 */
public record ModelInfo(
        String name, String encoding, Integer contextWindow, Integer maxOutputTokens, Kind kind, MessageRules rules) {

    public enum Kind {
        CHAT,
        COMPLETION,
        EMBEDDING
    }

    /** The same model under another name, e.g. a fine-tune or an undated family member. */
    public ModelInfo named(String otherName) {
        return new ModelInfo(otherName, encoding, contextWindow, maxOutputTokens, kind, rules);
    }
}
