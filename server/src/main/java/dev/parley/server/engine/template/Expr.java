package dev.parley.server.engine.template;

import java.util.List;

/** An expression inside {@code {{ }}} or a tag. Components documented as optional are {@code null} when absent. */
sealed interface Expr {
    record Literal(Object value) implements Expr {}

    record Name(String name) implements Expr {}

    record ListOf(List<Expr> items) implements Expr {}

    record TupleOf(List<Expr> items) implements Expr {}

    record DictOf(List<Expr> keys, List<Expr> values) implements Expr {}

    /** {@code a.b}: attribute first, then item, as jinja2's sandbox looks it up. */
    record Attribute(Expr object, String name) implements Expr {}

    /** {@code a[b]}: item first, then attribute. */
    record Item(Expr object, Expr key) implements Expr {}

    /** {@code a[start:stop:step]}; each bound optional. */
    record Slice(Expr object, Expr start, Expr stop, Expr step) implements Expr {}

    record Call(Expr callee, Args args) implements Expr {}

    /** {@code value | name(args)}. */
    record Filter(Expr value, String name, Args args) implements Expr {}

    /** {@code value is [not] name(args)}. */
    record Test(Expr value, String name, Args args, boolean negated) implements Expr {}

    /** {@code not}, {@code -} or {@code +}. */
    record Unary(String operator, Expr operand) implements Expr {}

    /** Arithmetic, {@code ~}, {@code and}, {@code or}. */
    record Binary(String operator, Expr left, Expr right) implements Expr {}

    /** A chain such as {@code a < b <= c} or {@code x not in y}: {@code operators.size() == operands.size()}. */
    record Compare(Expr first, List<String> operators, List<Expr> operands) implements Expr {}

    /** {@code then if test else otherwise}; without {@code else}, otherwise is optional and the result undefined. */
    record Conditional(Expr test, Expr then, Expr otherwise) implements Expr {}

    /** Call arguments: positional then named, in source order. */
    record Args(List<Expr> positional, List<String> names, List<Expr> named) {
        static final Args NONE = new Args(List.of(), List.of(), List.of());
    }
}
