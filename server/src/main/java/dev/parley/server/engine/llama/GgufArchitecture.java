package dev.parley.server.engine.llama;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A GGUF file's {@code general.architecture}, read from the start of its header in Java, before llama.cpp loads it:
 * converters write it first, so a few hundred bytes answer, with no native call on a server's start.
 */
final class GgufArchitecture {
    private static final int MAGIC = 0x46554747; // "GGUF", little-endian
    private static final int HEAD_BYTES = 64 * 1024; // the keys before the vocabulary's arrays, with room to spare
    private static final int STRING = 8;
    private static final int ARRAY = 9;

    private GgufArchitecture() {}

    /** The architecture, or empty when the file is not GGUF or the key is not among those in its first 64 KiB. */
    static Optional<String> of(Path file) {
        ByteBuffer head = ByteBuffer.allocate(HEAD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel channel = FileChannel.open(file)) {
            while (head.hasRemaining() && channel.read(head) > 0) {
                // fill what the file has of the head
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        head.flip();
        try {
            if (head.getInt() != MAGIC) return Optional.empty();
            head.getInt(); // version
            head.getLong(); // tensor count
            long keys = head.getLong();
            for (long k = 0; k < keys; k++) {
                String key = string(head);
                int type = head.getInt();
                if (key.equals("general.architecture"))
                    return type == STRING ? Optional.of(string(head)) : Optional.empty();
                skip(head, type);
            }
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            // beyond what was read, or not a GGUF header after all
        }
        return Optional.empty();
    }

    private static String string(ByteBuffer head) {
        long length = head.getLong();
        if (length < 0 || length > head.remaining()) throw new BufferUnderflowException();
        byte[] bytes = new byte[(int) length];
        head.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Moves past a value of gguf type {@code type}. */
    private static void skip(ByteBuffer head, int type) {
        if (type == STRING) {
            string(head);
        } else if (type == ARRAY) {
            int element = head.getInt();
            long count = head.getLong();
            if (count < 0 || count > head.remaining()) throw new BufferUnderflowException();
            for (long i = 0; i < count; i++) skip(head, element);
        } else {
            int size = switch (type) {
                case 0, 1, 7 -> 1; // uint8, int8, bool
                case 2, 3 -> 2; // uint16, int16
                case 4, 5, 6 -> 4; // uint32, int32, float32
                case 10, 11, 12 -> 8; // uint64, int64, float64
                default -> throw new IllegalArgumentException("gguf type " + type);
            };
            head.position(head.position() + size);
        }
    }
}
