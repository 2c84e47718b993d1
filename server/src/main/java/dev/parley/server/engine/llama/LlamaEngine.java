package dev.parley.server.engine.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Content;
import dev.parley.api.InvalidRequestException;
import dev.parley.api.Prompt;
import dev.parley.api.ResponseFormat;
import dev.parley.server.engine.DecodeListener;
import dev.parley.server.engine.Engine;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import dev.parley.server.engine.Health;
import dev.parley.server.engine.ModelCard;
import dev.parley.server.engine.Prepared;
import dev.parley.server.engine.PromptReuse;
import dev.parley.server.engine.Tokenized;
import dev.parley.server.engine.grammar.JsonGrammar;
import dev.parley.server.engine.grammar.SchemaException;
import dev.parley.server.engine.llama.ffi.NativeLibrary;
import dev.parley.server.engine.tools.ChatTools;
import dev.parley.server.engine.tools.ToolSyntax;
import dev.parley.server.http.HttpApi;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Runs one GGUF model in-process through llama.cpp. Everything a request asks is checked here, in Java,
 * before it reaches native code: the model name, the number of choices, the prompt's fit in the context
 * (a text that can never fit is refused before it is tokenized), token ids, logit bias ids, sampling
 * settings. Prompts are tokenized by {@link PromptTokenizer}, which reads what clients wrote as text only.
 * Generation itself is the {@link Scheduler}'s.
 *
 * <p>Embeddings ({@code /v1/embeddings}) are checked and tokenized by {@link PooledEmbeddings} and computed by an
 * {@link Embedder} on a context of their own, never the scheduler's: an embedding model serves only them, a
 * generating model serves them beside its generations when {@link LlamaEngineOptions#embeddings} asks.
 *
 * <p>Thread-safe. {@link #close} cancels what runs (embedding requests still waiting get 503) and frees the model.
 */
public final class LlamaEngine implements Engine {
    /** llama.cpp's training contexts run to 128k; a server default that large would eat memory for nothing. */
    private static final int DEFAULT_CONTEXT_CAP = 4096;

    /** Inputs one embedding decode may hold, when they are short enough to share it. */
    private static final int EMBEDDING_SEQUENCES = 32;

    /**
     * Memory for the ids of recently tokenized texts (chat messages, legacy prompts), per KV cell the context
     * holds (a token's text and id take ~12 bytes, so two to three times what the slots can hold), within {@link
     * #TEXT_CACHE_MIN_BYTES} and {@link #TEXT_CACHE_MAX_BYTES}.
     */
    private static final long TEXT_CACHE_BYTES_PER_CELL = 32;

    private static final long TEXT_CACHE_MIN_BYTES = 4L << 20;
    private static final long TEXT_CACHE_MAX_BYTES = 64L << 20;

    /**
     * Architectures that only embed: encoders (BERT and its descendants) and the embedding variants of decoders.
     * llama.cpp keeps no KV cache for most of them and cannot generate with them.
     */
    private static final Set<String> EMBEDDING_ARCHITECTURES = Set.of(
            "bert",
            "modern-bert",
            "nomic-bert",
            "nomic-bert-moe",
            "neo-bert",
            "jina-bert-v2",
            "jina-bert-v3",
            "eurobert",
            "gemma-embedding",
            "llama-embed");

    private final LlamaEngineOptions options;
    private final LlamaModel model;
    private final LlamaContext context; // null for an embedding model
    private final Scheduler scheduler; // null for an embedding model
    private final EmbeddingContext embeddingContext; // null unless embeddings are served
    private final Embedder embedder; // null unless embeddings are served
    private final PooledEmbeddings embeddings; // null unless embeddings are served
    private final PromptTokenizer tokenizer;
    private final ModelCard card;
    /** The server's variables for the model's chat template ({@link LlamaEngineOptions#chatTemplateKwargs}). */
    private final Map<String, Object> templateDefaults;

    private LlamaEngine(
            LlamaEngineOptions options,
            LlamaModel model,
            LlamaContext context,
            EmbeddingContext embeddingContext,
            int queue) {
        this.options = options;
        this.model = model;
        this.context = context;
        this.embeddingContext = embeddingContext;
        long cells = context == null ? 0 : (long) context.cellsPerSequence() * context.maxSequences();
        this.tokenizer = new PromptTokenizer(
                model, Math.clamp(TEXT_CACHE_BYTES_PER_CELL * cells, TEXT_CACHE_MIN_BYTES, TEXT_CACHE_MAX_BYTES));
        this.scheduler = context == null
                ? null
                : new Scheduler(model, context, queue, (long) options.cacheMb() << 20, System::nanoTime);
        this.embedder = embeddingContext == null ? null : new Embedder(embeddingContext, queue);
        this.embeddings = embedder == null ? null : new PooledEmbeddings(options.id(), model, tokenizer, embedder);
        int contextLength = scheduler != null ? scheduler.positionsPerSequence() : embedder.inputLimit();
        this.card = new ModelCard(options.id(), Instant.now().getEpochSecond(), "parley", contextLength);
        this.templateDefaults = TemplateVariables.checked(options.chatTemplateKwargs(), "chat_template_kwargs");
    }

    /**
     * Refuses variables a server may not give a chat template ({@link LlamaEngineOptions#chatTemplateKwargs}): a
     * JSON object of booleans, numbers, nulls and short plain strings, none of the template's own names.
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    public static void checkChatTemplateKwargs(JsonNode variables) {
        try {
            TemplateVariables.checked(variables, "chat_template_kwargs");
        } catch (InvalidRequestException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Opens the model and what serves it: a {@link Scheduler} over a generating context, and an {@link Embedder}
     * over an embedding context when the model is an embedding model (then only that) or {@link
     * LlamaEngineOptions#embeddings} asks for it. An embedding model is one whose architecture only embeds, or
     * whose metadata names a pooling ({@code <arch>.pooling_type} mean, cls or last); it is pooled as its
     * metadata says, and any other model by the mean of its tokens.
     */
    public static LlamaEngine open(LlamaEngineOptions options) {
        if (options.parallel() < 1)
            throw new IllegalArgumentException("parallel must be at least 1, got " + options.parallel());
        if (options.threads() < 0)
            throw new IllegalArgumentException(
                    "threads must be 0 (one per physical core) or more, got " + options.threads());
        if (options.queue() < 1) throw new IllegalArgumentException("queue must be at least 1, got " + options.queue());
        if (options.contextPerSequence() < 0) throw new IllegalArgumentException("context must not be negative");
        if (options.cacheMb() < 0 || options.cacheMb() > LlamaEngineOptions.MAX_CACHE_MB)
            throw new IllegalArgumentException("prompt cache must be 0..%d MB, got %d"
                    .formatted(LlamaEngineOptions.MAX_CACHE_MB, options.cacheMb()));
        KvMemory.checkPromptCache(options.cacheMb());
        checkChatTemplateKwargs(options.chatTemplateKwargs());
        // gpuLayers is checked by LlamaModel.open, where it meets native code.
        LlamaModel model =
                LlamaModel.open(options.model(), ModelOptions.defaults().withGpuLayers(options.gpuLayers()));
        try {
            boolean embeddingOnly = isEmbeddingModel(model);
            int trained = model.contextTrainLength() > 0 ? model.contextTrainLength() : DEFAULT_CONTEXT_CAP;
            int perSequence = options.contextPerSequence() > 0
                    ? options.contextPerSequence()
                    : Math.min(trained, DEFAULT_CONTEXT_CAP);
            int threads = options.threads() == 0 ? Cores.physical() : options.threads();
            LlamaContext context = null;
            if (!embeddingOnly) {
                KvMemory.check(
                        model,
                        perSequence,
                        options.parallel(),
                        options.fullWindow() ? 0 : ContextOptions.defaults().batchCapacity(),
                        options.kvCache());
                context = model.newContext(ContextOptions.defaults()
                        .withContextLength(perSequence * options.parallel())
                        .withMaxSequences(options.parallel())
                        .withThreads(threads)
                        .withKvCache(options.kvCache())
                        .withFullWindow(options.fullWindow()));
            }
            EmbeddingContext embedding = null;
            if (embeddingOnly || options.embeddings()) {
                // An encoder's learned positions end at its training length: no input may go beyond it.
                int length = embeddingOnly ? Math.min(perSequence, trained) : perSequence;
                KvMemory.check(model, length, 1, 0, options.kvCache()); // its window layers keep every cell
                embedding = model.newEmbeddingContext(
                        length,
                        Math.min(EMBEDDING_SEQUENCES, length),
                        threads,
                        options.kvCache(),
                        model.pooling().orElse(Pooling.MEAN));
            }
            return new LlamaEngine(options, model, context, embedding, options.queue());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Whether the model only embeds: by its architecture, or by the pooling its metadata names. */
    static boolean isEmbeddingModel(LlamaModel model) {
        return EMBEDDING_ARCHITECTURES.contains(model.architecture())
                || model.pooling().isPresent();
    }

    /**
     * Chooses the llama.cpp build this JVM loads, before the first engine opens: a folder holding a build of
     * release v0.5.0 (null: {@code PARLEY_LLAMA_LIB}, else the prebuilt package, fetched once and verified),
     * and for the prebuilt package a GPU variant ({@code cuda}, {@code vulkan}; null: the CPU build).
     *
     * @throws IllegalStateException when another build is loaded already
     */
    public static void useLibrary(Path folder, String variant) {
        NativeLibrary.configure(folder, variant);
    }

    /**
     * Which llama.cpp was loaded, from where, and which backend devices it found: one line for the start-up
     * log, loading the library if no engine has yet.
     */
    public static String library() {
        return NativeLibrary.load().describe();
    }

    @Override
    public List<ModelCard> models() {
        return List.of(card);
    }

    @Override
    public Prepared chat(ChatCompletionRequest request) {
        requireModel(request.model());
        requireGenerating("chat", "/v1/chat/completions");
        requireRoom(request.choices(), "n", "choices");
        String capParam = request.maxCompletionTokens() != null ? "max_completion_tokens" : "max_tokens";
        requireTextOnly(request.messages());
        if (request.modalities() != null && request.modalities().contains("audio")) {
            throw InvalidRequestException.of(
                    "modalities",
                    "invalid_value",
                    "Invalid 'modalities': model %s writes text only, not audio.".formatted(card.id()));
        }
        var tools = ChatTools.of(request);
        OutputRules rules = outputRules(request, tools);
        int[] prompt = chatPrompt(request, tools);
        if (tokenizer.reasoningSyntax() != null)
            rules = rules.withReasoning(tokenizer.reasoningSyntax(), promptEnd(prompt));
        int maxTokens = fit(prompt.length, request.outputLimit(), "messages", capParam);
        var sampling = sampling(
                request.temperature(),
                request.topP(),
                request.presencePenalty(),
                request.frequencyPenalty(),
                request.logitBias());
        int top = Boolean.TRUE.equals(request.logprobs())
                ? (request.topLogprobs() == null ? 0 : request.topLogprobs())
                : -1;
        var generation = new LlamaGeneration(card.id(), prompt.length, request.choices(), rules.reasoning() != null);
        var sequences = new ArrayList<Sequence>();
        for (int i = 0; i < request.choices(); i++) {
            sequences.add(new Sequence(
                    generation,
                    i,
                    prompt,
                    maxTokens,
                    choiceSampling(sampling, request.seed(), i),
                    request.seed() != null,
                    top,
                    request.stop(),
                    "",
                    sequences.isEmpty() ? null : sequences.getFirst(),
                    rules));
        }
        return prepared(generation, sequences, false);
    }

    /**
     * The templated prompt of a chat, tool definitions included: shown by the template when it renders tools,
     * else written into the system message (with the instruction to call them when they may be called).
     */
    private int[] chatPrompt(ChatCompletionRequest request, ChatTools tools) {
        List<ChatMessage> messages = request.messages();
        JsonNode toolsForTemplate = null;
        if (!tools.definitions().isEmpty()) {
            if (tokenizer.rendersTools()) toolsForTemplate = tools.json();
            else
                messages =
                        tools.inSystemMessage(messages, tools.calling() && !tools.required(), tokenizer.toolSyntax());
        }
        return fitting(
                tokenizer.chat(
                        messages,
                        toolsForTemplate,
                        ChatTools.parameters(tools.definitions()),
                        TemplateVariables.of(request, templateDefaults),
                        card.contextLength()),
                "messages");
    }

    /** The vocabulary's own tokens; a text longer than the context is refused, before it is tokenized where it can be. */
    @Override
    public Tokenized tokenize(String model, String text, boolean addSpecial) {
        requireModel(model);
        int[] ids = switch (tokenizer.text(text, addSpecial, card.contextLength())) {
            case PromptTokenizer.Tokens.Ids(var all) -> all;
            case PromptTokenizer.Tokens.AtLeast(var least) ->
                throw Tokenized.tooLong("content", card.contextLength(), least, true);
        };
        if (ids.length > card.contextLength())
            throw Tokenized.tooLong("content", card.contextLength(), ids.length, false);
        return pieces(ids);
    }

    /** The text of the prompt's last tokens, special tokens' included: enough to tell whether it opens reasoning. */
    private String promptEnd(int[] prompt) {
        var bytes = new ByteArrayOutputStream();
        for (int i = Math.max(0, prompt.length - PROMPT_END_TOKENS); i < prompt.length; i++)
            bytes.writeBytes(model.tokenBytes(prompt[i], true));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /**
     * How many of a prompt's last tokens {@link #promptEnd} reads: an opening tag and a line's end fit, and Apriel's
     * opening words ("Here are my reasoning steps:") in any vocabulary.
     */
    private static final int PROMPT_END_TOKENS = 16;

    /** Exactly the prompt {@link #chat} would run, so its count is the usage's {@code prompt_tokens}. */
    @Override
    public Tokenized tokenize(ChatCompletionRequest request) {
        requireModel(request.model());
        requireTextOnly(request.messages());
        int[] prompt = chatPrompt(request, ChatTools.of(request));
        if (prompt.length > card.contextLength())
            throw Tokenized.tooLong("messages", card.contextLength(), prompt.length, false);
        return pieces(prompt);
    }

    private Tokenized pieces(int[] ids) {
        List<Tokenized.Token> tokens = new ArrayList<>(ids.length);
        for (int id : ids) tokens.add(new Tokenized.Token(id, model.tokenBytes(id, true)));
        return Tokenized.of(tokens);
    }

    /** llama.cpp's detokenizer: control tokens are left out, and SentencePiece's leading space is removed. */
    @Override
    public String detokenize(String model, int[] ids) {
        requireModel(model);
        Tokenized.requireIds(ids, card.contextLength());
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] >= this.model.vocabSize()) {
                throw InvalidRequestException.of(
                        "tokens[%d]".formatted(i),
                        "invalid_value",
                        "Invalid 'tokens[%d]': %d is not a token id of this model (vocabulary of %d)."
                                .formatted(i, ids[i], this.model.vocabSize()));
            }
        }
        return this.model.detokenize(ids);
    }

    /** Refuses image, audio and file parts: the local engine reads text only. OpenAI's wording and param. */
    private void requireTextOnly(List<ChatMessage> messages) {
        for (int i = 0; i < messages.size(); i++) {
            if (!(messages.get(i).content() instanceof Content.Parts(var parts))) continue;
            for (int j = 0; j < parts.size(); j++) {
                String type = parts.get(j).type();
                if (type.equals("text") || type.equals("refusal")) continue;
                throw InvalidRequestException.of(
                        "messages.[%d].content.[%d].type".formatted(i, j),
                        "invalid_value",
                        "Invalid content type. %s is not supported by model %s: it reads text only."
                                .formatted(type, card.id()));
            }
        }
    }

    /**
     * The grammar and tool syntax of a chat answer: calls in the model's own tool syntax when tools may be
     * called (from the first token when a call is required, from the model's first call otherwise), else JSON
     * when {@code response_format} asks for it, else nothing.
     */
    private OutputRules outputRules(ChatCompletionRequest request, ChatTools tools) {
        if (tools.calling()) {
            ToolSyntax syntax = tokenizer.toolSyntax();
            boolean lazy = !tools.required() && syntax.trigger() != null;
            String now = lazy
                    ? null
                    : checked(syntax.grammar(
                            tools.callable(), tools.params(), tools.parallel(), !tools.required(), false));
            String later = lazy
                    ? checked(syntax.grammar(tools.callable(), tools.params(), tools.parallel(), false, true))
                    : null;
            return new OutputRules(now, later, syntax, tools.required(), ChatTools.parameters(tools.callable()));
        }
        ResponseFormat format = request.responseFormat();
        if (format == null || format.type().equals("text")) return OutputRules.NONE;
        if (format.type().equals("json_object")) return OutputRules.grammar(checked(JsonGrammar.anyObject()));
        JsonNode schema = format.jsonSchema().get("schema");
        if (schema == null || schema.isNull()) return OutputRules.grammar(checked(JsonGrammar.anyObject()));
        try {
            return OutputRules.grammar(checked(JsonGrammar.fromSchema(schema)));
        } catch (SchemaException e) {
            throw InvalidRequestException.of(
                    "response_format",
                    "invalid_value",
                    "Invalid schema for response_format '%s': %s"
                            .formatted(format.jsonSchema().path("name").asText(), e.getMessage()));
        }
    }

    /** The grammar's text, once llama.cpp's parser has accepted it for this model (before any sequence runs). */
    private String checked(JsonGrammar grammar) {
        if (!model.checkGrammar(grammar.gbnf(), JsonGrammar.ROOT)) {
            throw InvalidRequestException.of(
                    null, "invalid_value", "The requested output format gives a grammar the model cannot sample with.");
        }
        return grammar.gbnf();
    }

    @Override
    public Prepared complete(CompletionRequest request) {
        requireModel(request.model());
        requireGenerating("completion", "/v1/completions");
        if (request.suffix() != null) {
            throw InvalidRequestException.of(
                    "suffix",
                    "unsupported_value",
                    "Unsupported parameter: 'suffix' (insertion) is not supported by model %s.".formatted(card.id()));
        }
        if (request.bestOf() != null && request.bestOf() > request.choices()) {
            throw InvalidRequestException.of(
                    "best_of",
                    "unsupported_value",
                    "Unsupported value: 'best_of' greater than 'n' is not supported by model %s.".formatted(card.id()));
        }
        requireRoom(
                (long) request.choices() * request.prompt().size(),
                request.choices() > 1 ? "n" : "prompt",
                "choices (n × the number of prompts)");
        List<int[]> prompts = prompts(request.prompt());
        var sampling = sampling(
                request.temperature(),
                request.topP(),
                request.presencePenalty(),
                request.frequencyPenalty(),
                request.logitBias());
        int top = request.logprobs() == null ? -1 : request.logprobs();
        int total = prompts.stream().mapToInt(p -> p.length).sum(); // at most queue × context: no overflow
        var generation = new LlamaGeneration(card.id(), total, prompts.size() * request.choices());
        var sequences = new ArrayList<Sequence>();
        for (int p = 0; p < prompts.size(); p++) {
            int[] prompt = prompts.get(p);
            int maxTokens = fit(prompt.length, request.outputLimit(), "prompt", "max_tokens");
            String echo = Boolean.TRUE.equals(request.echo()) ? model.detokenize(prompt) : "";
            Sequence leader = null;
            for (int i = 0; i < request.choices(); i++) {
                int choice = p * request.choices() + i;
                var sequence = new Sequence(
                        generation,
                        choice,
                        prompt,
                        maxTokens,
                        choiceSampling(sampling, request.seed(), choice),
                        request.seed() != null,
                        top,
                        request.stop(),
                        echo,
                        leader,
                        OutputRules.NONE);
                if (leader == null) leader = sequence;
                sequences.add(sequence);
            }
        }
        boolean echoOnly = sequences.stream().allMatch(s -> s.maxTokens == 0 && !s.promptLogprobs);
        return prepared(generation, sequences, echoOnly);
    }

    /**
     * The sequences of one request, counted, to be submitted on start; {@code echoOnly} needs no model: no
     * answer, and no prompt to score.
     */
    private Prepared prepared(LlamaGeneration generation, List<Sequence> sequences, boolean echoOnly) {
        long cap = sequences.stream().mapToLong(s -> s.maxTokens).sum();
        return new Prepared() {
            @Override
            public int promptTokens() {
                return generation.promptTokens();
            }

            @Override
            public long completionCap() {
                return cap;
            }

            @Override
            public Generation start() {
                if (echoOnly) {
                    // max_tokens 0 with echo: the prompt is the whole answer; nothing needs the model.
                    sequences.forEach(s -> {
                        if (!s.echo.isEmpty()) s.echo(null);
                        generation.emit(new GenerationEvent.Finished(s.choice, "length", 0));
                    });
                } else {
                    scheduler.submit(sequences);
                }
                return generation;
            }
        };
    }

    private void requireModel(String id) {
        if (!card.id().equals(id)) throw HttpApi.modelNotFound(id);
    }

    /** Checks and tokenizes an embeddings request, when the model serves embeddings (see {@link PooledEmbeddings}). */
    @Override
    public Prepared embed(String model, ObjectNode body) {
        requireModel(model);
        if (embeddings == null) {
            throw InvalidRequestException.of(
                    "model",
                    "invalid_value",
                    ("The model `%s` does not serve /v1/embeddings on this server: it was started without"
                                    + " embeddings (--embeddings, or embeddings: true in the configuration file).")
                            .formatted(model));
        }
        return embeddings.prepare(body);
    }

    /** Refuses a generating request to an embedding model, in OpenAI's words for a model used on the wrong route. */
    private void requireGenerating(String kind, String route) {
        if (scheduler != null) return;
        throw InvalidRequestException.of(
                "model",
                "invalid_value",
                "This is not a %s model and thus not supported in the %s endpoint. The model `%s` is an embedding model: use /v1/embeddings."
                        .formatted(kind, route.substring(1), card.id()));
    }

    /**
     * Refuses, before anything is tokenized, a request with more choices than the scheduler can ever
     * queue: it takes every choice of a request or none, so such a request could never run, and a
     * retryable 503 would invite clients to try again forever.
     */
    private void requireRoom(long sequences, String param, String what) {
        if (sequences > options.queue()) {
            throw InvalidRequestException.of(
                    param,
                    "invalid_value",
                    "Invalid '%s': this server runs at most %d choices per request, but the request asks for %d %s. Please reduce '%s'."
                            .formatted(param, options.queue(), sequences, what, param));
        }
    }

    /** The prompt's ids, or 400 {@code context_length_exceeded} when its length alone exceeds the context. */
    private int[] fitting(PromptTokenizer.Tokens tokens, String param) {
        return switch (tokens) {
            case PromptTokenizer.Tokens.Ids(var ids) -> ids;
            case PromptTokenizer.Tokens.AtLeast(var least) ->
                throw tooLong(param, "your %s resulted in at least %d tokens".formatted(param, least), "the " + param);
        };
    }

    /**
     * The output cap for one choice of a prompt: what was asked, which must fit with the prompt in one
     * sequence's context, or all the room that is left. 400 {@code context_length_exceeded} names the
     * prompt's parameter when the prompt alone fills the context, else the cap's. Sums are in {@code
     * long}: a cap may be as large as {@link Integer#MAX_VALUE}.
     */
    private int fit(int promptTokens, Integer asked, String promptParam, String capParam) {
        int limit = card.contextLength();
        if (promptTokens >= limit) {
            throw tooLong(
                    promptParam,
                    "your %s resulted in %d tokens".formatted(promptParam, promptTokens),
                    "the " + promptParam);
        }
        if (asked != null && (long) promptTokens + asked > limit) {
            throw tooLong(
                    capParam,
                    "you requested %d tokens (%d in the %s, %d in the completion)"
                            .formatted((long) promptTokens + asked, promptTokens, promptParam, asked),
                    "the %s or completion".formatted(promptParam));
        }
        return asked != null ? asked : limit - promptTokens;
    }

    private InvalidRequestException tooLong(String param, String request, String reduce) {
        return InvalidRequestException.of(
                param,
                "context_length_exceeded",
                "This model's maximum context length is %d tokens. However, %s. Please reduce the length of %s."
                        .formatted(card.contextLength(), request, reduce));
    }

    private List<int[]> prompts(Prompt prompt) {
        List<int[]> prompts = switch (prompt) {
            case Prompt.Texts(var texts) ->
                texts.stream()
                        .map(text -> fitting(tokenizer.text(text, card.contextLength()), "prompt"))
                        .toList();
            case Prompt.Tokens(var lists) -> {
                for (int i = 0; i < lists.size(); i++) {
                    for (int id : lists.get(i)) {
                        if (id >= model.vocabSize()) {
                            throw InvalidRequestException.of(
                                    "prompt[" + i + "]",
                                    "invalid_value",
                                    "Invalid token id %d in 'prompt[%d]': the model's vocabulary has %d tokens."
                                            .formatted(id, i, model.vocabSize()));
                        }
                    }
                }
                yield lists.stream()
                        .map(ids -> ids.stream().mapToInt(Integer::intValue).toArray())
                        .toList();
            }
        };
        // Generation starts from the logits of the prompt's last token: a model that adds no beginning-of-sequence
        // token has none to start from in an empty prompt.
        for (int i = 0; i < prompts.size(); i++) {
            if (prompts.get(i).length == 0) {
                String param = prompts.size() == 1 ? "prompt" : "prompt[" + i + "]";
                throw InvalidRequestException.of(
                        param,
                        "invalid_value",
                        "Invalid '%s': empty. This model adds no beginning-of-sequence token, so a prompt needs at least one token."
                                .formatted(param));
            }
        }
        return prompts;
    }

    /** The request's sampling settings; the seed is left for {@link #choiceSampling} to set per choice. */
    private SamplingOptions sampling(
            Double temperature, Double topP, Double presence, Double frequency, Map<String, Double> logitBias) {
        Map<Integer, Double> bias = new HashMap<>();
        if (logitBias != null) {
            logitBias.forEach((key, value) -> {
                int id = Integer.parseInt(key); // digits only: checked by RequestCheck
                if (id >= model.vocabSize()) {
                    throw InvalidRequestException.of(
                            "logit_bias",
                            "invalid_value",
                            "Invalid key in 'logit_bias': %d is not a token id of this model (vocabulary of %d)."
                                    .formatted(id, model.vocabSize()));
                }
                bias.put(id, value);
            });
        }
        // OpenAI allows top_p 0: a nucleus of no mass keeps only the most likely token (TokenSampler: greedy).
        var settings = new SamplingOptions(
                temperature == null ? 1.0 : temperature,
                topP == null ? 1.0 : topP,
                0,
                0,
                0,
                presence == null ? 0 : presence,
                frequency == null ? 0 : frequency,
                bias);
        try {
            // Checked here, not when the scheduler creates the sampler: there a bad value would fail a decode step.
            settings.check(model.vocabSize());
        } catch (IllegalArgumentException e) {
            throw InvalidRequestException.of(
                    null, "invalid_value", "Invalid sampling parameters: " + e.getMessage() + ".");
        }
        return settings;
    }

    /** Choices of one request draw differently: a given seed is offset per choice, so n>1 is not n copies. */
    private static SamplingOptions choiceSampling(SamplingOptions base, Long seed, int choice) {
        long choiceSeed = seed == null ? ThreadLocalRandom.current().nextLong() : seed + choice;
        return base.withSeed(choiceSeed);
    }

    @Override
    public Health health() {
        if (scheduler == null) return new Health(embedder.alive(), null, null);
        Health health = scheduler.health();
        List<Health.Slot> each = health.slots().each().stream()
                .map(slot -> slot.withModel(card.id()))
                .toList();
        return new Health(
                health.ok() && (embedder == null || embedder.alive()),
                new Health.Slots(health.slots().total(), health.slots().busy(), each),
                health.queue(),
                health.replicas());
    }

    @Override
    public PromptReuse promptReuse() {
        if (scheduler == null) return PromptReuse.NONE;
        return new PromptReuse(
                scheduler.reusedTokens(),
                scheduler.restoredTokens(),
                scheduler.promptCacheBytes(),
                scheduler.checkpointBytes());
    }

    /** The scheduler begins to calibrate in its idle moments. */
    @Override
    public void serving() {
        if (scheduler != null) scheduler.startCalibrating();
    }

    @Override
    public void onDecode(DecodeListener listener) {
        if (scheduler != null) scheduler.onDecode(listener);
    }

    /** For tests of the scheduling policy; null for an embedding model. */
    Scheduler scheduler() {
        return scheduler;
    }

    @Override
    public void close() {
        if (scheduler != null) scheduler.close();
        if (embedder != null) embedder.close();
        if (context != null) context.close();
        if (embeddingContext != null) embeddingContext.close();
        model.close();
    }

    @Override
    public String toString() {
        return "LlamaEngine[" + card.id() + ", " + options.parallel() + " parallel]";
    }
}
