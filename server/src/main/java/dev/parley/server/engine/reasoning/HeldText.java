package dev.parley.server.engine.reasoning;

/** Text a parser held back, until the next piece tells what it is. Not thread-safe. */
final class HeldText {
    private final StringBuilder held = new StringBuilder();

    /** What was held, followed by {@code text}; nothing is held any more. */
    String then(String text) {
        String all = held.append(text).toString();
        held.setLength(0);
        return all;
    }

    /** Holds {@code text} from {@code from} on. */
    void hold(String text, int from) {
        held.append(text, from, text.length());
    }
}
