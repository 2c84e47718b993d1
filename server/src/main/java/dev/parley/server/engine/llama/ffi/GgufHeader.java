package dev.parley.server.engine.llama.ffi;

import static java.lang.foreign.FunctionDescriptor.of;
import static java.lang.foreign.FunctionDescriptor.ofVoid;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Per-layer arrays of a GGUF file's metadata (an LFM2's {@code attention.head_count_kv}, 0 for each layer that keeps
 * recurrent state instead), which llama.cpp leaves out of the model metadata it answers for: read with ggml's own
 * GGUF reader from the file's header (its tensors are not read; about 30 ms for a 151,936-token vocabulary here).
 */
@SuppressWarnings("restricted") // this package is the native boundary: it reinterprets C pointers by design
public final class GgufHeader {
    /** {@code struct gguf_init_params}: {@code bool no_alloc; struct ggml_context ** ctx;}, passed by value. */
    private static final StructLayout INIT_PARAMS =
            MemoryLayout.structLayout(JAVA_BOOLEAN.withName("no_alloc"), MemoryLayout.paddingLayout(7), ADDRESS);

    // enum gguf_type
    private static final int UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, BOOL = 7;
    private static final int UINT64 = 10, INT64 = 11;

    private static final class Handles {
        static final MethodHandle INIT =
                NativeLibrary.function("gguf_init_from_file", of(ADDRESS, ADDRESS, INIT_PARAMS));
        static final MethodHandle FREE = NativeLibrary.function("gguf_free", ofVoid(ADDRESS));
        static final MethodHandle FIND_KEY = NativeLibrary.function("gguf_find_key", of(JAVA_LONG, ADDRESS, ADDRESS));
        static final MethodHandle KV_TYPE =
                NativeLibrary.function("gguf_get_kv_type", of(JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle ARR_TYPE =
                NativeLibrary.function("gguf_get_arr_type", of(JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle ARR_N = NativeLibrary.function("gguf_get_arr_n", of(JAVA_LONG, ADDRESS, JAVA_LONG));
        static final MethodHandle ARR_DATA =
                NativeLibrary.function("gguf_get_arr_data", of(ADDRESS, ADDRESS, JAVA_LONG));
    }

    private static final int GGUF_TYPE_ARRAY = 9;

    private GgufHeader() {}

    /**
     * The integers (or booleans, as 0 and 1) of the array {@code key} in {@code file}'s metadata; empty when the file
     * cannot be read, has no such key, or it is not an array of integers.
     */
    public static Optional<long[]> integers(Path file, String key) {
        return read(file, key, (gguf, id) -> {
            if ((int) Handles.KV_TYPE.invokeExact(gguf, id) != GGUF_TYPE_ARRAY) return Optional.empty();
            int type = (int) Handles.ARR_TYPE.invokeExact(gguf, id);
            long n = (long) Handles.ARR_N.invokeExact(gguf, id);
            int width = width(type);
            if (width == 0 || n < 0 || n > 1 << 20) return Optional.empty();
            MemorySegment data = ((MemorySegment) Handles.ARR_DATA.invokeExact(gguf, id)).reinterpret(n * width);
            long[] values = new long[(int) n];
            for (int i = 0; i < n; i++) values[i] = value(data, type, i);
            return Optional.of(values);
        });
    }

    /** What is read of one key of an open GGUF context. */
    private interface Reader<T> {
        Optional<T> read(MemorySegment gguf, long keyId) throws Throwable;
    }

    /** Opens {@code file}'s header, finds {@code key} and reads it; empty when either is missing. */
    private static <T> Optional<T> read(Path file, String key, Reader<T> reader) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(INIT_PARAMS);
            params.set(JAVA_BOOLEAN, 0, true); // the header only: no tensor data
            MemorySegment gguf = (MemorySegment) Handles.INIT.invokeExact(
                    arena.allocateFrom(file.toAbsolutePath().toString()), params);
            if (gguf.equals(MemorySegment.NULL)) return Optional.empty();
            try {
                long id = (long) Handles.FIND_KEY.invokeExact(gguf, arena.allocateFrom(key));
                return id < 0 ? Optional.empty() : reader.read(gguf, id);
            } finally {
                Handles.FREE.invokeExact(gguf);
            }
        } catch (Throwable e) {
            throw Bindings.rethrow(e);
        }
    }

    private static int width(int type) {
        return switch (type) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16 -> 2;
            case UINT32, INT32 -> 4;
            case UINT64, INT64 -> 8;
            default -> 0;
        };
    }

    private static long value(MemorySegment data, int type, int i) {
        return switch (type) {
            case UINT8, BOOL -> Byte.toUnsignedLong(data.get(JAVA_BYTE, i));
            case INT8 -> data.get(JAVA_BYTE, i);
            case UINT16 -> Short.toUnsignedLong(data.getAtIndex(JAVA_SHORT_UNALIGNED, i));
            case INT16 -> data.getAtIndex(JAVA_SHORT_UNALIGNED, i);
            case UINT32 -> Integer.toUnsignedLong(data.getAtIndex(JAVA_INT_UNALIGNED, i));
            case INT32 -> data.getAtIndex(JAVA_INT_UNALIGNED, i);
            default -> data.getAtIndex(JAVA_LONG_UNALIGNED, i);
        };
    }
}
