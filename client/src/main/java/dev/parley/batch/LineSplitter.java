package dev.parley.batch;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits a stream into lines at {@code \n}, as bytes: decoding is each line's own business, so that one
 * line that is not UTF-8 cannot stop the others being read. A last line without a newline is a line.
 *
 * <p>Not thread-safe. The bytes of a line are valid until the next call.
 */
final class LineSplitter {
    private final InputStream in;
    private byte[] buffer = new byte[8192];
    private boolean ended;

    /** A line's bytes, without its {@code \n}: {@code bytes[0, length)}. */
    record Line(byte[] bytes, int length) {}

    LineSplitter(InputStream in) {
        this.in = in instanceof BufferedInputStream ? in : new BufferedInputStream(in, 1 << 16);
    }

    /** The next line; null at the end of the stream. */
    Line next() throws IOException {
        if (ended) return null;
        int length = 0;
        for (int b = in.read(); ; b = in.read()) {
            if (b == -1) {
                ended = true;
                return length == 0 ? null : new Line(buffer, length);
            }
            if (b == '\n') return new Line(buffer, length);
            if (length == buffer.length) buffer = Arrays.copyOf(buffer, buffer.length * 2);
            buffer[length++] = (byte) b;
        }
    }
}
