package dev.parley.server.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class DemoModelTest {
    @Test
    void shipsTheStories260KFileNamedInSources() throws Exception {
        byte[] bytes = Files.readAllBytes(DemoModel.path());

        assertThat(bytes).hasSize(1_185_376);
        assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)))
                .isEqualTo("270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
        assertThat(DemoModel.path()).isSameAs(DemoModel.path());
    }
}
