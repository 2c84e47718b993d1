package dev.parley.server.engine.template;

import java.util.List;

/** A statement of a compiled template. Components documented as optional are {@code null} when absent. */
sealed interface Node {
    record Text(String text) implements Node {}

    record Output(Expr value) implements Node {}

    /** {@code if}/{@code elif} tests with their bodies, then the {@code else} body (empty if none). */
    record If(List<Expr> tests, List<List<Node>> bodies, List<Node> otherwise) implements Node {}

    /** {@code for targets in iterable [if filter]}; filter optional; otherwise runs when nothing was iterated. */
    record For(List<String> targets, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise)
            implements Node {}

    /** {@code set a = ...}, {@code set a, b = ...}, or {@code set ns.attr = ...} (then {@code attribute} is set). */
    record Set(List<String> names, String attribute, Expr value) implements Node {}

    /** {@code set name}...{@code endset}: the rendered body, optionally filtered (filter optional). */
    record SetBlock(String name, Expr.Filter filter, List<Node> body) implements Node {}

    /** {@code macro name(params)}; defaults hold one optional default per parameter. */
    record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {}

    /** {@code call(params) callee(args)}...{@code endcall}: the body becomes {@code caller()} inside the macro. */
    record CallBlock(Expr.Call call, List<String> params, List<Expr> defaults, List<Node> body) implements Node {}

    /** {@code filter name(args)}...{@code endfilter}: the rendered body passed through a filter (value unused). */
    record FilterBlock(Expr.Filter filter, List<Node> body) implements Node {}

    /** A body rendered in its own scope, as the {@code generation} tag of transformers does. */
    record Scoped(List<Node> body) implements Node {}

    /** {@code with a = x, b = y}: values evaluated outside, then bound in a scope of the body's own. */
    record With(List<String> names, List<Expr> values, List<Node> body) implements Node {}

    record Break() implements Node {}

    record Continue() implements Node {}
}
