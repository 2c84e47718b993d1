package dev.parley.server.engine;

import dev.parley.api.Usage;

/**
 * One running request: every choice's events, in order, until each choice has finished.
 *
 * <p>Used by one thread. {@link #close} cancels what is still running and frees its resources; it is
 * idempotent and never throws, so a reply that fails to write can always close it.
 */
public interface Generation extends AutoCloseable {

    /** The model that answers, as it should be named in the response. */
    String model();

    /** Tokens of the prompt, as the model's own tokenizer counts them (all prompts of a legacy request). */
    int promptTokens();

    /**
     * Tokens generated so far, all choices together; once every choice has finished, the sum of their
     * {@link GenerationEvent.Finished#completionTokens}. Read by any thread, e.g. after a cut-off stream.
     */
    int completionTokens();

    /**
     * The {@code usage} object to answer with once every choice has finished: both counts, and whatever details
     * the engine knows (the local engine: the prompt tokens it found in its cache).
     */
    default Usage usage() {
        return Usage.of(promptTokens(), completionTokens());
    }

    /** How many choices this generation produces; each ends with one {@link GenerationEvent.Finished}. */
    int choices();

    /**
     * Blocks until the next event; null once every choice has finished.
     *
     * @throws dev.parley.api.ApiException when the engine fails mid-way
     * @throws InterruptedException when the waiting thread is interrupted
     */
    GenerationEvent next() throws InterruptedException;

    @Override
    void close();
}
