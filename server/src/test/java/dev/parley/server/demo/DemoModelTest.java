package dev.parley.server.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
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
    void takesTheModelOutOfAJarIntoTheCacheOnceAndFindsItThereAfter(@TempDir Path dir) throws Exception {
        URL url = inJar(dir);
        Path cache = dir.resolve("cache");

        Path extracted = DemoModel.locate(url, cache);

        assertThat(extracted).isRegularFile().isNotEqualTo(DemoModel.path());
        assertThat(extracted.getParent()).isEqualTo(cache.resolve("demo"));
        assertThat(sha256(Files.readAllBytes(extracted))).isEqualTo(SHA256);
        // A later start finds the whole copy and writes nothing.
        FileTime written = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(extracted, written);
        assertThat(DemoModel.locate(url, cache)).isEqualTo(extracted);
        assertThat(Files.getLastModifiedTime(extracted)).isEqualTo(written);
        try (var files = Files.list(cache.resolve("demo"))) {
            assertThat(files).containsExactly(extracted); // no partial copy left beside it
        }
    }

    @Test
    void aDamagedCopyInTheCacheIsWrittenAgain(@TempDir Path dir) throws Exception {
        URL url = inJar(dir);
        Path cache = dir.resolve("cache");
        Path extracted = DemoModel.locate(url, cache);
        byte[] damaged = Files.readAllBytes(extracted);
        damaged[damaged.length / 2] ^= 1; // same length, one bit flipped
        Files.write(extracted, damaged);

        assertThat(DemoModel.locate(url, cache)).isEqualTo(extracted);
        assertThat(sha256(Files.readAllBytes(extracted))).isEqualTo(SHA256);

        Files.write(extracted, new byte[10]); // cut short
        assertThat(DemoModel.locate(url, cache)).isEqualTo(extracted);
        assertThat(sha256(Files.readAllBytes(extracted))).isEqualTo(SHA256);
    }

    @Test
    void aCacheThatCannotBeWrittenFallsBackToATemporaryCopy(@TempDir Path dir) throws Exception {
        URL url = inJar(dir);
        Path notAFolder = Files.writeString(dir.resolve("cache"), "a file where the cache folder would be");

        Path extracted = DemoModel.locate(url, notAFolder);

        assertThat(extracted).isRegularFile();
        assertThat(extracted.startsWith(notAFolder)).isFalse();
        assertThat(sha256(Files.readAllBytes(extracted))).isEqualTo(SHA256);
        Files.delete(extracted);
    }

    /** The demo model as an entry of a jar in {@code dir}, as the server's runnable jar holds it. */
    private static URL inJar(Path dir) throws Exception {
        Path jar = dir.resolve("server.jar");
        String entry = "dev/parley/server/demo/stories260K.gguf";
        try (OutputStream out = Files.newOutputStream(jar);
                JarOutputStream jarOut = new JarOutputStream(out)) {
            jarOut.putNextEntry(new JarEntry(entry));
            jarOut.write(Files.readAllBytes(DemoModel.path()));
            jarOut.closeEntry();
        }
        return URI.create("jar:" + jar.toUri() + "!/" + entry).toURL();
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
