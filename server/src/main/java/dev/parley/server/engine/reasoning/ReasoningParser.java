package dev.parley.server.engine.reasoning;

/**
 * Splits one answer's text, as it is written, into its reasoning and the answer proper ({@link ReasoningSyntax}):
 * markup is left out, and text that may be the start of markup is held back until the next text tells. Not
 * thread-safe: one per answer.
 */
public interface ReasoningParser {

    /** Where the parser sends what it has read. */
    interface Sink {
        void reasoning(String text);

        void content(String text);
    }

    /** Reads the next piece of the answer's text; what it tells goes to {@code sink}. */
    void append(String text, Sink sink);

    /** The answer ended: what was held back goes to {@code sink}. */
    void finish(Sink sink);

    /** Whether the text so far ends inside reasoning (or markup before it): its tokens count as reasoning tokens. */
    boolean inReasoning();

    /** How many characters at the end of {@code text} (after {@code from}) are the start of {@code marker}, not all of it. */
    static int partialSuffix(String text, int from, String marker) {
        for (int k = Math.min(marker.length() - 1, text.length() - from); k > 0; k--) {
            if (text.startsWith(marker.substring(0, k), text.length() - k)) return k;
        }
        return 0;
    }
}
