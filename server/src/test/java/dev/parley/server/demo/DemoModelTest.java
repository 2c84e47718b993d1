package dev.parley.server.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoModelTest {
    private static final String SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";

    @Test
    void shipsTheStories260KFileNamedInSources() throws Exception {
        byte[] bytes = Files.readAllBytes(DemoModel.path());

        assertThat(bytes).hasSize(1_185_376);
        assertThat(sha256(bytes)).isEqualTo(SHA256);
        assertThat(DemoModel.path()).isSameAs(DemoModel.path());
    }

    @Test
    void copiesTheModelOutOfAJarToAFileLlamaCppCanRead(@TempDir Path dir) throws Exception {
        Path jar = dir.resolve("server.jar");
        String entry = "dev/parley/server/demo/stories260K.gguf";
        try (OutputStream out = Files.newOutputStream(jar);
                JarOutputStream jarOut = new JarOutputStream(out)) {
            jarOut.putNextEntry(new JarEntry(entry));
            jarOut.write(Files.readAllBytes(DemoModel.path()));
            jarOut.closeEntry();
        }

        Path extracted =
                DemoModel.locate(URI.create("jar:" + jar.toUri() + "!/" + entry).toURL());

        assertThat(extracted).isRegularFile().isNotEqualTo(DemoModel.path());
        assertThat(sha256(Files.readAllBytes(extracted))).isEqualTo(SHA256);
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
