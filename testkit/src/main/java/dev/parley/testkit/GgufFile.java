package dev.parley.testkit;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A GGUF v3 file being assembled: metadata key/values and tensors, written little-endian with the default
 * 32-byte alignment. Tensor data is produced lazily, one tensor at a time, while writing.
 */
final class GgufFile {
    static final int ALIGNMENT = 32;

    // gguf_type ids
    private static final int UINT32 = 4;
    private static final int INT32 = 5;
    private static final int FLOAT32 = 6;
    private static final int BOOL = 7;
    private static final int STRING = 8;
    private static final int ARRAY = 9;

    private final Header header = new Header();
    private int keyCount;
    private final List<Tensor> tensors = new ArrayList<>();

    private record Tensor(String name, long[] shape, TensorType type, Supplier<float[]> values) {
        long count() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    GgufFile string(String key, String value) {
        header.key(key, STRING).string(value);
        return this;
    }

    GgufFile uint32(String key, int value) {
        header.key(key, UINT32).int32(value);
        return this;
    }

    GgufFile float32(String key, float value) {
        header.key(key, FLOAT32).int32(Float.floatToIntBits(value));
        return this;
    }

    GgufFile bool(String key, boolean value) {
        header.key(key, BOOL).write(value ? 1 : 0);
        return this;
    }

    GgufFile strings(String key, List<String> values) {
        header.key(key, ARRAY).int32(STRING).int64(values.size());
        values.forEach(header::string);
        return this;
    }

    GgufFile float32s(String key, float[] values) {
        header.key(key, ARRAY).int32(FLOAT32).int64(values.length);
        for (float v : values) {
            header.int32(Float.floatToIntBits(v));
        }
        return this;
    }

    GgufFile int32s(String key, int[] values) {
        header.key(key, ARRAY).int32(INT32).int64(values.length);
        for (int v : values) {
            header.int32(v);
        }
        return this;
    }

    /** Adds one key/value exactly as another GGUF file stores it: key, gguf_type, value. */
    GgufFile raw(byte[] entry) {
        header.write(entry, 0, entry.length);
        keyCount++;
        return this;
    }

    /** Adds a tensor; {@code shape} is ggml's order, the row length (ne0) first. */
    GgufFile tensor(String name, TensorType type, Supplier<float[]> values, long... shape) {
        tensors.add(new Tensor(name, shape, type, values));
        return this;
    }

    void write(Path file) throws IOException {
        Header out = new Header();
        out.int32(0x46554747); // "GGUF"
        out.int32(3);
        out.int64(tensors.size());
        out.int64(keyCount);
        out.write(header.toByteArray());
        long offset = 0;
        for (Tensor t : tensors) {
            out.string(t.name);
            out.int32(t.shape.length);
            for (long d : t.shape) {
                out.int64(d);
            }
            out.int32(t.type.ggmlType);
            out.int64(offset);
            offset = align(offset + t.type.byteSize(t.count()));
        }
        while (out.size() % ALIGNMENT != 0) {
            out.write(0);
        }
        try (FileChannel channel = FileChannel.open(
                file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            writeFully(channel, ByteBuffer.wrap(out.toByteArray()));
            for (Tensor t : tensors) {
                long size = t.type.byteSize(t.count());
                ByteBuffer data =
                        ByteBuffer.allocate(Math.toIntExact(align(size))).order(ByteOrder.LITTLE_ENDIAN);
                t.type.encode(t.values.get(), data);
                data.position(data.capacity()); // the rest is zero padding
                writeFully(channel, data.flip());
            }
        }
    }

    private static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** A little-endian byte sink for the header. */
    private final class Header extends ByteArrayOutputStream {
        Header key(String key, int type) {
            keyCount++;
            string(key);
            return int32(type);
        }

        Header string(String value) {
            byte[] bytes = value.getBytes(UTF_8);
            int64(bytes.length);
            write(bytes, 0, bytes.length);
            return this;
        }

        Header int32(int value) {
            for (int i = 0; i < 4; i++) {
                write(value >>> (8 * i));
            }
            return this;
        }

        Header int64(long value) {
            for (int i = 0; i < 8; i++) {
                write((int) (value >>> (8 * i)));
            }
            return this;
        }
    }
}
