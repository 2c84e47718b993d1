package dev.parley.server.engine.template;

/** One lexeme of a template: text between tags, a tag's delimiters, or a word, literal or operator inside a tag. */
record Token(Type type, String text, int line) {
    enum Type {
        DATA,
        VARIABLE_BEGIN,
        VARIABLE_END,
        BLOCK_BEGIN,
        BLOCK_END,
        NAME,
        STRING,
        INTEGER,
        FLOAT,
        OPERATOR,
        END
    }

    boolean is(Type type, String text) {
        return this.type == type && this.text.equals(text);
    }

    boolean isName(String name) {
        return is(Type.NAME, name);
    }

    boolean isOperator(String operator) {
        return is(Type.OPERATOR, operator);
    }
}
