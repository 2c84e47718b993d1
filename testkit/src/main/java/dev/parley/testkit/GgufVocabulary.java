package dev.parley.testkit;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The tokenizer of a GGUF file: every {@code tokenizer.*} key/value (tokens, merges or scores, token types,
 * special token ids, pre-tokenizer, chat template), kept byte for byte as stored, for {@link GgufWriter} to
 * write into a model with random weights. llama.cpp's vocabulary-only GGUFs ({@code ggml-vocab-*.gguf})
 * are the usual source; any GGUF v2/v3 file of up to 2 GiB is read the same way (its tensors are skipped).
 *
 * <pre>{@code
 * GgufVocabulary llama3 = GgufVocabulary.read(Path.of("ggml-vocab-llama-bpe.gguf"));
 * GgufWriter.llama().vocabulary(llama3).tiedOutput(true).write(dir.resolve("llama3.gguf"));
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class GgufVocabulary implements Vocabulary {
    private static final int MAGIC = 0x46554747; // "GGUF"

    // gguf_type ids
    private static final int UINT32 = 4;
    private static final int INT32 = 5;
    private static final int STRING = 8;
    private static final int ARRAY = 9;

    private final Map<String, byte[]> entries; // key → the whole key/value as stored, in file order
    private final String model;
    private final int[] types;
    private final int eos;

    private GgufVocabulary(Map<String, byte[]> entries, String model, int[] types, int eos) {
        this.entries = Collections.unmodifiableMap(entries);
        this.model = model;
        this.types = types;
        this.eos = eos;
    }

    /**
     * Reads the tokenizer of a GGUF file.
     *
     * @throws IllegalArgumentException when the file is not GGUF v2/v3 or has no tokens and token types
     * @throws UncheckedIOException when it cannot be read
     */
    public static GgufVocabulary read(Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return parse(channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** As {@link #read(Path)}, from a stream read to its end (and left open), such as a class path resource. */
    public static GgufVocabulary read(InputStream in) {
        try {
            return parse(ByteBuffer.wrap(in.readAllBytes()), "the stream");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the vocabulary", e);
        }
    }

    /** Number of tokens. */
    @Override
    public int size() {
        return types.length;
    }

    /** {@code tokenizer.ggml.model}: {@code llama} for SentencePiece, {@code gpt2} for byte-level BPE, …. */
    public String model() {
        return model;
    }

    /** The {@code tokenizer.*} keys, in file order. */
    public Set<String> keys() {
        return entries.keySet();
    }

    /**
     * The id of the token whose piece is {@code piece}, as the vocabulary stores it (byte-level BPE writes a space as
     * {@code Ġ} and a line's end as {@code Ċ}): for making models that write known tokens ({@link
     * GgufWriter#successor}).
     *
     * @throws IllegalArgumentException when no token has that piece
     */
    public int id(String piece) {
        ByteBuffer in = ByteBuffer.wrap(entries.get("tokenizer.ggml.tokens")).order(ByteOrder.LITTLE_ENDIAN);
        string(in); // the key
        in.getInt(); // ARRAY
        in.getInt(); // STRING
        long count = in.getLong();
        for (int i = 0; i < count; i++) {
            if (string(in).equals(piece)) return i;
        }
        throw new IllegalArgumentException("no token's piece is \"" + piece + "\"");
    }

    @Override
    public int tokenType(int token) {
        return types[token];
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public boolean hasChatTemplate() {
        return entries.containsKey(CHAT_TEMPLATE);
    }

    @Override
    public void writeTo(GgufFile gguf, boolean withChatTemplate) {
        entries.forEach((key, entry) -> {
            if (withChatTemplate || !key.equals(CHAT_TEMPLATE)) gguf.raw(entry);
        });
    }

    private static GgufVocabulary parse(ByteBuffer in, String source) {
        in.order(ByteOrder.LITTLE_ENDIAN);
        try {
            require(in.getInt() == MAGIC, "%s is not a GGUF file", source);
            int version = in.getInt();
            require(version == 2 || version == 3, "%s is GGUF v%d; only v2 and v3 are read", source, version);
            in.getLong(); // tensor count: tensors are not read
            long keys = in.getLong();
            Map<String, byte[]> entries = new LinkedHashMap<>();
            String model = null;
            int[] types = null;
            int eos = -1;
            for (long i = 0; i < keys; i++) {
                int start = in.position();
                String key = string(in);
                int type = in.getInt();
                int value = in.position();
                skip(in, type);
                if (!key.startsWith("tokenizer.")) continue;
                byte[] entry = new byte[in.position() - start];
                in.get(start, entry);
                entries.put(key, entry);
                ByteBuffer at = in.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(value);
                switch (key) {
                    case "tokenizer.ggml.model" -> model = type == STRING ? string(at) : null;
                    case "tokenizer.ggml.token_type" -> types = int32s(at, type, source);
                    case "tokenizer.ggml.eos_token_id" -> eos = type == UINT32 || type == INT32 ? at.getInt() : -1;
                    default -> {}
                }
            }
            require(
                    types != null && entries.containsKey("tokenizer.ggml.tokens"),
                    "%s has no tokens and token types",
                    source);
            return new GgufVocabulary(entries, model, types, eos);
        } catch (BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new IllegalArgumentException(source + " ends inside its metadata", e);
        }
    }

    private static int[] int32s(ByteBuffer in, int type, String source) {
        require(type == ARRAY && in.getInt() == INT32, "%s: tokenizer.ggml.token_type is not an int32 array", source);
        int[] values = new int[Math.toIntExact(in.getLong())];
        for (int i = 0; i < values.length; i++) values[i] = in.getInt();
        return values;
    }

    private static String string(ByteBuffer in) {
        byte[] bytes = new byte[Math.toIntExact(in.getLong())];
        in.get(bytes);
        return new String(bytes, UTF_8);
    }

    /** Moves past one value of gguf_type {@code type}. */
    private static void skip(ByteBuffer in, int type) {
        switch (type) {
            case 0, 1, 7 -> in.get(); // uint8, int8, bool
            case 2, 3 -> in.getShort();
            case 4, 5, 6 -> in.getInt();
            case 10, 11, 12 -> in.getLong();
            case STRING -> {
                long length = in.getLong();
                if (length > in.remaining()) throw new BufferUnderflowException();
                in.position(in.position() + (int) length);
            }
            case ARRAY -> {
                int element = in.getInt();
                long length = in.getLong();
                for (long i = 0; i < length; i++) skip(in, element);
            }
            default -> throw new IllegalArgumentException("unknown GGUF value type " + type);
        }
    }

    private static void require(boolean condition, String format, Object... args) {
        if (!condition) throw new IllegalArgumentException(format.formatted(args));
    }
}
