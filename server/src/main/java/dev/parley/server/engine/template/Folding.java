package dev.parley.server.engine.template;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * jinja2's optimizer: every subexpression without variables or calls whose value jinja2 can write as a Python
 * literal is evaluated once, at compile time, and replaced by that value. This is not only faster: a folded
 * expression is evaluated with jinja2's {@code getitem}, so {@code 1[::2] is defined} is false where, unfolded, the
 * slice would raise. Folded lists and dicts are read-only, since renders share them.
 */
final class Folding {
    private static final Object NOT_FOLDED = new Object();

    private final Evaluator evaluator =
            new Interpreter(new Budget(Budget.DEFAULT_STEPS, Budget.DEFAULT_CHARS), Map.of()).evaluator;

    private Folding() {}

    static List<Node> fold(List<Node> nodes) {
        return new Folding().nodes(nodes);
    }

    private List<Node> nodes(List<Node> nodes) {
        List<Node> out = new ArrayList<>(nodes.size());
        for (Node node : nodes) out.add(node(node));
        return out;
    }

    private Node node(Node node) {
        return switch (node) {
            case Node.Text t -> t;
            case Node.Output(Expr value) -> new Node.Output(expr(value));
            case Node.If(List<Expr> tests, List<List<Node>> bodies, List<Node> otherwise) ->
                new Node.If(exprs(tests), bodies.stream().map(this::nodes).toList(), nodes(otherwise));
            case Node.For f ->
                new Node.For(f.targets(), expr(f.iterable()), expr(f.filter()), nodes(f.body()), nodes(f.otherwise()));
            case Node.Set(List<String> names, String attribute, Expr value) ->
                new Node.Set(names, attribute, expr(value));
            case Node.SetBlock(String name, Expr.Filter filter, List<Node> body) ->
                new Node.SetBlock(name, filter, nodes(body));
            case Node.Macro(String name, List<String> params, List<Expr> defaults, List<Node> body) ->
                new Node.Macro(name, params, exprs(defaults), nodes(body));
            case Node.CallBlock(Expr.Call call, List<String> params, List<Expr> defaults, List<Node> body) ->
                new Node.CallBlock(
                        new Expr.Call(expr(call.callee()), args(call.args())), params, exprs(defaults), nodes(body));
            case Node.FilterBlock(Expr.Filter filter, List<Node> body) -> new Node.FilterBlock(filter, nodes(body));
            case Node.Scoped(List<Node> body) -> new Node.Scoped(nodes(body));
            case Node.With(List<String> names, List<Expr> values, List<Node> body) ->
                new Node.With(names, exprs(values), nodes(body));
            case Node.Break b -> b;
            case Node.Continue c -> c;
        };
    }

    private List<Expr> exprs(List<Expr> exprs) {
        List<Expr> out = new ArrayList<>(exprs.size());
        for (Expr e : exprs) out.add(expr(e));
        return out;
    }

    private Expr.Args args(Expr.Args args) {
        return new Expr.Args(exprs(args.positional()), args.names(), exprs(args.named()));
    }

    /** The expression with its children folded, and itself replaced by its value if that can be folded too. */
    private Expr expr(Expr expr) {
        if (expr == null) return null;
        Expr rebuilt = switch (expr) {
            case Expr.Literal l -> l;
            case Expr.Name n -> n;
            case Expr.ListOf(List<Expr> items) -> new Expr.ListOf(exprs(items));
            case Expr.TupleOf(List<Expr> items) -> new Expr.TupleOf(exprs(items));
            case Expr.DictOf(List<Expr> keys, List<Expr> values) -> new Expr.DictOf(exprs(keys), exprs(values));
            case Expr.Attribute(Expr object, String name) -> new Expr.Attribute(expr(object), name);
            case Expr.Item(Expr object, Expr key) -> new Expr.Item(expr(object), expr(key));
            case Expr.Slice(Expr object, Expr start, Expr stop, Expr step) ->
                new Expr.Slice(expr(object), expr(start), expr(stop), expr(step));
            case Expr.Call(Expr callee, Expr.Args args) -> new Expr.Call(expr(callee), args(args));
            case Expr.Filter(Expr value, String name, Expr.Args args) -> new Expr.Filter(expr(value), name, args(args));
            case Expr.Test(Expr value, String name, Expr.Args args, boolean negated) ->
                new Expr.Test(expr(value), name, args(args), negated);
            case Expr.Unary(String op, Expr operand) -> new Expr.Unary(op, expr(operand));
            case Expr.Binary(String op, Expr left, Expr right) -> new Expr.Binary(op, expr(left), expr(right));
            case Expr.Compare(Expr first, List<String> ops, List<Expr> operands) ->
                new Expr.Compare(expr(first), ops, exprs(operands));
            case Expr.Conditional(Expr test, Expr then, Expr otherwise) ->
                new Expr.Conditional(expr(test), expr(then), expr(otherwise));
        };
        if (rebuilt instanceof Expr.Literal || rebuilt instanceof Expr.Name) return rebuilt;
        Object value = evaluator.constant(rebuilt, NOT_FOLDED);
        return value != NOT_FOLDED && literal(value) ? new Expr.Literal(readOnly(value)) : rebuilt;
    }

    /** What jinja2's {@code has_safe_repr} accepts: values it can write back as Python literals. */
    private static boolean literal(Object v) {
        return switch (v) {
            case null -> true;
            case Boolean b -> true;
            case Long l -> true;
            case Double d -> true;
            case String s -> true;
            case Markup m -> true;
            case List<?> list -> list.stream().allMatch(Folding::literal);
            case Map<?, ?> map ->
                map.keySet().stream().allMatch(Folding::literal)
                        && map.values().stream().allMatch(Folding::literal);
            default -> false;
        };
    }

    private static Object readOnly(Object v) {
        return switch (v) {
            case null -> null;
            case PyTuple t -> t;
            case List<?> list -> Collections.unmodifiableList(new ArrayList<Object>(list));
            case Map<?, ?> map -> Collections.unmodifiableMap(new LinkedHashMap<Object, Object>(map));
            default -> v;
        };
    }
}
