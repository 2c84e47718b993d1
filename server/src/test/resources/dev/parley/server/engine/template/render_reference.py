#!/usr/bin/env python3
"""Renders every template x conversation with Python's jinja2, configured as Hugging Face's
apply_chat_template configures it, into expected/<template>.<conversation>.txt; but, as llama.cpp's template
engine allows, a list the template made itself may be changed (append, extend, insert, pop, remove, clear,
reverse): Kimi K2's templates keep their call ids in one. What the template is given stays read-only.

Usage (from this folder): python3 render_reference.py
A template that refuses a conversation gives "!ERROR <exception type>".
strftime_now formats the fixed date 2024-07-26, the clock the Java test injects.
"""
import datetime, json, os, sys
import jinja2, jinja2.ext
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TODAY = datetime.datetime(2024, 7, 26, 10, 30, 0)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


class AssistantTracker(jinja2.ext.Extension):
    """The {% generation %} block of transformers: renders its body unchanged."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation"), [], [], body).set_lineno(lineno)

    def _generation(self, caller):
        return caller()


LIST_MUTATORS = {"append", "extend", "insert", "pop", "remove", "clear", "reverse"}


class OwnListsSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, but for lists that are not part of what the template was given."""
    given = set()  # ids of every list reachable from the render's context

    def is_safe_attribute(self, obj, attr, value):
        if isinstance(obj, list) and attr in LIST_MUTATORS and id(obj) not in self.given:
            return True
        return super().is_safe_attribute(obj, attr, value)


def reachable_lists(value, into):
    if isinstance(value, list):
        into.add(id(value))
        for item in value:
            reachable_lists(item, into)
    elif isinstance(value, dict):
        for item in value.values():
            reachable_lists(item, into)
    return into


def environment():
    env = OwnListsSandbox(
        trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: TODAY.strftime(fmt)
    return env


def main():
    env = environment()
    templates = os.path.join(HERE, "templates")
    conversations = os.path.join(HERE, "conversations")
    expected = os.path.join(HERE, "expected")
    os.makedirs(expected, exist_ok=True)
    for t in sorted(os.listdir(templates)):
        if not t.endswith(".jinja"):
            continue
        source = open(os.path.join(templates, t), encoding="utf-8").read()
        for c in sorted(os.listdir(conversations)):
            if not c.endswith(".json"):
                continue
            context = json.load(open(os.path.join(conversations, c), encoding="utf-8"))
            env.given = reachable_lists(context, set())
            try:
                out = env.from_string(source).render(**context)
            except Exception as e:
                out = "!ERROR " + type(e).__name__
            name = t[: -len(".jinja")] + "." + c[: -len(".json")] + ".txt"
            with open(os.path.join(expected, name), "w", encoding="utf-8", newline="") as f:
                f.write(out)


if __name__ == "__main__":
    sys.exit(main())
