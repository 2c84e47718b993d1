package dev.parley.server.engine.template;

import dev.parley.server.engine.template.Token.Type;
import java.util.List;

/** The token cursor the parsers share: look ahead, consume, expect, and a bound on nesting. */
abstract class TokenReader {
    /** Nesting of statements and expressions; deeper is refused rather than overflowing the stack. */
    private static final int MAX_DEPTH = 200;

    final List<Token> tokens;
    int at;
    int depth;

    TokenReader(List<Token> tokens) {
        this.tokens = tokens;
    }

    Token peek(int ahead) {
        return tokens.get(Math.min(at + ahead, tokens.size() - 1));
    }

    void enter() {
        if (++depth > MAX_DEPTH)
            throw new TemplateException(TemplateException.Kind.LIMIT, "template nested too deeply");
    }

    Token peek() {
        return tokens.get(at);
    }

    Token next() {
        Token t = tokens.get(at);
        if (t.type() != Type.END) at++;
        return t;
    }

    String name() {
        Token t = next();
        if (t.type() != Type.NAME) throw error("expected a name, got '" + t.text() + "'");
        return t.text();
    }

    void expect(Type type) {
        Token t = next();
        if (t.type() != type) {
            throw error("expected " + type.name().toLowerCase().replace('_', ' ') + ", got '" + t.text() + "'");
        }
    }

    void expectName(String name) {
        if (!next().isName(name)) throw error("expected '" + name + "'");
    }

    void expectOperator(String op) {
        Token t = next();
        if (!t.isOperator(op)) throw error("expected '" + op + "', got '" + t.text() + "'");
    }

    TemplateException error(String message) {
        return TemplateException.syntax(tokens.get(Math.max(0, at - 1)).line(), message);
    }

    void leave() {
        depth--;
    }
}
