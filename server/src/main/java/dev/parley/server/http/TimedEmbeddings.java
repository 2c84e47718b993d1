package dev.parley.server.http;

import dev.parley.api.EmbeddingList;
import dev.parley.server.engine.Embeddings;

/** A {@link TimedGeneration} of embeddings: the same timing and the same cut, read as embeddings are read. */
final class TimedEmbeddings extends TimedGeneration implements Embeddings {
    private final Embeddings embeddings;

    TimedEmbeddings(Embeddings embeddings, Exchange exchange) {
        super(embeddings, exchange);
        this.embeddings = embeddings;
    }

    @Override
    public EmbeddingList result() throws InterruptedException {
        EmbeddingList result = read(embeddings::result);
        exchange().firstToken();
        return result;
    }
}
