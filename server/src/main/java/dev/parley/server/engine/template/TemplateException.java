package dev.parley.server.engine.template;

/**
 * A template that cannot be compiled, or that refuses a context while rendering: a syntax error, a Python type error,
 * an undefined value used where jinja2 raises, a {@code raise_exception(...)} of the template itself, an operation the
 * sandbox forbids, or a render that exceeds its bounds.
 */
public final class TemplateException extends RuntimeException {
    /** Which jinja2 exception (or bound) this corresponds to. */
    public enum Kind {
        /** Not valid jinja2, or a filter or test jinja2 does not have. */
        SYNTAX,
        /** {@code raise_exception(message)} called by the template: the template refuses the conversation. */
        RAISED,
        TYPE,
        UNDEFINED,
        SECURITY,
        /** Loop iterations, output size or nesting exceeded the render's bounds. */
        LIMIT
    }

    private final Kind kind;

    TemplateException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** @param line 1-based, or 0 when not known */
    static TemplateException syntax(int line, String message) {
        return new TemplateException(Kind.SYNTAX, line > 0 ? "line " + line + ": " + message : message);
    }

    static TemplateException type(String message) {
        return new TemplateException(Kind.TYPE, message);
    }

    static TemplateException undefined(String message) {
        return new TemplateException(Kind.UNDEFINED, message);
    }
}
