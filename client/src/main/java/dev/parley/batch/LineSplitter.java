package dev.parley.batch;

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
    private final byte[] chunk = new byte[1 << 16];
    private int position;
    private int limit;
    private byte[] line = new byte[8192];
    private boolean ended;

    /** A line's bytes, without its {@code \n}: {@code bytes[0, length)}. */
    record Line(byte[] bytes, int length) {}

    LineSplitter(InputStream in) {
        this.in = in;
    }

    /** The next line; null at the end of the stream. */
    Line next() throws IOException {
        if (ended) return null;
        int length = 0;
        while (true) {
            if (position == limit) {
                limit = in.read(chunk);
                position = 0;
                if (limit <= 0) {
                    limit = 0;
                    ended = true;
                    return length == 0 ? null : new Line(line, length);
                }
            }
            int start = position;
            while (position < limit && chunk[position] != '\n') position++;
            int count = position - start;
            if (length + count > line.length) line = Arrays.copyOf(line, Math.max(line.length * 2, length + count));
            System.arraycopy(chunk, start, line, length, count);
            length += count;
            if (position < limit) { // at a newline
                position++;
                return new Line(line, length);
            }
        }
    }
}
