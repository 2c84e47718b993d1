package dev.parley.server.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The demo model Parley ships: {@code stories260K.gguf}, Karpathy's 260K-parameter TinyStories llama (MIT,
 * see SOURCES.md beside it). It writes short children's stories, is not instruction-tuned and has no chat
 * template.
 *
 * <p>Thread-safe. The file is a classpath resource; inside a jar it is copied once per JVM to a temporary
 * file that is deleted on exit.
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
        try {
            if ("file".equals(url.getProtocol())) {
                return Path.of(url.toURI());
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
}
