package dev.parley.tokens;

import dev.parley.api.ContentPart.ImageUrl;
import java.nio.ByteBuffer;
import java.util.Base64;

/**
 * Prompt tokens of one image part, by OpenAI's published rule for its vision models: {@code detail: low} costs
 * 85; otherwise the image is scaled to fit 2048×2048, then so its shorter side is at most 768, and costs 85
 * plus 170 per 512-pixel tile covering it. {@code auto} is counted as {@code high}.
 *
 * <p>The size is read from the header of a {@code data:} URI's image (PNG, GIF, JPEG). Nothing is fetched:
 * an image behind a URL, or in another format, is counted at the most a high-detail image can cost
 * ({@value #MOST}: 2×4 tiles), so an estimate made for rate limiting errs high.
 */
final class ImageTokens {

    static final int LOW = 85;
    static final int PER_TILE = 170;
    static final int MOST = LOW + 8 * PER_TILE;

    private ImageTokens() {}

    static int count(ImageUrl image) {
        if ("low".equals(image.detail())) return LOW;
        int[] size = image.url() == null ? null : sizeOfDataUri(image.url());
        return size == null ? MOST : highDetail(size[0], size[1]);
    }

    static int highDetail(int width, int height) {
        double w = width;
        double h = height;
        if (Math.max(w, h) > 2048) {
            double scale = 2048 / Math.max(w, h);
            w *= scale;
            h *= scale;
        }
        if (Math.min(w, h) > 768) {
            double scale = 768 / Math.min(w, h);
            w *= scale;
            h *= scale;
        }
        long tiles = (long) Math.ceil(w / 512) * (long) Math.ceil(h / 512);
        return (int) (LOW + PER_TILE * tiles);
    }

    /** {width, height} of a base64 {@code data:} URI's PNG, GIF or JPEG; null when it cannot be read. */
    static int[] sizeOfDataUri(String url) {
        if (!url.startsWith("data:")) return null;
        int comma = url.indexOf(',');
        if (comma < 0 || !url.substring(0, comma).endsWith(";base64")) return null;
        try {
            return sizeOf(ByteBuffer.wrap(Base64.getMimeDecoder().decode(url.substring(comma + 1))));
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            return null; // not base64, or a truncated header: count it as an image of unknown size
        }
    }

    private static int[] sizeOf(ByteBuffer b) {
        if (b.remaining() >= 24 && b.getInt(0) == 0x89504E47 && b.getInt(12) == 0x49484452) { // PNG, IHDR
            return new int[] {b.getInt(16), b.getInt(20)};
        }
        if (b.remaining() >= 10 && b.get(0) == 'G' && b.get(1) == 'I' && b.get(2) == 'F') {
            return new int[] {
                Short.toUnsignedInt(Short.reverseBytes(b.getShort(6))),
                Short.toUnsignedInt(Short.reverseBytes(b.getShort(8)))
            };
        }
        if (b.remaining() >= 4 && Short.toUnsignedInt(b.getShort(0)) == 0xFFD8) return jpegSize(b);
        return null;
    }

    // Walks the JPEG segments to the first start-of-frame marker, which holds height then width.
    private static int[] jpegSize(ByteBuffer b) {
        int at = 2;
        while (at + 9 < b.limit()) {
            if (Byte.toUnsignedInt(b.get(at)) != 0xFF) return null;
            int marker = Byte.toUnsignedInt(b.get(at + 1));
            if (marker == 0xFF) { // fill byte
                at++;
                continue;
            }
            boolean startOfFrame =
                    marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (startOfFrame) {
                return new int[] {Short.toUnsignedInt(b.getShort(at + 7)), Short.toUnsignedInt(b.getShort(at + 5))};
            }
            at += 2 + Short.toUnsignedInt(b.getShort(at + 2));
        }
        return null;
    }
}
