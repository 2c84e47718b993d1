package dev.parley.server.engine.llama.ffi;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;

/**
 * Reads the regular files of a gzip-compressed tar archive (ustar, with pax extended headers for long
 * names), as npm packages are. Enough for unpacking a package; no links, devices or sparse files.
 *
 * <p>Not thread-safe; one reader per archive, closed by its caller.
 */
final class TarGz implements AutoCloseable {
    private static final int BLOCK = 512;

    private final InputStream in;
    private long remaining; // bytes of the current entry's data not yet read
    private long padding; // bytes after them up to the next block

    TarGz(InputStream compressed) throws IOException {
        this.in = new GZIPInputStream(compressed, 1 << 16);
    }

    /** One regular file of the archive; its bytes are read with {@link #readEntry()} before the next call. */
    record Entry(String path, long size) {}

    /** The next regular file, or null at the end of the archive. */
    Entry next() throws IOException {
        skip(remaining + padding);
        remaining = 0;
        padding = 0;
        String paxPath = null;
        byte[] header = new byte[BLOCK];
        while (true) {
            if (!readBlock(header) || isZero(header)) return null;
            long size = octal(header, 124, 12);
            if (size < 0) throw new IOException("tar header with a negative size");
            char type = (char) header[156];
            long pad = (BLOCK - size % BLOCK) % BLOCK;
            if (type == 'x') { // pax extended header: "len key=value\n" records for the next entry
                if (size > 1 << 20) throw new IOException("tar pax header too large: " + size);
                byte[] records = in.readNBytes((int) size);
                skip(pad);
                paxPath = paxValue(new String(records, StandardCharsets.UTF_8), "path");
                continue;
            }
            String path = paxPath != null ? paxPath : name(header);
            paxPath = null;
            if (type == '0' || type == '\0') {
                remaining = size;
                padding = pad;
                return new Entry(path, size);
            }
            skip(size + pad); // directories, links and the like carry nothing we unpack
        }
    }

    /** The data of the entry {@link #next()} returned. */
    byte[] readEntry() throws IOException {
        if (remaining > Integer.MAX_VALUE - 16) throw new IOException("tar entry too large: " + remaining);
        byte[] data = in.readNBytes((int) remaining);
        if (data.length != remaining) throw new EOFException("tar archive ends inside an entry");
        remaining = 0;
        return data;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    private boolean readBlock(byte[] block) throws IOException {
        int read = in.readNBytes(block, 0, BLOCK);
        if (read == 0) return false;
        if (read != BLOCK) throw new EOFException("tar archive ends inside a header");
        return true;
    }

    private void skip(long bytes) throws IOException {
        in.skipNBytes(bytes); // EOFException when the archive ends first
    }

    private static boolean isZero(byte[] block) {
        for (byte b : block) if (b != 0) return false;
        return true;
    }

    private static String name(byte[] header) {
        String name = cString(header, 0, 100);
        String prefix = cString(header, 345, 155); // ustar: the path is prefix/name
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private static String cString(byte[] bytes, int offset, int length) {
        int end = offset;
        while (end < offset + length && bytes[end] != 0) end++;
        return new String(bytes, offset, end - offset, StandardCharsets.UTF_8);
    }

    private static long octal(byte[] bytes, int offset, int length) throws IOException {
        String text = cString(bytes, offset, length).trim();
        if (text.isEmpty()) return 0;
        try {
            return Long.parseLong(text, 8);
        } catch (NumberFormatException e) {
            throw new IOException("tar header with a bad number: " + text, e);
        }
    }

    private static String paxValue(String records, String key) {
        for (String record : records.split("\n")) {
            int space = record.indexOf(' ');
            int equals = record.indexOf('=');
            if (space > 0
                    && equals > space
                    && record.substring(space + 1, equals).equals(key)) {
                return record.substring(equals + 1);
            }
        }
        return null;
    }
}
