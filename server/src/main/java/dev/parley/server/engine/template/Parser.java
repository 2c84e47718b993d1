package dev.parley.server.engine.template;

import dev.parley.server.engine.template.Expr.Args;
import dev.parley.server.engine.template.Token.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Builds the statement tree from tokens, following jinja2's grammar and operator precedence. */
final class Parser {
    private static final int MAX_DEPTH =
            200; // nesting of statements and expressions; deeper is refused, not a stack overflow

    private final List<Token> tokens;
    private int at;
    private int depth;

    private Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    static List<Node> parse(String source) {
        Parser parser = new Parser(Lexer.tokenize(source));
        List<Node> body = parser.body(Set.of());
        if (parser.peek().type() != Type.END)
            throw parser.error("unexpected '" + parser.peek().text() + "'");
        KnownNames.check(body, false);
        return body;
    }

    // ---- statements

    /** Statements up to (not including) a block whose tag is one of {@code ends}; the caller consumes it. */
    private List<Node> body(Set<String> ends) {
        enter();
        List<Node> nodes = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.type()) {
                case END -> {
                    if (!ends.isEmpty()) throw error("unexpected end of template, expected one of " + ends);
                    depth--;
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
                    Token tag = tokens.get(at + 1);
                    if (tag.type() == Type.NAME && ends.contains(tag.text())) {
                        depth--;
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

    // ---- expressions

    /** An expression, or several separated by commas (an implicit tuple). */
    private Expr tuple(boolean conditional) {
        Expr first = expression(conditional);
        if (!peek().isOperator(",")) return first;
        List<Expr> items = new ArrayList<>(List.of(first));
        while (peek().isOperator(",")) {
            next();
            if (tupleEnds()) break;
            items.add(expression(conditional));
        }
        return new Expr.TupleOf(items);
    }

    private boolean tupleEnds() {
        Token t = peek();
        return t.type() == Type.VARIABLE_END
                || t.type() == Type.BLOCK_END
                || t.isOperator(")")
                || t.isOperator("=")
                || t.isName("in");
    }

    private Expr expression(boolean conditional) {
        enter();
        Expr e = conditional ? conditional() : or();
        depth--;
        return e;
    }

    private Expr conditional() {
        Expr then = or();
        while (peek().isName("if")) {
            next();
            Expr test = or();
            Expr otherwise = null;
            if (peek().isName("else")) {
                next();
                otherwise = conditional();
            }
            then = new Expr.Conditional(test, then, otherwise);
        }
        return then;
    }

    private Expr or() {
        Expr left = and();
        while (peek().isName("or")) {
            next();
            left = new Expr.Binary("or", left, and());
        }
        return left;
    }

    private Expr and() {
        Expr left = not();
        while (peek().isName("and")) {
            next();
            left = new Expr.Binary("and", left, not());
        }
        return left;
    }

    private Expr not() {
        if (peek().isName("not")) {
            next();
            enter();
            Expr operand = not();
            depth--;
            return new Expr.Unary("not", operand);
        }
        return compare();
    }

    private static final Set<String> COMPARISONS = Set.of("==", "!=", "<", ">", "<=", ">=");

    private Expr compare() {
        Expr first = sum();
        List<String> ops = new ArrayList<>();
        List<Expr> operands = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.type() == Type.OPERATOR && COMPARISONS.contains(t.text())) {
                next();
                ops.add(t.text());
            } else if (t.isName("in")) {
                next();
                ops.add("in");
            } else if (t.isName("not") && tokens.get(at + 1).isName("in")) {
                next();
                next();
                ops.add("not in");
            } else {
                break;
            }
            operands.add(sum());
        }
        return ops.isEmpty() ? first : new Expr.Compare(first, ops, operands);
    }

    private Expr sum() {
        Expr left = concat();
        while (peek().isOperator("+") || peek().isOperator("-")) {
            String op = next().text();
            left = new Expr.Binary(op, left, concat());
        }
        return left;
    }

    private Expr concat() {
        Expr left = product();
        while (peek().isOperator("~")) {
            next();
            left = new Expr.Binary("~", left, product());
        }
        return left;
    }

    private Expr product() {
        Expr left = power();
        while (peek().isOperator("*") || peek().isOperator("/") || peek().isOperator("//") || peek().isOperator("%")) {
            String op = next().text();
            left = new Expr.Binary(op, left, power());
        }
        return left;
    }

    private Expr power() {
        Expr left = unary(true);
        while (peek().isOperator("**")) {
            next();
            left = new Expr.Binary("**", left, unary(true));
        }
        return left;
    }

    private Expr unary(boolean withFilters) {
        Expr e;
        if (peek().isOperator("-") || peek().isOperator("+")) {
            String op = next().text();
            enter();
            e = new Expr.Unary(op, unary(false));
            depth--;
        } else {
            e = postfix(primary());
        }
        return withFilters ? filters(e) : e;
    }

    private Expr primary() {
        Token t = next();
        return switch (t.type()) {
            case NAME ->
                switch (t.text()) {
                    case "true", "True" -> new Expr.Literal(true);
                    case "false", "False" -> new Expr.Literal(false);
                    case "none", "None" -> new Expr.Literal(null);
                    default -> new Expr.Name(t.text());
                };
            case STRING -> {
                StringBuilder s = new StringBuilder(Strings.decode(t.text()));
                while (peek().type() == Type.STRING) s.append(Strings.decode(next().text()));
                yield new Expr.Literal(s.toString());
            }
            case INTEGER -> {
                try {
                    yield new Expr.Literal(Long.parseLong(t.text()));
                } catch (NumberFormatException e) {
                    throw error("integer too large: " + t.text());
                }
            }
            case FLOAT -> new Expr.Literal(Double.parseDouble(t.text()));
            case OPERATOR ->
                switch (t.text()) {
                    case "(" -> parenthesised();
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        while (!peek().isOperator("]")) {
                            if (!items.isEmpty()) expectOperator(",");
                            if (peek().isOperator("]")) break;
                            items.add(expression(true));
                        }
                        next();
                        yield new Expr.ListOf(items);
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>();
                        List<Expr> values = new ArrayList<>();
                        while (!peek().isOperator("}")) {
                            if (!keys.isEmpty()) expectOperator(",");
                            if (peek().isOperator("}")) break;
                            keys.add(expression(true));
                            expectOperator(":");
                            values.add(expression(true));
                        }
                        next();
                        yield new Expr.DictOf(keys, values);
                    }
                    default -> throw error("unexpected '" + t.text() + "'");
                };
            default -> throw error("unexpected " + (t.type() == Type.END ? "end of template" : "'" + t.text() + "'"));
        };
    }

    private Expr parenthesised() {
        if (peek().isOperator(")")) {
            next();
            return new Expr.TupleOf(List.of());
        }
        Expr first = expression(true);
        if (peek().isOperator(")")) {
            next();
            return first;
        }
        List<Expr> items = new ArrayList<>(List.of(first));
        while (peek().isOperator(",")) {
            next();
            if (peek().isOperator(")")) break;
            items.add(expression(true));
        }
        expectOperator(")");
        return new Expr.TupleOf(items);
    }

    private Expr postfix(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOperator(".")) {
                next();
                Token attr = next();
                if (attr.type() == Type.NAME) e = new Expr.Attribute(e, attr.text());
                else if (attr.type() == Type.INTEGER)
                    e = new Expr.Item(e, new Expr.Literal(Long.parseLong(attr.text())));
                else throw error("expected a name after '.'");
            } else if (t.isOperator("[")) {
                next();
                e = subscript(e);
            } else if (t.isOperator("(")) {
                next();
                e = new Expr.Call(e, args());
            } else {
                return e;
            }
        }
    }

    private Expr subscript(Expr object) {
        Expr start = null;
        if (!peek().isOperator(":")) {
            start = expression(true);
            if (peek().isOperator("]")) {
                next();
                return new Expr.Item(object, start);
            }
        }
        expectOperator(":");
        Expr stop = peek().isOperator("]") || peek().isOperator(":") ? null : expression(true);
        Expr step = null;
        if (peek().isOperator(":")) {
            next();
            if (!peek().isOperator("]")) step = expression(true);
        }
        expectOperator("]");
        return new Expr.Slice(object, start, stop, step);
    }

    /** Call arguments after the opening parenthesis, through the closing one. */
    private Args args() {
        List<Expr> positional = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Expr> named = new ArrayList<>();
        boolean first = true;
        while (!peek().isOperator(")")) {
            if (!first) expectOperator(",");
            first = false;
            if (peek().isOperator(")")) break;
            if (peek().type() == Type.NAME && tokens.get(at + 1).isOperator("=")) {
                names.add(next().text());
                next();
                named.add(expression(true));
            } else {
                if (!names.isEmpty()) throw error("positional argument after a named one");
                positional.add(expression(true));
            }
        }
        next();
        return new Args(positional, names, named);
    }

    private Expr filters(Expr e) {
        while (true) {
            if (peek().isOperator("|")) {
                e = filterChain(e);
            } else if (peek().isName("is")) {
                next();
                e = test(e);
            } else if (peek().isOperator("(")) {
                next();
                e = new Expr.Call(e, args());
            } else {
                return e;
            }
        }
    }

    private Expr.Filter filterChain(Expr value) {
        return filterChain(value, false);
    }

    /** One or more {@code | name(args)}; {@code inline} when the first name has no leading bar (the filter tag). */
    private Expr.Filter filterChain(Expr value, boolean inline) {
        Expr.Filter filter = null;
        Expr current = value;
        boolean first = true;
        while ((first && inline) || peek().isOperator("|")) {
            if (!(first && inline)) next();
            first = false;
            String name = dottedName();
            Args args = Args.NONE;
            if (peek().isOperator("(")) {
                next();
                args = args();
            }
            filter = new Expr.Filter(current, name, args);
            current = filter;
        }
        return filter;
    }

    private Expr test(Expr value) {
        boolean negated = false;
        if (peek().isName("not")) {
            next();
            negated = true;
        }
        String name = dottedName();
        Args args = Args.NONE;
        Token t = peek();
        if (t.isOperator("(")) {
            next();
            args = args();
        } else if ((t.type() == Type.NAME
                        || t.type() == Type.STRING
                        || t.type() == Type.INTEGER
                        || t.type() == Type.FLOAT
                        || t.isOperator("[")
                        || t.isOperator("{"))
                && !t.isName("else")
                && !t.isName("or")
                && !t.isName("and")) {
            if (t.isName("is")) throw error("you cannot chain multiple tests with is");
            args = new Args(List.of(postfix(primary())), List.of(), List.of());
        }
        return new Expr.Test(value, name, args, negated);
    }

    private String dottedName() {
        StringBuilder name = new StringBuilder(name());
        while (peek().isOperator(".")) {
            next();
            name.append('.').append(name());
        }
        return name.toString();
    }

    // ---- tokens

    private void enter() {
        if (++depth > MAX_DEPTH)
            throw new TemplateException(TemplateException.Kind.LIMIT, "template nested too deeply");
    }

    private Token peek() {
        return tokens.get(at);
    }

    private Token next() {
        Token t = tokens.get(at);
        if (t.type() != Type.END) at++;
        return t;
    }

    private String name() {
        Token t = next();
        if (t.type() != Type.NAME) throw error("expected a name, got '" + t.text() + "'");
        return t.text();
    }

    private void expect(Type type) {
        Token t = next();
        if (t.type() != type) {
            throw error("expected " + type.name().toLowerCase().replace('_', ' ') + ", got '" + t.text() + "'");
        }
    }

    private void expectName(String name) {
        if (!next().isName(name)) throw error("expected '" + name + "'");
    }

    private void expectOperator(String op) {
        Token t = next();
        if (!t.isOperator(op)) throw error("expected '" + op + "', got '" + t.text() + "'");
    }

    private TemplateException error(String message) {
        return TemplateException.syntax(tokens.get(Math.max(0, at - 1)).line(), message);
    }
}
