package dev.parley.server.engine.template;

import dev.parley.server.engine.template.Token.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Builds the statement tree from tokens, following jinja2's grammar; expressions are {@link ExpressionParser}'s. */
final class Parser extends ExpressionParser {
    private Parser(List<Token> tokens) {
        super(tokens);
    }

    static List<Node> parse(String source) {
        Parser parser = new Parser(Lexer.tokenize(source));
        List<Node> body = parser.body(Set.of());
        if (parser.peek().type() != Type.END)
            throw parser.error("unexpected '" + parser.peek().text() + "'");
        KnownNames.check(body, false);
        return Folding.fold(body);
    }

    /** Statements up to (not including) a block whose tag is one of {@code ends}; the caller consumes it. */
    private List<Node> body(Set<String> ends) {
        enter();
        List<Node> nodes = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.type()) {
                case END -> {
                    if (!ends.isEmpty()) throw error("unexpected end of template, expected one of " + ends);
                    leave();
                    return nodes;
                }
                case DATA -> {
                    next();
                    nodes.add(new Node.Text(t.text()));
                }
                case VARIABLE_BEGIN -> {
                    next();
                    nodes.add(new Node.Output(tuple(true)));
                    expect(Type.VARIABLE_END);
                }
                case BLOCK_BEGIN -> {
                    Token tag = peek(1);
                    if (tag.type() == Type.NAME && ends.contains(tag.text())) {
                        leave();
                        return nodes;
                    }
                    next();
                    nodes.add(statement(name()));
                }
                default -> throw error("unexpected '" + t.text() + "'");
            }
        }
    }

    private Node statement(String tag) {
        return switch (tag) {
            case "if" -> ifStatement();
            case "for" -> forStatement();
            case "set" -> setStatement();
            case "macro" -> macro();
            case "call" -> callBlock();
            case "filter" -> filterBlock();
            case "with" -> withBlock();
            case "generation" -> {
                blockEnd();
                List<Node> body = body(Set.of("endgeneration"));
                endTag("endgeneration");
                yield new Node.Scoped(body);
            }
            case "break" -> {
                blockEnd();
                yield new Node.Break();
            }
            case "continue" -> {
                blockEnd();
                yield new Node.Continue();
            }
            default -> throw error("unknown tag '" + tag + "'");
        };
    }

    private Node ifStatement() {
        List<Expr> tests = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        List<Node> otherwise = List.of();
        tests.add(tuple(false));
        blockEnd();
        while (true) {
            bodies.add(body(Set.of("elif", "else", "endif")));
            next(); // BLOCK_BEGIN
            String tag = name();
            if (tag.equals("elif")) {
                tests.add(tuple(false));
                blockEnd();
            } else if (tag.equals("else")) {
                blockEnd();
                otherwise = body(Set.of("endif"));
                endTag("endif");
                break;
            } else {
                blockEnd();
                break;
            }
        }
        return new Node.If(tests, bodies, otherwise);
    }

    private Node forStatement() {
        List<String> targets = targets();
        expectName("in");
        Expr iterable = tuple(false);
        Expr filter = null;
        if (peek().isName("if")) {
            next();
            filter = expression(true);
        }
        if (peek().isName("recursive")) throw error("recursive loops are not supported");
        blockEnd();
        List<Node> body = body(Set.of("else", "endfor"));
        List<Node> otherwise = List.of();
        next();
        if (name().equals("else")) {
            blockEnd();
            otherwise = body(Set.of("endfor"));
            endTag("endfor");
        } else {
            blockEnd();
        }
        return new Node.For(targets, iterable, filter, body, otherwise);
    }

    private List<String> targets() {
        List<String> names = new ArrayList<>();
        boolean parenthesised = peek().isOperator("(");
        if (parenthesised) next();
        names.add(name());
        while (peek().isOperator(",")) {
            next();
            if (peek().type() != Type.NAME || peek().isName("in")) break;
            names.add(name());
        }
        if (parenthesised) expectOperator(")");
        return names;
    }

    private Node setStatement() {
        String first = name();
        if (peek().isOperator(".")) {
            next();
            String attribute = name();
            expectOperator("=");
            Expr value = tuple(true);
            blockEnd();
            return new Node.Set(List.of(first), attribute, value);
        }
        List<String> names = new ArrayList<>(List.of(first));
        while (peek().isOperator(",")) {
            next();
            names.add(name());
        }
        if (peek().isOperator("=")) {
            next();
            Expr value = tuple(true);
            blockEnd();
            return new Node.Set(names, null, value);
        }
        Expr.Filter filter = null;
        if (peek().isOperator("|")) filter = filterChain(new Expr.Literal(""));
        blockEnd();
        List<Node> body = body(Set.of("endset"));
        endTag("endset");
        return new Node.SetBlock(first, filter, body);
    }

    private Node macro() {
        String name = name();
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        parameters(params, defaults);
        blockEnd();
        List<Node> body = body(Set.of("endmacro"));
        endTag("endmacro");
        return new Node.Macro(name, params, defaults, body);
    }

    private void parameters(List<String> params, List<Expr> defaults) {
        expectOperator("(");
        while (!peek().isOperator(")")) {
            if (!params.isEmpty()) expectOperator(",");
            if (peek().isOperator(")")) break;
            params.add(name());
            if (peek().isOperator("=")) {
                next();
                defaults.add(expression(true));
            } else {
                defaults.add(null);
            }
        }
        next();
    }

    private Node callBlock() {
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        if (peek().isOperator("(")) parameters(params, defaults);
        Expr call = expression(true);
        if (!(call instanceof Expr.Call c)) throw error("expected a call");
        blockEnd();
        List<Node> body = body(Set.of("endcall"));
        endTag("endcall");
        return new Node.CallBlock(c, params, defaults, body);
    }

    private Node filterBlock() {
        Expr.Filter filter = filterChain(new Expr.Literal(""), true);
        blockEnd();
        List<Node> body = body(Set.of("endfilter"));
        endTag("endfilter");
        return new Node.FilterBlock(filter, body);
    }

    /** {@code with a = 1, b = 2}...{@code endwith}. */
    private Node withBlock() {
        List<String> names = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (peek().type() != Type.BLOCK_END) {
            if (!names.isEmpty()) expectOperator(",");
            names.add(name());
            expectOperator("=");
            values.add(expression(true));
        }
        blockEnd();
        List<Node> body = body(Set.of("endwith"));
        endTag("endwith");
        return new Node.With(names, values, body);
    }

    private void endTag(String tag) {
        expect(Type.BLOCK_BEGIN);
        expectName(tag);
        blockEnd();
    }

    private void blockEnd() {
        expect(Type.BLOCK_END);
    }
}
