#!/usr/bin/env python3
"""Renders cases.py's snippets with jinja2 as Hugging Face configures it, into expected.json:
{name: {"template", "context", "expected"}}, where expected is the text or "!ERROR <exception type>".
Usage (from this folder): python3 render_snippets.py"""
import json, os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import render_reference
from cases import CASES

env = render_reference.environment()
out = {}
for name, (template, context) in CASES.items():
    env.given = render_reference.reachable_lists(context, set())
    try:
        rendered = env.from_string(template).render(**context)
    except Exception as e:
        rendered = "!ERROR " + type(e).__name__
    out[name] = {"template": template, "context": context, "expected": rendered}
with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
    f.write("\n")
