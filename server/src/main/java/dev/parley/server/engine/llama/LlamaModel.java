package dev.parley.server.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.nio.charset.StandardCharsets.UTF_8;

import dev.parley.api.LoneSurrogates;
import dev.parley.server.engine.llama.ffi.Bindings;
import dev.parley.server.engine.llama.ffi.GgufHeader;
import dev.parley.server.engine.llama.ffi.HugePages;
import dev.parley.server.engine.llama.ffi.NativeLibrary;
import dev.parley.server.engine.llama.ffi.SamplerBindings;
import dev.parley.server.engine.llama.ffi.Structs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A GGUF model loaded by llama.cpp: its vocabulary, metadata and chat template, and the factory of the
 * {@link LlamaContext}s and {@link Sampler}s that run it.
 *
 * <p>Thread-safe: tokenizing and templating may run concurrently. {@link #close} waits for calls in
 * progress, closes every context and sampler still open from this model, then frees the model; it is
 * idempotent. Any other call after close throws {@link IllegalStateException}. Invalid arguments throw
 * {@link IllegalArgumentException} before anything reaches native code.
 */
@SuppressWarnings("restricted") // this package is the native boundary: it reinterprets C pointers by design
public final class LlamaModel implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LlamaModel.class);
    private static final int LLAMA_TOKEN_NULL = -1;
    private static final int LOAD_MODE_NONE = 0; // enum llama_load_mode: read the file, no mmap
    /**
     * The architectures llama.cpp v0.5.0 keeps recurrent state for ({@code llm_arch_is_recurrent}, {@code _hybrid}),
     * the one release Parley binds.
     */
    static final Set<String> RECURRENT_ARCHITECTURES = Set.of(
            "mamba",
            "mamba2",
            "rwkv6",
            "rwkv6qwen2",
            "rwkv7",
            "arwkv7",
            "jamba",
            "falcon-h1",
            "plamo2",
            "granitehybrid",
            "lfm2",
            "lfm2moe",
            "nemotron_h",
            "nemotron_h_moe",
            "qwen3next",
            "kimi-linear",
            "bailingmoe3",
            "kimi-k3",
            "qwen35",
            "qwen35moe",
            "qwen4exp",
            "deepseek4",
            "minimax-01");

    private final Path path;
    private final MemorySegment model;
    private final MemorySegment vocab;
    private final int vocabSize;
    private final int contextTrainLength;
    private volatile int slidingWindow = -1; // asked for on first use: its downcall is made then
    private volatile Boolean recurrentState; // likewise
    private final String chatTemplate; // null when the model has none
    private final boolean vocabularyOnly;
    private final long hugePageBytes;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    // Each token's text once asked for, plain and with control tokens' text: it never changes, and asking
    // llama.cpp again took an arena and a downcall for every token generated. Measured in a fresh JVM, calls 1,000
    // to 5,000: 6–8 µs a call before, 1.4–1.5 µs kept; by call 20,000, 2 and 0.5 µs. Filled as tokens come, never
    // all at once (that would lengthen a start).
    private final AtomicReferenceArray<byte[]> pieces;
    private final AtomicReferenceArray<byte[]> specialPieces;
    private final Set<AutoCloseable> children = new LinkedHashSet<>(); // guarded by itself
    private boolean closed; // guarded by lock

    private LlamaModel(Path path, MemorySegment model, boolean vocabularyOnly, long hugePageBytes) {
        this.path = path;
        this.hugePageBytes = hugePageBytes;
        this.model = model;
        this.vocab = Bindings.modelGetVocab(model);
        this.vocabSize = Bindings.vocabNTokens(vocab);
        this.pieces = new AtomicReferenceArray<>(vocabSize);
        this.specialPieces = new AtomicReferenceArray<>(vocabSize);
        this.contextTrainLength = Bindings.modelNCtxTrain(model);
        MemorySegment template = Bindings.modelChatTemplate(model, MemorySegment.NULL);
        this.chatTemplate = template.equals(MemorySegment.NULL)
                ? null
                : template.reinterpret(Long.MAX_VALUE).getString(0);
        this.vocabularyOnly = vocabularyOnly;
    }

    /**
     * Loads a GGUF model.
     *
     * @throws IllegalArgumentException when the path is not a readable regular file
     * @throws LlamaException when llama.cpp cannot load it (not GGUF, unknown architecture, truncated)
     */
    public static LlamaModel open(Path path, ModelOptions options) {
        Checks.notNull(path, "path");
        Checks.notNull(options, "options");
        Path file = path.toAbsolutePath();
        Checks.require(Files.isRegularFile(file) && Files.isReadable(file), "no readable model file at %s", file);
        Checks.require(
                options.gpuLayers() >= ModelOptions.ALL_LAYERS,
                "gpuLayers must be -1 (all) or more, got %d",
                options.gpuLayers());
        NativeLibrary.Loaded library = NativeLibrary.load();
        int gpuLayers = library.offloads() ? options.gpuLayers() : 0;
        // llama.cpp v0.5.0's AMX kernels take a weight for a stack of as many matrices as the input has (they step
        // through the weight as through the input), so every sequence of a batch but the first is multiplied by
        // whatever memory follows the weight. Only models with recurrent state give a weight such a stack (their
        // layers see a batch as one matrix per sequence); their weights stay in plain CPU buffers, which also
        // gives up the CPU_REPACK ones: slower on such a processor, but right. The file's header says which
        // architecture it is (no native call for other models: asking ggml about AMX took tens of ms of a start).
        boolean plainBuffers = !options.vocabularyOnly()
                && GgufArchitecture.of(file)
                        .map(RECURRENT_ARCHITECTURES::contains)
                        .orElse(false)
                && NativeLibrary.usesAmx();
        return load(file, options, gpuLayers, plainBuffers);
    }

    private static LlamaModel load(Path file, ModelOptions options, int gpuLayers, boolean plainBuffers) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = Bindings.modelDefaultParams(arena);
            params.set(JAVA_INT, Structs.offset(Structs.MODEL_PARAMS, "n_gpu_layers"), gpuLayers);
            if (!options.memoryMap())
                params.set(JAVA_INT, Structs.offset(Structs.MODEL_PARAMS, "load_mode"), LOAD_MODE_NONE);
            params.set(JAVA_BOOLEAN, Structs.offset(Structs.MODEL_PARAMS, "vocab_only"), options.vocabularyOnly());
            if (plainBuffers) {
                params.set(JAVA_BOOLEAN, Structs.offset(Structs.MODEL_PARAMS, "use_extra_bufts"), false);
                log.info(
                        "{} keeps recurrent state: its weights stay out of the AMX buffers, whose products are wrong"
                                + " for several sequences at once in this llama.cpp release",
                        file.getFileName());
            }
            // Weights read into memory go onto huge pages where the system allows (see HugePages); mapped ones stay
            // in the page cache as they are.
            Optional<HugePages.Watch> watch =
                    options.memoryMap() || options.vocabularyOnly() ? Optional.empty() : HugePages.watch();
            MemorySegment model;
            try {
                if (watch.isPresent()) {
                    params.set(
                            ADDRESS,
                            Structs.offset(Structs.MODEL_PARAMS, "progress_callback"),
                            HugePages.progressCallback());
                }
                model = Bindings.modelLoadFromFile(arena.allocateFrom(file.toString()), params);
            } finally {
                watch.ifPresent(HugePages.Watch::close);
            }
            if (model.equals(MemorySegment.NULL)) {
                throw new LlamaException("llama.cpp could not load the model " + file + " (its log says why)");
            }
            long hugePages = watch.map(HugePages.Watch::advised).orElse(0L);
            if (hugePages > 0)
                log.debug("{}: {} MB of weights advised onto huge pages", file.getFileName(), hugePages >> 20);
            return new LlamaModel(file, model, options.vocabularyOnly(), hugePages);
        }
    }

    public static LlamaModel open(Path path) {
        return open(path, ModelOptions.defaults());
    }

    public Path path() {
        return path;
    }

    /**
     * Bytes of memory allocated while loading this model (its weights' buffers) that were advised onto transparent
     * huge pages before the weights were read in; 0 when the model is mapped, the system has no huge pages, or a
     * small model's buffers came from memory already held (see {@link HugePages}).
     */
    public long hugePageBytes() {
        return hugePageBytes;
    }

    /** Number of token ids; valid ids are {@code 0 .. vocabSize()-1}. */
    public int vocabSize() {
        return vocabSize;
    }

    /** The context length the model was trained with ({@code <arch>.context_length}). */
    public int contextTrainLength() {
        return contextTrainLength;
    }

    /**
     * Tokens a sliding-window layer attends over (Gemma 3, gpt-oss): the cells such a layer keeps of a sequence are
     * its last ones only; 0 when the model has no such layer.
     */
    public int slidingWindow() {
        int window = slidingWindow;
        if (window < 0) slidingWindow = window = Math.max(0, read(() -> Bindings.modelNSwa(model)));
        return window;
    }

    /**
     * Whether the model keeps recurrent state per sequence, alone (Mamba, RWKV) or beside attention layers (LFM2,
     * Qwen 3.5, Granite 4 H, Nemotron H): a sequence's state is where its last token left it and cannot be cut back
     * to an earlier one, as attention's cells can.
     */
    public boolean keepsRecurrentState() {
        Boolean keeps = recurrentState;
        if (keeps == null) recurrentState = keeps = read(() -> Bindings.modelKeepsRecurrentState(model));
        return keeps;
    }

    /** The model's {@code tokenizer.chat_template}, if it has one. */
    public Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    /** A metadata value rendered as text, e.g. {@code general.name}; arrays are not available. */
    public Optional<String> metadata(String key) {
        Checks.cString(key, "key");
        return read(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment name = arena.allocateFrom(key);
                MemorySegment buf = arena.allocate(256);
                int length = Bindings.modelMetaValStr(model, name, buf, buf.byteSize());
                if (length < 0) {
                    return Optional.<String>empty();
                }
                if (length >= buf.byteSize()) {
                    buf = arena.allocate(length + 1L);
                    Bindings.modelMetaValStr(model, name, buf, buf.byteSize());
                }
                return Optional.of(buf.getString(0));
            }
        });
    }

    /**
     * A metadata array of integers (or booleans, as 0 and 1), such as a per-layer {@code attention.head_count_kv},
     * which {@link #metadata} does not give: read from the file's header again, so not for every request.
     */
    public Optional<long[]> metadataIntegers(String key) {
        Checks.cString(key, "key");
        return read(() -> GgufHeader.integers(path, key));
    }

    /** {@code general.architecture}: {@code llama}, {@code qwen3}, {@code bert}, … */
    public String architecture() {
        return metadata("general.architecture").orElse("");
    }

    /**
     * The pooling the model's metadata asks for ({@code <arch>.pooling_type}); empty when it names none, or
     * one that gives no vector per input (a reranker's).
     */
    public Optional<Pooling> pooling() {
        try {
            return metadata(architecture() + ".pooling_type")
                    .map(Long::parseLong)
                    .flatMap(Pooling::of);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    public OptionalInt bosToken() {
        int token = read(() -> Bindings.vocabBos(vocab));
        return token == LLAMA_TOKEN_NULL ? OptionalInt.empty() : OptionalInt.of(token);
    }

    public OptionalInt eosToken() {
        int token = read(() -> Bindings.vocabEos(vocab));
        return token == LLAMA_TOKEN_NULL ? OptionalInt.empty() : OptionalInt.of(token);
    }

    /** Whether generating {@code token} ends a generation (EOS, EOT and the like). */
    public boolean isEndOfGeneration(int token) {
        Checks.token(token, vocabSize);
        return read(() -> Bindings.vocabIsEog(vocab, token));
    }

    /**
     * Whether {@code token} is a control token (BOS, EOS) or one the vocabulary added as such (chat markup such as
     * {@code <|im_start|>}): a token that text read with special parsing ends at, whatever follows.
     */
    public boolean isControl(int token) {
        Checks.token(token, vocabSize);
        int attributes = read(() -> Bindings.vocabGetAttr(vocab, token));
        return (attributes & (Bindings.TOKEN_ATTR_CONTROL | Bindings.TOKEN_ATTR_USER_DEFINED)) != 0;
    }

    /**
     * Converts text to token ids.
     *
     * @param addSpecial add BOS/EOS as the model's metadata asks (for a prompt that starts a sequence)
     * @param parseSpecial turn the text of special tokens, e.g. {@code <|im_start|>}, into those tokens;
     *     otherwise it is tokenized as plain text (what user-supplied content needs)
     */
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        Checks.notNull(text, "text");
        byte[] utf8 = utf8(text);
        return utf8.length <= SHORT_TEXT_BYTES
                ? tokenizeShort(utf8, addSpecial, parseSpecial)
                : tokenizeAny(utf8, addSpecial, parseSpecial);
    }

    /** The longest text {@link #tokenizeShort} takes. */
    static final int SHORT_TEXT_BYTES = 1024;

    /** Where a short text's ids go in a {@link #scratch} buffer: after its bytes, ints aligned. */
    private static final long SCRATCH_IDS = SHORT_TEXT_BYTES;

    /** A buffer for one short text's bytes and ids ({@link #scratch}). */
    private static final long SCRATCH_BYTES = SCRATCH_IDS + (SHORT_TEXT_BYTES + 4) * JAVA_INT.byteSize();

    /**
     * Native buffers for {@link #tokenizeShort}, kept for the next call: as many as were in use at once, up to a few.
     * The others are freed by the collector once dropped.
     */
    private final ArrayBlockingQueue<MemorySegment> scratch = new ArrayBlockingQueue<>(4);

    /**
     * A short text, as most of a prompt's pieces are, tokenized in a native buffer kept from an earlier call. In an
     * arena of its own (opened, two allocations, closed), a fresh 7-word prompt took 110 µs instead of 86 here (median
     * of 400, caches swept before each call as a decode sweeps them before a request's prompt is tokenized).
     */
    int[] tokenizeShort(byte[] utf8, boolean addSpecial, boolean parseSpecial) {
        Checks.require(utf8.length <= SHORT_TEXT_BYTES, "a short text has at most %d bytes", SHORT_TEXT_BYTES);
        MemorySegment buffer = scratch.poll();
        if (buffer == null) buffer = Arena.ofAuto().allocate(SCRATCH_BYTES, JAVA_INT.byteAlignment());
        MemorySegment bytes = buffer;
        MemorySegment.copy(utf8, 0, bytes, JAVA_BYTE, 0, utf8.length);
        int capacity = utf8.length + 4; // SPM/BPE yield at most one token per byte, plus BOS/EOS
        MemorySegment ids = buffer.asSlice(SCRATCH_IDS);
        int count = read(() -> Bindings.tokenize(vocab, bytes, utf8.length, ids, capacity, addSpecial, parseSpecial));
        if (count < 0) throw new LlamaException("llama_tokenize failed with " + count);
        int[] tokens = new int[count];
        MemorySegment.copy(ids, JAVA_INT, 0, tokens, 0, count);
        scratch.offer(buffer);
        return tokens;
    }

    /** Any text, in native memory of its own for the call. */
    int[] tokenizeAny(byte[] utf8, boolean addSpecial, boolean parseSpecial) {
        return read(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bytes = arena.allocate(Math.max(1, utf8.length));
                MemorySegment.copy(utf8, 0, bytes, JAVA_BYTE, 0, utf8.length);
                int capacity = utf8.length + 4; // SPM/BPE yield at most one token per byte, plus BOS/EOS
                MemorySegment tokens = arena.allocate(JAVA_INT, capacity);
                int count = Bindings.tokenize(vocab, bytes, utf8.length, tokens, capacity, addSpecial, parseSpecial);
                if (count == Integer.MIN_VALUE) { // more tokens than an int32 counts: never for a body we accept
                    throw new LlamaException("llama_tokenize overflowed on " + utf8.length + " bytes");
                }
                if (count < 0) {
                    capacity = -count;
                    tokens = arena.allocate(JAVA_INT, capacity);
                    count = Bindings.tokenize(vocab, bytes, utf8.length, tokens, capacity, addSpecial, parseSpecial);
                }
                if (count < 0) {
                    throw new LlamaException("llama_tokenize failed with " + count);
                }
                return tokens.asSlice(0, count * JAVA_INT.byteSize()).toArray(JAVA_INT);
            }
        });
    }

    /**
     * Converts token ids back to text, the inverse of {@link #tokenize} without {@code parseSpecial}:
     * special tokens are dropped, and the space that SentencePiece vocabularies put before the first word
     * is removed. Bytes that are not valid UTF-8 become U+FFFD.
     */
    public String detokenize(int[] tokens) {
        Checks.notNull(tokens, "tokens");
        for (int token : tokens) {
            Checks.token(token, vocabSize);
        }
        return read(() -> {
            // llama.cpp keeps the SentencePiece space when it drops a leading BOS itself; dropping the BOS
            // here first makes tokenize(text, true, false) and tokenize(text, false, false) both round-trip.
            int bos = Bindings.vocabBos(vocab);
            int from = tokens.length > 0 && tokens[0] == bos ? 1 : 0;
            int count = tokens.length - from;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ids = arena.allocate(JAVA_INT, Math.max(1, count));
                MemorySegment.copy(tokens, from, ids, JAVA_INT, 0, count);
                int capacity = count * 8 + 16;
                MemorySegment text = arena.allocate(capacity);
                int length = Bindings.detokenize(vocab, ids, count, text, capacity, true, false);
                if (length < 0) {
                    capacity = -length;
                    text = arena.allocate(capacity);
                    length = Bindings.detokenize(vocab, ids, count, text, capacity, true, false);
                }
                if (length < 0) {
                    throw new LlamaException("llama_detokenize failed with " + length);
                }
                return new String(text.asSlice(0, length).toArray(JAVA_BYTE), UTF_8);
            }
        });
    }

    /**
     * The raw bytes of one token's text. Control tokens give none. A multi-byte character may be split
     * across tokens, so these are bytes, not text: {@link #detokenizer()} joins them safely.
     */
    public byte[] tokenBytes(int token) {
        return tokenBytes(token, false);
    }

    /** As {@link #tokenBytes(int)}; with {@code special}, control tokens give their text ({@code [TOOL_CALLS]}). */
    public byte[] tokenBytes(int token, boolean special) {
        Checks.token(token, vocabSize);
        AtomicReferenceArray<byte[]> kept = special ? specialPieces : pieces;
        byte[] text = read(() -> {
            byte[] known = kept.get(token);
            if (known != null) return known;
            try (Arena arena = Arena.ofConfined()) {
                byte[] asked = piece(arena, arena.allocate(64), token, special).toArray(JAVA_BYTE);
                kept.set(token, asked);
                return asked;
            }
        });
        return text.clone(); // the caller's own, as before
    }

    /** The text of {@code token} in {@code buf}, or in a larger buffer from {@code arena} when it does not fit. */
    private MemorySegment piece(Arena arena, MemorySegment buf, int token, boolean special) {
        int length = Bindings.tokenToPiece(vocab, token, buf, (int) buf.byteSize(), 0, special);
        if (length < 0) {
            buf = arena.allocate(-length);
            length = Bindings.tokenToPiece(vocab, token, buf, (int) buf.byteSize(), 0, special);
        }
        if (length < 0) {
            throw new LlamaException("llama_token_to_piece failed with " + length);
        }
        return buf.asSlice(0, length);
    }

    /**
     * The most bytes any token's text takes, as {@link #tokenBytes(int)} gives it. One buffer serves the whole
     * vocabulary and only lengths are read: asking {@code tokenBytes} of each token (an arena and a copy each) took
     * 74–97 ms of a fresh JVM's start on a 49,152-token vocabulary, this 15–24 ms; vocabularies run to 262,144.
     */
    int longestPiece() {
        return read(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(256);
                long longest = 0;
                for (int token = 0; token < vocabSize; token++)
                    longest = Math.max(longest, piece(arena, buf, token, false).byteSize());
                return (int) longest;
            }
        });
    }

    /** A new streaming detokenizer over this model's vocabulary, for one generation. */
    public Detokenizer detokenizer() {
        return new Detokenizer(this, false);
    }

    /** As {@link #detokenizer()}; with {@code special}, control tokens give their text. */
    Detokenizer detokenizer(boolean special) {
        return new Detokenizer(this, special);
    }

    /**
     * Tokens whose pieces spell exactly {@code text}, for feeding text to a grammar; when the tokenizer
     * cannot spell it alone (a SentencePiece vocabulary puts a space before the first word): null.
     */
    int[] textTokens(String text) {
        if (text.isEmpty()) return new int[0];
        int[] tokens = tokenize(text, false, false);
        var spelled = new java.io.ByteArrayOutputStream();
        for (int token : tokens) spelled.writeBytes(tokenBytes(token));
        return java.util.Arrays.equals(spelled.toByteArray(), utf8(text)) ? tokens : null;
    }

    /**
     * Text as the tokenizer reads it: UTF-8, with each lone surrogate (which UTF-8 cannot hold) read as U+FFFD, as
     * tiktoken reads one, rather than as the {@code ?} of {@code String.getBytes}.
     */
    private static byte[] utf8(String text) {
        return LoneSurrogates.replace(text, lone -> "\ufffd").getBytes(UTF_8);
    }

    /**
     * Renders messages into a prompt with the model's chat template, or ChatML when the model has none or
     * llama.cpp does not recognise its template. llama.cpp matches templates by pattern against a built-in
     * list (no Jinja).
     *
     * @param addAssistant end with the opening of an assistant turn, for the model to continue
     */
    public String applyChatTemplate(List<ChatTurn> messages, boolean addAssistant) {
        Checks.notNull(messages, "messages");
        List<ChatTurn> copy = new ArrayList<>(messages.size());
        for (ChatTurn turn : messages) {
            Checks.notNull(turn, "message");
            Checks.cString(turn.role(), "role");
            Checks.cString(turn.content(), "content");
            copy.add(turn);
        }
        return read(() -> ChatTemplates.apply(chatTemplate, copy, addAssistant));
    }

    /**
     * Creates a context that decodes with this model; closed by its caller, or at the latest with the model.
     *
     * @throws IllegalArgumentException when the options are out of range or the model was opened
     *     vocabulary-only
     * @throws LlamaException when llama.cpp cannot create the context (e.g. out of memory)
     */
    public LlamaContext newContext(ContextOptions options) {
        Checks.notNull(options, "options").check();
        Checks.require(!vocabularyOnly, "a vocabulary-only model cannot decode");
        return adopt(() -> LlamaContext.create(this, model, options));
    }

    /**
     * Creates a context that computes pooled embeddings of inputs of up to {@code length} tokens, up to {@code
     * maxSequences} inputs per decode; closed by its caller, or at the latest with the model.
     *
     * @throws IllegalArgumentException when an option is out of range or the model was opened vocabulary-only
     * @throws LlamaException when llama.cpp cannot create the context
     */
    public EmbeddingContext newEmbeddingContext(
            int length, int maxSequences, int threads, KvCacheType kvCache, Pooling pooling) {
        Checks.require(length >= 1, "length must be >= 1, got %d", length);
        Checks.require(
                maxSequences >= 1 && maxSequences <= ContextOptions.MAX_SEQUENCES,
                "maxSequences must be 1..%d, got %d",
                ContextOptions.MAX_SEQUENCES,
                maxSequences);
        Checks.require(threads >= 1 && threads <= 1024, "threads must be 1..1024, got %d", threads);
        Checks.notNull(kvCache, "kvCache");
        Checks.notNull(pooling, "pooling");
        Checks.require(!vocabularyOnly, "a vocabulary-only model cannot decode");
        return adopt(() -> EmbeddingContext.create(this, model, length, maxSequences, threads, kvCache, pooling));
    }

    /** Creates a sampler for this model's vocabulary; closed by its caller, or at the latest with the model. */
    public Sampler newSampler(SamplingOptions options) {
        Checks.notNull(options, "options").check(vocabSize);
        return adopt(() -> Sampler.create(this, options));
    }

    /**
     * A grammar sampler for this model's vocabulary, for one choice; closed by its caller, or at the latest with
     * the model.
     *
     * @throws LlamaException when llama.cpp does not accept the grammar
     */
    Grammar newGrammar(String gbnf, String root) {
        Checks.notNull(gbnf, "gbnf");
        Checks.notNull(root, "root");
        return adopt(() -> Grammar.create(this, vocab, gbnf, root));
    }

    /**
     * Whether llama.cpp's grammar parser accepts {@code gbnf} with start rule {@code root} for this model's
     * vocabulary. The sampler it builds to find out is freed at once.
     */
    public boolean checkGrammar(String gbnf, String root) {
        Checks.notNull(gbnf, "gbnf");
        Checks.notNull(root, "root");
        return read(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment sampler =
                        SamplerBindings.initGrammar(vocab, arena.allocateFrom(gbnf), arena.allocateFrom(root));
                if (sampler.equals(MemorySegment.NULL)) {
                    return false;
                }
                SamplerBindings.free(sampler);
                return true;
            }
        });
    }

    /** Closes every context and sampler still open from this model, then frees it. Idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            List<AutoCloseable> open;
            synchronized (children) {
                open = new ArrayList<>(children);
            }
            for (AutoCloseable child : open) {
                try {
                    child.close();
                } catch (Exception e) {
                    throw new IllegalStateException("cannot close " + child, e); // children's close throws nothing
                }
            }
            Bindings.modelFree(model);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "LlamaModel[" + path.getFileName() + "]";
    }

    /** Called by a child as it closes, so that the model does not close it again. */
    void forget(AutoCloseable child) {
        synchronized (children) {
            children.remove(child);
        }
    }

    private <T extends AutoCloseable> T adopt(Supplier<T> factory) {
        return read(() -> {
            T child = factory.get();
            synchronized (children) {
                children.add(child);
            }
            return child;
        });
    }

    private <T> T read(Supplier<T> action) {
        lock.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException(this + " is closed");
            }
            return action.get();
        } finally {
            lock.readLock().unlock();
        }
    }
}
