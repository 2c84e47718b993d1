package dev.parley.testkit;

/**
 * The tokenizer half of a written model: {@link SpmVocabulary}, made up on the spot, or {@link GgufVocabulary},
 * taken from a real model's GGUF.
 */
sealed interface Vocabulary permits SpmVocabulary, GgufVocabulary {
    String CHAT_TEMPLATE = "tokenizer.chat_template";

    // llama_token_type values
    int NORMAL = 1;
    int UNKNOWN_TYPE = 2;
    int CONTROL = 3;
    int BYTE = 6;

    int size();

    /** The llama_token_type of {@code token}: {@link #NORMAL} for a piece of text. */
    int tokenType(int token);

    /** {@code tokenizer.ggml.eos_token_id}, or -1 when there is none. */
    int eos();

    boolean hasChatTemplate();

    /** Writes every {@code tokenizer.*} key/value; the chat template only when {@code withChatTemplate}. */
    void writeTo(GgufFile gguf, boolean withChatTemplate);
}
