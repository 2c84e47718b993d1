package dev.parley.server.engine.template;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the statements of one render. Holds the render's output, bounds and globals; one instance per render, so the
 * compiled tree stays shared and immutable. Expressions are evaluated by {@link Evaluator}.
 */
final class Interpreter {
    /** Thrown by {@code break} and {@code continue}; control flow, so without a stack trace. */
    private static final class LoopControl extends RuntimeException {
        LoopControl() {
            super(null, null, false, false);
        }
    }

    private static final LoopControl BREAK = new LoopControl();
    private static final LoopControl CONTINUE = new LoopControl();

    final Budget budget;
    final Evaluator evaluator;
    private StringBuilder out = new StringBuilder();

    Interpreter(Budget budget, Map<String, Object> globals) {
        this.budget = budget;
        this.evaluator = new Evaluator(this, globals);
    }

    String render(List<Node> template, Scope scope) {
        run(template, scope);
        return out.toString();
    }

    void run(List<Node> nodes, Scope scope) {
        for (Node node : nodes) execute(node, scope);
    }

    private void execute(Node node, Scope scope) {
        switch (node) {
            case Node.Text(String text) -> write(text);
            case Node.Output(Expr value) -> write(Values.str(evaluator.output(value, scope)));
            case Node.If(List<Expr> tests, List<List<Node>> bodies, List<Node> otherwise) -> {
                for (int i = 0; i < tests.size(); i++) {
                    if (Values.truthy(evaluator.eval(tests.get(i), scope))) {
                        run(bodies.get(i), scope);
                        return;
                    }
                }
                run(otherwise, scope);
            }
            case Node.For f -> loop(f, scope);
            case Node.Set(List<String> names, String attribute, Expr value) ->
                assign(names, attribute, evaluator.eval(value, scope), scope);
            case Node.SetBlock(String name, Expr.Filter filter, List<Node> body) -> {
                Object value = capture(body, new Scope(scope));
                scope.set(name, filter == null ? value : evaluator.filterChain(filter, value, scope));
            }
            case Node.Macro m ->
                scope.set(m.name(), new Macro(this, m.name(), m.params(), m.defaults(), m.body(), scope));
            case Node.CallBlock c -> {
                Macro caller = new Macro(this, "caller", c.params(), c.defaults(), c.body(), scope);
                write(Values.str(evaluator.call(c.call(), scope, caller)));
            }
            case Node.FilterBlock(Expr.Filter filter, List<Node> body) ->
                write(Values.str(evaluator.filterChain(filter, capture(body, scope), scope)));
            case Node.Scoped(List<Node> body) -> run(body, new Scope(scope));
            case Node.With(List<String> names, List<Expr> values, List<Node> body) -> {
                Scope inner = new Scope(scope);
                List<Object> evaluated = new ArrayList<>();
                for (Expr value : values) evaluated.add(evaluator.eval(value, scope));
                for (int i = 0; i < names.size(); i++) inner.set(names.get(i), evaluated.get(i));
                run(body, inner);
            }
            case Node.Break() -> throw BREAK;
            case Node.Continue() -> throw CONTINUE;
        }
    }

    private void loop(Node.For f, Scope scope) {
        Object iterable = evaluator.eval(f.iterable(), scope);
        List<Object> items = Values.iterate(iterable);
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                budget.step();
                Scope test = new Scope(scope);
                bind(f.targets(), item, test);
                if (Values.truthy(evaluator.eval(f.filter(), test))) kept.add(item);
            }
            items = kept;
        }
        Loop loop = new Loop(items);
        for (int i = 0; i < items.size(); i++) {
            budget.step();
            Scope iteration = new Scope(scope);
            loop.moveTo(i);
            bind(f.targets(), items.get(i), iteration);
            iteration.set("loop", loop);
            try {
                run(f.body(), iteration);
            } catch (LoopControl control) {
                if (control == BREAK) break;
            }
        }
        if (items.isEmpty()) run(f.otherwise(), scope);
    }

    private void assign(List<String> names, String attribute, Object value, Scope scope) {
        if (attribute != null) {
            Object target = scope.lookup(names.getFirst(), null);
            if (target == null) target = evaluator.lookup(names.getFirst(), scope);
            if (!(target instanceof Namespace ns)) {
                throw TemplateException.type("cannot assign attribute on non-namespace object");
            }
            ns.attributes.put(attribute, value);
            return;
        }
        bind(names, value, scope);
    }

    private static void bind(List<String> names, Object value, Scope scope) {
        if (names.size() == 1) {
            scope.set(names.getFirst(), value);
            return;
        }
        List<Object> parts = Values.iterate(value);
        if (parts.size() != names.size()) {
            throw TemplateException.type((parts.size() > names.size() ? "too many" : "not enough")
                    + " values to unpack (expected " + names.size() + ", got " + parts.size() + ")");
        }
        for (int i = 0; i < names.size(); i++) scope.set(names.get(i), parts.get(i));
    }

    /** Renders {@code body} into a string of its own instead of the output. */
    String capture(List<Node> body, Scope scope) {
        StringBuilder saved = out;
        out = new StringBuilder();
        try {
            run(body, scope);
            return out.toString();
        } finally {
            out = saved;
        }
    }

    private void write(String text) {
        out.append(text);
        budget.output(out.length());
    }

    /** A {@code macro} (or the body of a {@code call} block): called with arguments, it renders its body to a string. */
    record Macro(
            Interpreter interpreter,
            String name,
            List<String> params,
            List<Expr> defaults,
            List<Node> body,
            Scope closure)
            implements Invocable {
        @Override
        public Object call(List<Object> args, Map<String, Object> kwargs) {
            Budget budget = interpreter.budget;
            budget.step();
            budget.enter();
            try {
                Scope scope = new Scope(closure);
                Map<String, Object> extra = new LinkedHashMap<>(kwargs);
                for (int i = 0; i < params.size(); i++) {
                    String param = params.get(i);
                    if (i < args.size()) {
                        scope.set(param, args.get(i));
                        if (extra.containsKey(param))
                            throw TemplateException.type(
                                    "macro '" + name + "' got multiple values for argument '" + param + "'");
                    } else if (extra.containsKey(param)) {
                        scope.set(param, extra.remove(param));
                    } else if (defaults.get(i) != null) {
                        scope.set(param, interpreter.evaluator.eval(defaults.get(i), scope));
                    } else {
                        scope.set(param, new Undefined("parameter '" + param + "' was not provided", false));
                    }
                }
                if (extra.containsKey("caller")) scope.set("caller", extra.remove("caller"));
                scope.set(
                        "varargs",
                        args.size() > params.size()
                                ? new ArrayList<>(args.subList(params.size(), args.size()))
                                : new ArrayList<>());
                scope.set("kwargs", new LinkedHashMap<Object, Object>(extra));
                return interpreter.capture(body, scope);
            } finally {
                budget.leave();
            }
        }
    }
}
