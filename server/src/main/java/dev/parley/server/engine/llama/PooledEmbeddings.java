package dev.parley.server.engine.llama;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.EmbeddingList;
import dev.parley.api.EmbeddingRequest;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Json;
import dev.parley.api.Prompt;
import dev.parley.api.check.RequestReader;
import dev.parley.server.engine.Embeddings;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.Prepared;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code /v1/embeddings} requests of one model: each is checked against OpenAI's rules and this model's limits
 * (its vocabulary, the longest input its {@link Embedder} takes, OpenAI's 300,000 tokens per request, the vectors'
 * one length) and tokenized, all before anything is queued; its vectors are computed once it is {@link
 * Prepared#start started}. Text is tokenized as text, with the BOS/EOS (or CLS/SEP) the vocabulary adds; token ids
 * are taken as they are.
 *
 * <p>Thread-safe.
 */
final class PooledEmbeddings {
    /** OpenAI's cap on the tokens of all inputs of one embeddings request together. */
    static final int MAX_TOKENS_PER_REQUEST = 300_000;

    private final String modelId;
    private final LlamaModel model;
    private final PromptTokenizer tokenizer;
    private final Embedder embedder;

    PooledEmbeddings(String modelId, LlamaModel model, PromptTokenizer tokenizer, Embedder embedder) {
        this.modelId = modelId;
        this.model = model;
        this.tokenizer = tokenizer;
        this.embedder = embedder;
    }

    /**
     * A checked, tokenized request for the body of {@code /v1/embeddings}; the key's budget is charged its input
     * tokens.
     *
     * @throws InvalidRequestException naming the parameter at fault
     */
    Prepared prepare(ObjectNode body) {
        EmbeddingRequest request = RequestReader.embeddings(Json.bytes(body));
        if (body.path("stream").asBoolean(false)) {
            throw InvalidRequestException.of(
                    "stream", "invalid_value", "Invalid value for 'stream': embeddings are not streamed.");
        }
        if (request.dimensions() != null && request.dimensions() != embedder.dimensions()) {
            throw InvalidRequestException.of(
                    "dimensions",
                    "invalid_value",
                    "This model does not support specifying dimensions: its vectors have %d (ask for %d, or leave 'dimensions' out)."
                            .formatted(embedder.dimensions(), embedder.dimensions()));
        }
        List<int[]> inputs = inputs(request.input());
        long total = inputs.stream().mapToLong(input -> input.length).sum();
        if (total > MAX_TOKENS_PER_REQUEST) {
            throw InvalidRequestException.of(
                    "input",
                    "max_tokens_per_request",
                    "Requested %d tokens, max %d tokens per request".formatted(total, MAX_TOKENS_PER_REQUEST));
        }
        boolean base64 = request.base64();
        return new Prepared() {
            @Override
            public int promptTokens() {
                return (int) total;
            }

            @Override
            public long completionCap() {
                return 0;
            }

            @Override
            public Generation start() {
                return new LocalEmbeddings(modelId, (int) total, embedder.submit(inputs), base64);
            }
        };
    }

    /** Each input's token ids, checked against the vocabulary and the longest input the embedder takes. */
    private List<int[]> inputs(Prompt input) {
        int limit = embedder.inputLimit();
        List<int[]> inputs = new ArrayList<>();
        switch (input) {
            case Prompt.Texts(var texts) -> {
                for (int i = 0; i < texts.size(); i++) {
                    int[] ids = switch (tokenizer.text(texts.get(i), limit)) {
                        case PromptTokenizer.Tokens.Ids(var tokens) -> tokens;
                        case PromptTokenizer.Tokens.AtLeast(var least) -> throw inputTooLong(i, "at least " + least);
                    };
                    if (ids.length == 0) {
                        throw InvalidRequestException.of(
                                "input[" + i + "]",
                                "invalid_value",
                                "Invalid 'input[%d]': the text gives no tokens for this model.".formatted(i));
                    }
                    inputs.add(ids);
                }
            }
            case Prompt.Tokens(var lists) -> {
                for (int i = 0; i < lists.size(); i++) {
                    for (int id : lists.get(i)) {
                        if (id >= model.vocabSize()) {
                            throw InvalidRequestException.of(
                                    "input[" + i + "]",
                                    "invalid_value",
                                    "Invalid token id %d in 'input[%d]': the model's vocabulary has %d tokens."
                                            .formatted(id, i, model.vocabSize()));
                        }
                    }
                    inputs.add(lists.get(i).stream().mapToInt(Integer::intValue).toArray());
                }
            }
        }
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).length > limit) throw inputTooLong(i, Integer.toString(inputs.get(i).length));
        }
        return inputs;
    }

    /** 400 {@code context_length_exceeded} in the words OpenAI's embeddings use, naming the input too long. */
    private InvalidRequestException inputTooLong(int index, String tokens) {
        return InvalidRequestException.of(
                "input",
                "context_length_exceeded",
                "This model's maximum context length is %d tokens, however you requested %s tokens (%s in your prompt; 0 for the completion). Please reduce your prompt; or completion length. The input too long is input[%d]."
                        .formatted(embedder.inputLimit(), tokens, tokens, index));
    }

    /** One request's vectors, computed by the embedder; closing it gives up the inputs not yet decoded. */
    private record LocalEmbeddings(String model, int promptTokens, Embedder.Job job, boolean base64)
            implements Embeddings {
        @Override
        public EmbeddingList result() throws InterruptedException {
            return EmbeddingList.of(model, job.await(), promptTokens, base64);
        }

        @Override
        public void close() {
            job.cancel();
        }
    }
}
