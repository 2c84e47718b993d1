package dev.parley.server.engine.template;

import dev.parley.server.engine.template.Expr.Args;
import dev.parley.server.engine.template.Token.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** jinja2's expression grammar and operator precedence, from conditional expressions down to literals. */
abstract class ExpressionParser extends TokenReader {
    ExpressionParser(List<Token> tokens) {
        super(tokens);
    }

    /** An expression, or several separated by commas (an implicit tuple). */
    Expr tuple(boolean conditional) {
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

    boolean tupleEnds() {
        Token t = peek();
        return t.type() == Type.VARIABLE_END
                || t.type() == Type.BLOCK_END
                || t.isOperator(")")
                || t.isOperator("=")
                || t.isName("in");
    }

    Expr expression(boolean conditional) {
        enter();
        Expr e = conditional ? conditional() : or();
        leave();
        return e;
    }

    Expr conditional() {
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

    Expr or() {
        Expr left = and();
        while (peek().isName("or")) {
            next();
            left = new Expr.Binary("or", left, and());
        }
        return left;
    }

    Expr and() {
        Expr left = not();
        while (peek().isName("and")) {
            next();
            left = new Expr.Binary("and", left, not());
        }
        return left;
    }

    Expr not() {
        if (peek().isName("not")) {
            next();
            enter();
            Expr operand = not();
            leave();
            return new Expr.Unary("not", operand);
        }
        return compare();
    }

    private static final Set<String> COMPARISONS = Set.of("==", "!=", "<", ">", "<=", ">=");

    Expr compare() {
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
            } else if (t.isName("not") && peek(1).isName("in")) {
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

    Expr sum() {
        Expr left = concat();
        while (peek().isOperator("+") || peek().isOperator("-")) {
            String op = next().text();
            left = new Expr.Binary(op, left, concat());
        }
        return left;
    }

    Expr concat() {
        Expr left = product();
        while (peek().isOperator("~")) {
            next();
            left = new Expr.Binary("~", left, product());
        }
        return left;
    }

    Expr product() {
        Expr left = power();
        while (peek().isOperator("*") || peek().isOperator("/") || peek().isOperator("//") || peek().isOperator("%")) {
            String op = next().text();
            left = new Expr.Binary(op, left, power());
        }
        return left;
    }

    Expr power() {
        Expr left = unary(true);
        while (peek().isOperator("**")) {
            next();
            left = new Expr.Binary("**", left, unary(true));
        }
        return left;
    }

    Expr unary(boolean withFilters) {
        Expr e;
        if (peek().isOperator("-") || peek().isOperator("+")) {
            String op = next().text();
            enter();
            e = new Expr.Unary(op, unary(false));
            leave();
        } else {
            e = postfix(primary());
        }
        return withFilters ? filters(e) : e;
    }

    Expr primary() {
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

    Expr parenthesised() {
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

    Expr postfix(Expr e) {
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

    Expr subscript(Expr object) {
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
    Args args() {
        List<Expr> positional = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Expr> named = new ArrayList<>();
        boolean first = true;
        while (!peek().isOperator(")")) {
            if (!first) expectOperator(",");
            first = false;
            if (peek().isOperator(")")) break;
            if (peek().type() == Type.NAME && peek(1).isOperator("=")) {
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

    Expr filters(Expr e) {
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

    Expr.Filter filterChain(Expr value) {
        return filterChain(value, false);
    }

    /** One or more {@code | name(args)}; {@code inline} when the first name has no leading bar (the filter tag). */
    Expr.Filter filterChain(Expr value, boolean inline) {
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

    Expr test(Expr value) {
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

    String dottedName() {
        StringBuilder name = new StringBuilder(name());
        while (peek().isOperator(".")) {
            next();
            name.append('.').append(name());
        }
        return name.toString();
    }
}
