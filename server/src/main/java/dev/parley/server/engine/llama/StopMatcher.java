package dev.parley.server.engine.llama;

import java.util.List;

/**
 * Finds stop sequences in generated text that arrives in pieces, also when a sequence spans pieces.
 * Text that might be the start of a stop sequence is held back until it is known not to be; the stop
 * sequence itself is never released.
 *
 * <p>Not thread-safe: one matcher follows one choice.
 */
final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = stops == null ? List.of() : List.copyOf(stops);
    }

    /** Adds text; returns what can be released now. After a stop sequence is seen, {@link #stopped()} is true. */
    String append(String text) {
        if (stopped) return "";
        if (stops.isEmpty()) return text;
        held.append(text);
        int first = -1;
        for (String stop : stops) {
            int at = held.indexOf(stop);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        if (first >= 0) {
            stopped = true;
            String released = held.substring(0, first);
            held.setLength(0);
            return released;
        }
        int keep = longestSuffixThatStartsAStop();
        String released = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return released;
    }

    /** Releases what was held back, at the end of generation. */
    String finish() {
        String rest = held.toString();
        held.setLength(0);
        return stopped ? "" : rest;
    }

    boolean stopped() {
        return stopped;
    }

    private int longestSuffixThatStartsAStop() {
        String text = held.toString();
        int best = 0;
        for (String stop : stops) {
            for (int length = Math.min(stop.length() - 1, text.length()); length > best; length--) {
                if (text.regionMatches(text.length() - length, stop, 0, length)) {
                    best = length;
                    break;
                }
            }
        }
        return best;
    }
}
