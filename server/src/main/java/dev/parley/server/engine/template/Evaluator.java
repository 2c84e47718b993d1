package dev.parley.server.engine.template;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Evaluates expressions with Python's semantics, in a scope, for one render. */
final class Evaluator {
    private static final Object ABSENT = new Object();
    /** jinja2's filters that take the render context, which its optimizer does not fold. */
    private static final Set<String> CONTEXT_FILTERS = Set.of("map", "select", "reject", "selectattr", "rejectattr");

    private final Interpreter interpreter;
    private final Map<String, Object> globals;
    private boolean folding;

    Evaluator(Interpreter interpreter, Map<String, Object> globals) {
        this.interpreter = interpreter;
        this.globals = globals;
    }

    Object lookup(String name, Scope scope) {
        Object v = scope.lookup(name, ABSENT);
        if (v != ABSENT) return v;
        return globals.containsKey(name) ? globals.get(name) : Undefined.named(name);
    }

    /**
     * What {@code {{ expr }}} prints. jinja2 evaluates a constant output at compile time with its own getitem, where a
     * slice of something that cannot be sliced is undefined instead of an error; if that fails it evaluates at run time.
     */
    Object output(Expr expr, Scope scope) {
        folding = true;
        try {
            return eval(expr, scope);
        } catch (TemplateException | NotConstant e) {
            // not foldable: evaluated again, as at run time
        } finally {
            folding = false;
        }
        return eval(expr, scope);
    }

    /** The value of an expression without variables or calls, or {@code otherwise} if it has them or fails. */
    Object constant(Expr expr, Object otherwise) {
        folding = true;
        try {
            return eval(expr, new Scope(null));
        } catch (TemplateException | NotConstant e) {
            return otherwise;
        } finally {
            folding = false;
        }
    }

    /** Thrown while folding when the expression needs a variable, a call, or a filter that takes the context. */
    private static final class NotConstant extends RuntimeException {
        NotConstant() {
            super(null, null, false, false);
        }
    }

    private static final NotConstant NOT_CONSTANT = new NotConstant();

    Object eval(Expr expr, Scope scope) {
        Budget budget = interpreter.budget;
        return switch (expr) {
            // A folded list is shared by every render: each evaluation gets a list of its own, as in Python.
            case Expr.Literal(Object value) ->
                value instanceof List<?> list && !(value instanceof PyTuple) ? new OwnList(list) : value;
            case Expr.Name(String name) -> {
                if (folding) throw NOT_CONSTANT;
                yield lookup(name, scope);
            }
            case Expr.ListOf(List<Expr> items) -> new OwnList(all(items, scope));
            case Expr.TupleOf(List<Expr> items) -> new PyTuple(all(items, scope));
            case Expr.DictOf(List<Expr> keys, List<Expr> values) -> {
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < keys.size(); i++)
                    Values.put(map, eval(keys.get(i), scope), eval(values.get(i), scope));
                yield map;
            }
            case Expr.Attribute(Expr object, String name) -> Attributes.attribute(eval(object, scope), name, budget);
            case Expr.Item(Expr object, Expr key) -> Attributes.item(eval(object, scope), eval(key, scope), budget);
            case Expr.Slice(Expr object, Expr start, Expr stop, Expr step) ->
                Attributes.slice(
                        eval(object, scope),
                        optional(start, scope),
                        optional(stop, scope),
                        optional(step, scope),
                        folding);
            case Expr.Call call -> call(call, scope, null);
            case Expr.Filter filter -> filterChain(filter, ABSENT, scope);
            case Expr.Test(Expr value, String name, Expr.Args args, boolean negated) -> {
                Object subject = eval(value, scope);
                yield negated != Tests.apply(name, subject, all(args.positional(), scope));
            }
            case Expr.Unary(String op, Expr operand) ->
                switch (op) {
                    case "not" -> !Values.truthy(eval(operand, scope));
                    case "-" -> Arithmetic.negate(eval(operand, scope));
                    default -> Arithmetic.plus(eval(operand, scope));
                };
            case Expr.Binary(String op, Expr left, Expr right) -> binary(op, left, right, scope);
            case Expr.Compare compare -> compare(compare, scope);
            case Expr.Conditional(Expr test, Expr then, Expr otherwise) ->
                Values.truthy(eval(test, scope))
                        ? eval(then, scope)
                        : otherwise == null
                                ? new Undefined(
                                        "the inline if-expression evaluated to false and no else section was defined.",
                                        false)
                                : eval(otherwise, scope);
        };
    }

    private Object binary(String op, Expr left, Expr right, Scope scope) {
        Object a = eval(left, scope);
        return switch (op) {
            case "and" -> Values.truthy(a) ? eval(right, scope) : a;
            case "or" -> Values.truthy(a) ? a : eval(right, scope);
            case "~" -> interpreter.budget.string(Values.str(a) + Values.str(eval(right, scope)));
            default -> Arithmetic.apply(op, a, eval(right, scope), interpreter.budget);
        };
    }

    private Object compare(Expr.Compare compare, Scope scope) {
        Object left = eval(compare.first(), scope);
        for (int i = 0; i < compare.operators().size(); i++) {
            String op = compare.operators().get(i);
            Object right = eval(compare.operands().get(i), scope);
            boolean holds = switch (op) {
                case "==" -> Values.eq(left, right);
                case "!=" -> !Values.eq(left, right);
                case "<" -> Values.compare(left, right, op) < 0;
                case "<=" -> Values.compare(left, right, op) <= 0;
                case ">" -> Values.compare(left, right, op) > 0;
                case ">=" -> Values.compare(left, right, op) >= 0;
                case "in" -> Values.contains(right, left);
                default -> !Values.contains(right, left);
            };
            if (!holds) return false;
            left = right;
        }
        return true;
    }

    /** Calls a function; a {@code call} block passes its body as {@code caller}. */
    Object call(Expr.Call call, Scope scope, Invocable caller) {
        if (folding) throw NOT_CONSTANT;
        Object callee = eval(call.callee(), scope);
        List<Object> args = all(call.args().positional(), scope);
        Map<String, Object> kwargs = named(call.args(), scope);
        if (caller != null) kwargs.put("caller", caller);
        if (callee instanceof Undefined u) throw u.error();
        if (!(callee instanceof Invocable function)) {
            throw TemplateException.type("'" + Values.typeName(callee) + "' object is not callable");
        }
        interpreter.budget.step();
        try {
            return function.call(args, kwargs);
        } catch (IndexOutOfBoundsException e) {
            throw missingArgument();
        }
    }

    /**
     * What Python raises when a function is called with fewer arguments than it needs: the methods here read theirs
     * by position, and one read past the end is that mistake in the template (filters check theirs by name).
     */
    private static TemplateException missingArgument() {
        return TemplateException.type("TypeError: missing a required argument");
    }

    /** A filter and the filters before it; {@code base}, when given, replaces the innermost value (filter blocks). */
    Object filterChain(Expr.Filter filter, Object base, Scope scope) {
        if (folding && CONTEXT_FILTERS.contains(filter.name())) throw NOT_CONSTANT;
        Object value = filter.value() instanceof Expr.Filter inner
                ? filterChain(inner, base, scope)
                : base == ABSENT ? eval(filter.value(), scope) : base;
        interpreter.budget.step();
        return Filters.apply(
                filter.name(),
                value,
                all(filter.args().positional(), scope),
                named(filter.args(), scope),
                interpreter.budget);
    }

    private List<Object> all(List<Expr> exprs, Scope scope) {
        List<Object> values = new ArrayList<>(exprs.size());
        for (Expr e : exprs) values.add(eval(e, scope));
        return values;
    }

    private Map<String, Object> named(Expr.Args args, Scope scope) {
        Map<String, Object> kwargs = new LinkedHashMap<>();
        for (int i = 0; i < args.names().size(); i++)
            kwargs.put(args.names().get(i), eval(args.named().get(i), scope));
        return kwargs;
    }

    private Object optional(Expr e, Scope scope) {
        return e == null ? null : eval(e, scope);
    }
}
