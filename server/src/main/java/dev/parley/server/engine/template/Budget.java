package dev.parley.server.engine.template;

/**
 * The bounds of one render, so that a hostile template cannot hang a thread, exhaust memory or overflow the stack:
 * loop iterations and calls, characters of output and of any one string, list sizes, and call depth.
 * Exceeding one throws a {@link TemplateException} of kind {@code LIMIT}.
 */
final class Budget {
    // Some published templates are quadratic in the number of messages (Gemma 4 looks back from each message):
    // 50 million steps is a few seconds of work, and a few thousand messages on those templates.
    static final long DEFAULT_STEPS = 50_000_000;
    static final int DEFAULT_CHARS = 16 * 1024 * 1024;
    static final int MAX_DEPTH = 64;

    private final long maxSteps;
    private final int maxChars;
    private long steps;
    private int depth;

    Budget(long maxSteps, int maxChars) {
        this.maxSteps = maxSteps;
        this.maxChars = maxChars;
    }

    /** One more loop iteration or call. */
    void step() {
        if (++steps > maxSteps) throw limit("more than " + maxSteps + " loop iterations and calls");
    }

    String string(String s) {
        if (s.length() > maxChars) throw limit("a string longer than " + maxChars + " characters");
        return s;
    }

    /** Python's {@code s * times}, refused before it is built if it would be too long. */
    String repeat(String s, long times) {
        if (times <= 0 || s.isEmpty()) return "";
        if (times > maxChars / s.length()) throw limit("a string longer than " + maxChars + " characters");
        return s.repeat((int) times);
    }

    void items(int count) {
        if (count > maxChars) throw limit("a list longer than " + maxChars + " items");
    }

    void output(int length) {
        if (length > maxChars) throw limit("output longer than " + maxChars + " characters");
    }

    void enter() {
        if (++depth > MAX_DEPTH) throw limit("calls nested more than " + MAX_DEPTH + " deep");
    }

    void leave() {
        depth--;
    }

    private static TemplateException limit(String what) {
        return new TemplateException(TemplateException.Kind.LIMIT, "template exceeded its bounds: " + what);
    }
}
