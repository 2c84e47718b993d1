package dev.parley.server.engine;

import dev.parley.api.EmbeddingList;

/**
 * A generation whose answer is one vector per input, computed by the engine itself ({@link Engine#embed}). A
 * reply reads {@link #result}; {@link #next} is not used. {@link #close} cancels inputs not yet computed.
 */
public interface Embeddings extends Generation {
    /**
     * Blocks until every input has its vector; the whole answer, as OpenAI writes it.
     *
     * @throws dev.parley.api.ApiException when the engine fails or is shutting down
     */
    EmbeddingList result() throws InterruptedException;

    @Override
    default GenerationEvent next() throws InterruptedException {
        throw new UnsupportedOperationException("embeddings are read with result()");
    }

    @Override
    default int completionTokens() {
        return 0;
    }

    @Override
    default int choices() {
        return 0;
    }
}
