package dev.parley.server.demo;

import dev.parley.server.CacheFolder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.jar.JarEntry;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;

/**
 * The demo model Parley ships: {@code stories260K.gguf}, Karpathy's 260K-parameter TinyStories llama (MIT,
 * see SOURCES.md beside it). It writes short children's stories, is not instruction-tuned and has no chat
 * template.
 *
 * <p>Thread-safe. The file is a classpath resource. Inside a jar, where llama.cpp cannot read it, it is taken out
 * once into the {@link CacheFolder} ({@code demo/stories260K-<its CRC-32>.gguf}, written beside and moved into
 * place whole) and found there by later starts, after a check of its length and CRC-32 against the jar's entry: a
 * start no longer inflates and writes a megabyte, and a process killed before its exit leaves no temporary copy
 * behind. Where the cache cannot be written, a temporary copy deleted on exit is used instead.
 */
public final class DemoModel {
    /** The model id the server gives it: the file's base name. */
    public static final String ID = "stories260K";

    private static final String RESOURCE = "stories260K.gguf";

    private DemoModel() {}

    /** A file system path to the GGUF file. */
    public static Path path() {
        return Holder.PATH;
    }

    private static final class Holder {
        static final Path PATH = locate();
    }

    private static Path locate() {
        URL url = DemoModel.class.getResource(RESOURCE);
        if (url == null) {
            throw new IllegalStateException("demo model resource " + RESOURCE + " is missing from the classpath");
        }
        return locate(url, CacheFolder.root());
    }

    /**
     * The resource itself when it is a file; else its copy under {@code cacheRoot}, made now unless a whole one is
     * there; else (the cache cannot be written) a temporary copy.
     */
    static Path locate(URL url, Path cacheRoot) {
        try {
            if ("file".equals(url.getProtocol())) {
                return Path.of(url.toURI());
            }
            if (url.openConnection() instanceof JarURLConnection jar) {
                JarEntry entry = jar.getJarEntry(); // its length and CRC-32 from the jar's directory, nothing inflated
                if (entry.getCrc() >= 0 && entry.getSize() >= 0) {
                    try {
                        return cached(url, entry.getCrc(), entry.getSize(), cacheRoot.resolve("demo"));
                    } catch (IOException e) {
                        // a read-only home, a full disk: the temporary copy below still serves
                    }
                }
            }
            Path file = Files.createTempFile("parley-" + ID + "-", ".gguf");
            file.toFile().deleteOnExit();
            try (InputStream in = url.openStream()) {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the demo model", e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("unexpected resource URL " + url, e);
        }
    }

    /** The copy in {@code folder} of the entry with this CRC-32 and length, written now unless a whole one is there. */
    private static Path cached(URL url, long crc, long size, Path folder) throws IOException {
        Path file = folder.resolve("%s-%08x.gguf".formatted(ID, crc));
        if (Files.isRegularFile(file) && Files.size(file) == size && crc32(file) == crc) return file;
        Files.createDirectories(folder);
        Path partial = Files.createTempFile(folder, ".partial-", ".gguf");
        try {
            long written;
            var checksum = new CRC32();
            try (InputStream in = new CheckedInputStream(url.openStream(), checksum)) {
                written = Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
            }
            if (written != size || checksum.getValue() != crc)
                throw new IOException("the jar's demo model read back as %d bytes with CRC-32 %08x, not %d and %08x"
                        .formatted(written, checksum.getValue(), size, crc));
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return file;
        } finally {
            Files.deleteIfExists(partial);
        }
    }

    private static long crc32(Path file) throws IOException {
        var checksum = new CRC32();
        try (InputStream in = new CheckedInputStream(Files.newInputStream(file), checksum)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return checksum.getValue();
    }
}
