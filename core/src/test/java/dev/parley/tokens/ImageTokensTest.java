package dev.parley.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ContentPart.ImageUrl;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Base64;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImageTokensTest {

    // The examples of OpenAI's vision guide ("Calculating costs").
    @Test
    void costsWhatOpenAIsVisionGuideSays() {
        assertThat(ImageTokens.highDetail(1024, 1024)).isEqualTo(765);
        assertThat(ImageTokens.highDetail(2048, 4096)).isEqualTo(1105);
        assertThat(ImageTokens.count(new ImageUrl(dataUri("png", 4096, 8192), "low")))
                .isEqualTo(85);
    }

    @Test
    void readsTheSizeOfPngGifAndJpegDataUris() throws Exception {
        for (String format : new String[] {"png", "gif", "jpeg"}) {
            String uri = dataUri(format, 1024, 1024);
            assertThat(ImageTokens.sizeOfDataUri(uri)).as(format).containsExactly(1024, 1024);
            assertThat(ImageTokens.count(new ImageUrl(uri, "high"))).as(format).isEqualTo(765);
            assertThat(ImageTokens.count(new ImageUrl(uri, null))).as(format).isEqualTo(765);
        }
        assertThat(ImageTokens.sizeOfDataUri(dataUri("png", 300, 200))).containsExactly(300, 200);
        assertThat(ImageTokens.count(new ImageUrl(dataUri("jpeg", 300, 200), "auto")))
                .isEqualTo(255);
    }

    @Test
    void countsAnImageItCannotMeasureAtTheHighDetailMaximum() {
        assertThat(ImageTokens.count(new ImageUrl("https://example.com/cat.png", "high")))
                .isEqualTo(1445);
        assertThat(ImageTokens.count(new ImageUrl("data:image/png;base64,not-base64!", null)))
                .isEqualTo(1445);
        assertThat(ImageTokens.count(new ImageUrl("data:image/png;base64,iVBORw0K", null)))
                .isEqualTo(1445);
        assertThat(ImageTokens.highDetail(768, 2048)).isEqualTo(1445); // the most: 2 x 4 tiles
    }

    private static String dataUri(String format, int width, int height) {
        var image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        var bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, format, bytes);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return "data:image/" + format + ";base64," + Base64.getEncoder().encodeToString(bytes.toByteArray());
    }
}
