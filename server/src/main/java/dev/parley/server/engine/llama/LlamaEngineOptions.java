package dev.parley.server.engine.llama;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * How to run one GGUF model.
 *
 * @param model the GGUF file
 * @param modelId the id clients use; the file's base name when null
 * @param parallel sequences decoded together (each choice of each request takes one)
 * @param contextPerSequence positions one sequence may use, prompt and answer together; 0 takes the
 *     model's training context, capped at 4096
 * @param threads llama.cpp threads, 0 for one per physical core (fastest on an idle machine: {@code parley serve}'s
 *     default); {@link #of} takes 1, which stays steady when other work shares the cores (tests, embedders)
 * @param kvCache element type of the KV cache: F16 (the default) keeps batched and solo answers identical
 *     on this release at half F32's memory
 * @param queue sequences that may wait for a slot before requests are answered 503; since every choice of a
 *     request waits at once, also the most choices ({@code n} × prompts) one request may ask for: more is a 400
 * @param gpuLayers layers offloaded to a GPU: -1 all of them when llama.cpp found a GPU backend, 0 none
 * @param embeddings serve {@code /v1/embeddings} with the model's pooled embeddings even when it generates text
 *     (an embedding model, known by its metadata, always serves them, and only them)
 * @param cacheMb megabytes of host memory (2^20 bytes) for the KV cells of finished requests whose slot
 *     another prompt takes, so that more conversations than slots each find their history again; 0, the default,
 *     keeps none
 * @param fullWindow whether layers with a sliding window (Gemma 3, gpt-oss) keep every cell of a sequence: more KV
 *     memory, and a new conversation can take a long system prompt it shares from any slot's cells; by default
 *     they keep the window and a batch of cells, as llama-server does
 * @param chatTemplateKwargs variables for the model's chat template, a JSON object (null for none), such as {@code
 *     {"enable_thinking": false}}; a request's {@code reasoning_effort} and {@code chat_template_kwargs} set names
 *     over them
 */
public record LlamaEngineOptions(
        Path model,
        String modelId,
        int parallel,
        int contextPerSequence,
        int threads,
        KvCacheType kvCache,
        int queue,
        int gpuLayers,
        boolean embeddings,
        int cacheMb,
        boolean fullWindow,
        JsonNode chatTemplateKwargs) {

    public LlamaEngineOptions(
            Path model,
            String modelId,
            int parallel,
            int contextPerSequence,
            int threads,
            KvCacheType kvCache,
            int queue,
            int gpuLayers) {
        this(model, modelId, parallel, contextPerSequence, threads, kvCache, queue, gpuLayers, false, 0, false, null);
    }

    /** Sequences decoded together unless told otherwise ({@code parley serve}, a configuration file). */
    public static final int DEFAULT_PARALLEL = 4;

    /** Sequences that may wait for a slot unless told otherwise: OpenAI's most choices per request. */
    public static final int DEFAULT_QUEUE = 128;

    /** The most sequences llama.cpp decodes together. */
    public static final int MAX_PARALLEL = 256;

    /** The most positions one sequence may have: beyond any model's training, and × parallel fits in an int. */
    public static final int MAX_CONTEXT = 1 << 22;

    /** The most llama.cpp threads. */
    public static final int MAX_THREADS = 1024;

    public LlamaEngineOptions(
            Path model,
            String modelId,
            int parallel,
            int contextPerSequence,
            int threads,
            KvCacheType kvCache,
            int queue) {
        this(model, modelId, parallel, contextPerSequence, threads, kvCache, queue, ModelOptions.ALL_LAYERS);
    }

    public static LlamaEngineOptions of(Path model) {
        return new LlamaEngineOptions(model, null, DEFAULT_PARALLEL, 0, 1, KvCacheType.F16, DEFAULT_QUEUE);
    }

    public LlamaEngineOptions withGpuLayers(int gpuLayers) {
        return edit(options -> options.gpuLayers = gpuLayers);
    }

    public LlamaEngineOptions withModelId(String modelId) {
        return edit(options -> options.modelId = modelId);
    }

    public LlamaEngineOptions withParallel(int parallel) {
        return edit(options -> options.parallel = parallel);
    }

    public LlamaEngineOptions withContextPerSequence(int contextPerSequence) {
        return edit(options -> options.contextPerSequence = contextPerSequence);
    }

    public LlamaEngineOptions withThreads(int threads) {
        return edit(options -> options.threads = threads);
    }

    public LlamaEngineOptions withKvCache(KvCacheType kvCache) {
        return edit(options -> options.kvCache = kvCache);
    }

    public LlamaEngineOptions withQueue(int queue) {
        return edit(options -> options.queue = queue);
    }

    public LlamaEngineOptions withEmbeddings(boolean embeddings) {
        return edit(options -> options.embeddings = embeddings);
    }

    public LlamaEngineOptions withCacheMb(int cacheMb) {
        return edit(options -> options.cacheMb = cacheMb);
    }

    public LlamaEngineOptions withFullWindow(boolean fullWindow) {
        return edit(options -> options.fullWindow = fullWindow);
    }

    public LlamaEngineOptions withChatTemplateKwargs(JsonNode variables) {
        return edit(options -> options.chatTemplateKwargs = variables);
    }

    /** A copy with one thing changed: each {@code with} method is one such change. */
    private LlamaEngineOptions edit(Consumer<Editable> change) {
        Editable options = new Editable(this);
        change.accept(options);
        return options.build();
    }

    /** The components, settable, for {@link #edit}. */
    private static final class Editable {
        Path model;
        String modelId;
        int parallel;
        int contextPerSequence;
        int threads;
        KvCacheType kvCache;
        int queue;
        int gpuLayers;
        boolean embeddings;
        int cacheMb;
        boolean fullWindow;
        JsonNode chatTemplateKwargs;

        Editable(LlamaEngineOptions from) {
            model = from.model;
            modelId = from.modelId;
            parallel = from.parallel;
            contextPerSequence = from.contextPerSequence;
            threads = from.threads;
            kvCache = from.kvCache;
            queue = from.queue;
            gpuLayers = from.gpuLayers;
            embeddings = from.embeddings;
            cacheMb = from.cacheMb;
            fullWindow = from.fullWindow;
            chatTemplateKwargs = from.chatTemplateKwargs;
        }

        LlamaEngineOptions build() {
            return new LlamaEngineOptions(
                    model,
                    modelId,
                    parallel,
                    contextPerSequence,
                    threads,
                    kvCache,
                    queue,
                    gpuLayers,
                    embeddings,
                    cacheMb,
                    fullWindow,
                    chatTemplateKwargs);
        }
    }

    /** The most megabytes of prompt cache: 1 TiB. */
    public static final int MAX_CACHE_MB = 1 << 20;

    /** The model id: as given, or the file name without {@code .gguf}. */
    public String id() {
        if (modelId != null) return modelId;
        String name = model.getFileName().toString();
        return name.endsWith(".gguf") ? name.substring(0, name.length() - 5) : name;
    }
}
