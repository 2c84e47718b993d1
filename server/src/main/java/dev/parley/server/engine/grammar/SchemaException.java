package dev.parley.server.engine.grammar;

/**
 * A JSON Schema that cannot become a grammar: it uses a keyword or a value the converter cannot honour, is
 * malformed, or would make a grammar too large to sample with. The message names the keyword and its JSON
 * pointer (RFC 6901, relative to the schema's root), e.g.
 * {@code Unsupported JSON Schema keyword 'not' at /properties/x/not}; a server answers it as a 400.
 */
public final class SchemaException extends RuntimeException {
    private final String pointer;

    SchemaException(String message, String pointer) {
        super(message);
        this.pointer = pointer;
    }

    /** Where in the schema the problem is: {@code ""} for the root, else {@code /properties/x/not} and the like. */
    public String pointer() {
        return pointer;
    }

    static SchemaException unsupported(Pointer at) {
        return new SchemaException(
                "Unsupported JSON Schema keyword '%s' at %s".formatted(at.last(), at.display()), at.toString());
    }

    static SchemaException unsupported(Pointer at, String what) {
        return new SchemaException(
                "Unsupported JSON Schema keyword '%s' at %s: %s".formatted(at.last(), at.display(), what),
                at.toString());
    }

    static SchemaException invalid(Pointer at, String problem) {
        return new SchemaException("Invalid JSON Schema at %s: %s".formatted(at.display(), problem), at.toString());
    }

    static SchemaException tooLarge(Pointer at, String problem) {
        return new SchemaException(
                "JSON Schema too large for a grammar at %s: %s".formatted(at.display(), problem), at.toString());
    }
}
