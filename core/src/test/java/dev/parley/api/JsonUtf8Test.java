package dev.parley.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** JSON text to UTF-8 bytes that read back as the text that was written, lone surrogates included. */
class JsonUtf8Test {

    @Test
    void aLoneSurrogateIsWrittenAsItsEscapeAndReadsBackAsItWas() {
        for (String text :
                List.of("x\udfff y", "\ud83d", "end \ud83d", "\ude00\ud83d", "\ud83d\ud83d\ude00", "\udfff\"")) {
            byte[] bytes = Json.bytes(Map.of("content", text));
            String written = new String(bytes, StandardCharsets.UTF_8);
            assertThat(written).as(text).doesNotContain("?");
            assertThat(Json.tree(written).get("content").asText()).as(text).isEqualTo(text);
        }
    }

    @Test
    void wellFormedTextIsPlainUtf8() {
        String text = "{\"content\":\"caf\u00e9 \ud83d\ude00 \u4e2d\"}";
        assertThat(Json.utf8(text)).isEqualTo(text.getBytes(StandardCharsets.UTF_8));
        assertThat(Json.utf8("{\"c\":\"x\ud83d\"}")).isEqualTo("{\"c\":\"x\\ud83d\"}".getBytes(StandardCharsets.UTF_8));
    }
}
