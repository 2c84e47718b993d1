package dev.parley.api;

/**
 * One part of a message whose {@code content} is an array. {@code type} says which of the other
 * components is set: {@code text} (also for {@code refusal}), {@code image_url}, {@code input_audio}
 * or {@code file}. Components that do not belong to the type are null.
 */
public record ContentPart(String type, String text, ImageUrl imageUrl, InputAudio inputAudio, String refusal) {

    public static ContentPart text(String text) {
        return new ContentPart("text", text, null, null, null);
    }

    public static ContentPart imageUrl(String url, String detail) {
        return new ContentPart("image_url", null, new ImageUrl(url, detail), null, null);
    }

    /** An image by URL or {@code data:} URI; {@code detail} ({@code auto}, {@code low}, {@code high}) may be null. */
    public record ImageUrl(String url, String detail) {}

    /** Base64 audio and its format ({@code wav}, {@code mp3}). */
    public record InputAudio(String data, String format) {}
}
