package dev.parley.server.engine;

/**
 * A request its engine has checked and tokenized but not started: what it will cost is known before it
 * runs, so limits can be applied in between. Start it at most once.
 */
public interface Prepared {

    /** Tokens of the prompt, exactly as the model's tokenizer counts them; the generation reports the same. */
    int promptTokens();

    /**
     * The most completion tokens all its choices together may generate: {@code max_tokens} (or
     * {@code max_completion_tokens}) × choices, or, when neither is given, what fits in the context.
     * A {@code long}: a cap of {@link Integer#MAX_VALUE} times 128 choices does not fit in an int.
     */
    long completionCap();

    /** Starts generating. The caller closes the generation. */
    Generation start();
}
