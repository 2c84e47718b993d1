package dev.parley.server.engine.template;

import java.util.List;

/**
 * Refuses at compile time a filter or test that does not exist, as jinja2 does, except inside an {@code if} (its test
 * and branches) or a conditional expression, where jinja2 only fails if the filter or test is actually used.
 */
final class KnownNames {
    private KnownNames() {}

    static void check(List<Node> nodes, boolean soft) {
        for (Node node : nodes) check(node, soft);
    }

    private static void check(Node node, boolean soft) {
        switch (node) {
            case Node.Text t -> {}
            case Node.Output(Expr value) -> check(value, soft);
            case Node.If(List<Expr> tests, List<List<Node>> bodies, List<Node> otherwise) -> {
                tests.forEach(t -> check(t, true));
                bodies.forEach(b -> check(b, true));
                check(otherwise, true);
            }
            case Node.For f -> {
                check(f.iterable(), soft);
                if (f.filter() != null) check(f.filter(), false);
                check(f.body(), false);
                check(f.otherwise(), false);
            }
            case Node.Set s -> check(s.value(), soft);
            case Node.SetBlock s -> {
                if (s.filter() != null) check(s.filter(), soft);
                check(s.body(), false);
            }
            case Node.Macro m -> {
                m.defaults().forEach(d -> check(d, false));
                check(m.body(), false);
            }
            case Node.CallBlock c -> {
                check(c.call(), soft);
                check(c.body(), false);
            }
            case Node.FilterBlock f -> {
                check(f.filter(), soft);
                check(f.body(), false);
            }
            case Node.Scoped s -> check(s.body(), false);
            case Node.With w -> {
                w.values().forEach(v -> check(v, soft));
                check(w.body(), false);
            }
            case Node.Break b -> {}
            case Node.Continue c -> {}
        }
    }

    private static void check(Expr expr, boolean soft) {
        if (expr == null) return;
        switch (expr) {
            case Expr.Literal l -> {}
            case Expr.Name n -> {}
            case Expr.ListOf(List<Expr> items) -> items.forEach(i -> check(i, soft));
            case Expr.TupleOf(List<Expr> items) -> items.forEach(i -> check(i, soft));
            case Expr.DictOf(List<Expr> keys, List<Expr> values) -> {
                keys.forEach(k -> check(k, soft));
                values.forEach(v -> check(v, soft));
            }
            case Expr.Attribute(Expr object, String name) -> check(object, soft);
            case Expr.Item(Expr object, Expr key) -> {
                check(object, soft);
                check(key, soft);
            }
            case Expr.Slice(Expr object, Expr start, Expr stop, Expr step) -> {
                check(object, soft);
                check(start, soft);
                check(stop, soft);
                check(step, soft);
            }
            case Expr.Call(Expr callee, Expr.Args args) -> {
                check(callee, soft);
                check(args, soft);
            }
            case Expr.Filter(Expr value, String name, Expr.Args args) -> {
                if (!soft && !Filters.exists(name))
                    throw TemplateException.syntax(0, "No filter named '" + name + "'.");
                check(value, soft);
                check(args, soft);
            }
            case Expr.Test(Expr value, String name, Expr.Args args, boolean negated) -> {
                if (!soft && !Tests.exists(name)) throw TemplateException.syntax(0, "No test named '" + name + "'.");
                check(value, soft);
                check(args, soft);
            }
            case Expr.Unary(String op, Expr operand) -> check(operand, soft);
            case Expr.Binary(String op, Expr left, Expr right) -> {
                check(left, soft);
                check(right, soft);
            }
            case Expr.Compare(Expr first, List<String> ops, List<Expr> operands) -> {
                check(first, soft);
                operands.forEach(o -> check(o, soft));
            }
            case Expr.Conditional(Expr test, Expr then, Expr otherwise) -> {
                check(test, true);
                check(then, true);
                check(otherwise, true);
            }
        }
    }

    private static void check(Expr.Args args, boolean soft) {
        args.positional().forEach(a -> check(a, soft));
        args.named().forEach(a -> check(a, soft));
    }
}
