#!/usr/bin/env python3
"""Writes random-expressions.json and random-whitespace.json: templates drawn at random (fixed seeds) from the
expressions, filters, tests, methods and whitespace control chat templates use, rendered with jinja2 as Hugging Face
configures it. Each file: {"context": {...}, "cases": [[template, expected], ...]}; expected is the text or
"!ERROR <exception type>". Outputs that print a memory address, or a Markup's repr, are left out.
Usage (from this folder): python3 random_cases.py"""
import copy, json, os, random, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import render_reference

ENV = render_reference.environment()

EXPRESSION_CONTEXT = {
    "s": "Hello, World", "e": "", "n": 3, "m": -2, "f": 2.5, "z": 0, "t": True, "no": None,
    "l": [3, 1, 2], "ls": ["b", "A", "c"], "d": {"b": 2, "a": 1}, "ld": [{"k": "x", "v": 1}, {"k": "y", "v": 2.0}],
    "u": "naïve ☕", "ws": "  pad  \n", "nested": {"a": {"b": [1, {"c": "deep"}]}},
}
ATOMS = ["s", "e", "n", "m", "f", "z", "t", "no", "l", "ls", "d", "ld", "u", "ws", "nested", "missing",
         "1", "0", "-1", "2.0", "0.5", "'x'", "''", "'a,b'", "none", "true", "false", "[]", "[1, 'a']", "{}", "{'k': 1}",
         "(1, 2)"]
BINOPS = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", ">", "<=", ">=", "in", "not in", "and", "or"]
FILTERS = ["length", "trim", "upper", "lower", "title", "capitalize", "string", "list", "first", "last", "join",
           "join(',')", "default('D')", "default('D', true)", "tojson", "tojson(indent=2)", "int", "float", "abs", "round",
           "round(1)", "sort", "reverse", "unique", "items", "dictsort", "count", "wordcount", "sum", "min", "max",
           "map('string')", "map(attribute='k')", "selectattr('v')", "rejectattr('k', 'equalto', 'x')", "select('odd')",
           "reject('none')", "replace('l', 'L')", "indent(2)", "batch(2)", "center(9)", "e", "safe"]
TESTS = ["defined", "undefined", "none", "string", "number", "mapping", "iterable", "sequence", "integer", "float",
         "boolean", "true", "false", "odd", "even", "divisibleby 2", "eq 1", "in [1, 2, 3]", "lower", "upper", "callable"]
METHODS = ["upper()", "lower()", "strip()", "lstrip('H')", "rstrip()", "split(',')", "split()", "rsplit(',', 1)",
           "startswith('He')", "endswith('d')", "replace('o', '0')", "find('o')", "count('l')", "title()", "capitalize()",
           "items()", "keys()", "values()", "get('a')", "get('zz', 5)", "format(1)", "join(['a', 'b'])", "index(1)",
           "splitlines()"]


def expression(depth=0):
    r = random.random()
    if depth > 2 or r < 0.3:
        return random.choice(ATOMS)
    if r < 0.5:
        return "(%s %s %s)" % (expression(depth + 1), random.choice(BINOPS), expression(depth + 1))
    if r < 0.65:
        return "(%s | %s)" % (expression(depth + 1), random.choice(FILTERS))
    if r < 0.72:
        return "(%s is %s%s)" % (expression(depth + 1), random.choice(["", "not "]), random.choice(TESTS))
    if r < 0.8:
        return expression(depth + 1) + "." + random.choice(METHODS)
    if r < 0.88:
        return expression(depth + 1) + "[" + random.choice(["0", "-1", "1:", ":-1", "::-1", "::2", "'a'", "'k'", "5"]) + "]"
    if r < 0.94:
        return "(%s if %s else %s)" % (expression(depth + 1), expression(depth + 1), expression(depth + 1))
    return "(not %s)" % expression(depth + 1)


WHITESPACE_CONTEXT = {"xs": [1, 2, 3], "d": {"a": 1, "b": 2}, "t": True, "f": False, "s": "str"}
TEXTS = ["", " ", "  ", "\n", "\n\n", " \n", "\n  ", "\t", "a", "b c", "x\n", "\n y \n", "\r\n", " \t \n"]


def sign():
    return random.choice(["", "", "-", "+"])


def end_sign():
    return random.choice(["", "", "-"])


def output():
    value = random.choice(["s", "xs[0]", "loop.index if loop is defined else 0", "'q'", "d.a"])
    return "{{" + random.choice(["", "-"]) + " " + value + " " + random.choice(["", "-"]) + "}}"


def tag(body):
    return "{%" + sign() + " " + body + " " + end_sign() + "%}"


def block(depth):
    r = random.random()
    if depth > 2 or r < 0.35:
        return random.choice(TEXTS) + (output() if random.random() < 0.5 else "") + random.choice(TEXTS)
    if r < 0.55:
        otherwise = tag("else") + statements(depth + 1) if random.random() < 0.4 else ""
        return tag("if " + random.choice(["t", "f", "s"])) + statements(depth + 1) + otherwise + tag("endif")
    if r < 0.75:
        return tag("for x in xs") + statements(depth + 1) + tag("endfor")
    if r < 0.85:
        return "{#" + sign() + " c " + end_sign() + "#}"
    if r < 0.93:
        return tag("set v = " + random.choice(["1", "s", "xs | length"]))
    return tag("macro m(a)") + statements(depth + 1) + tag("endmacro") + random.choice(TEXTS) + "{{ m(1) }}"


def statements(depth):
    return "".join(block(depth) for _ in range(random.randint(1, 4)))


def render(template, context):
    try:
        return ENV.from_string(template).render(**copy.deepcopy(context))
    except Exception as e:
        return "!ERROR " + type(e).__name__


def write(name, seed, count, make, context):
    random.seed(seed)
    cases = []
    for _ in range(count):
        template = make()
        expected = render(template, context)
        if "0x" in expected or "Markup(" in expected:  # addresses differ; Markup's own methods are not modelled
            continue
        cases.append([template, expected])
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump({"context": context, "cases": cases}, f, ensure_ascii=False, indent=0)
        f.write("\n")


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore")  # Python warns about literals such as 1[::2] in the code jinja2 generates
    write("random-expressions.json", 1, 2000, lambda: "{{ " + expression() + " }}", EXPRESSION_CONTEXT)
    write("random-whitespace.json", 1, 400, lambda: statements(0) + random.choice(["", "\n", "\n\n"]), WHITESPACE_CONTEXT)
