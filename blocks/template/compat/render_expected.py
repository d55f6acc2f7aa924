"""Fills `expected` of every case in cases.json with what Jinja2 renders.

Run in a venv with Jinja2 installed:
    python3 -m venv /tmp/jvenv && /tmp/jvenv/bin/pip install jinja2
    /tmp/jvenv/bin/python blocks/template/compat/render_expected.py
"""

import json
import pathlib

import jinja2

CASES = pathlib.Path(__file__).with_name("cases.json")


def context_of(data):
    # The variables the block binds: `data` itself, then the keys of an object `data`
    # (which win over it), then the engine's references.
    context = {"data": data}
    if isinstance(data, dict):
        context.update(data)
    context["__refs"] = []
    return context


def main():
    document = json.loads(CASES.read_text(encoding="utf-8"))
    # Jinja2's defaults, as users' templates assume them: no autoescape, no trim_blocks,
    # a single trailing newline dropped.
    environment = jinja2.Environment()
    for case in document["cases"]:
        case.pop("expected", None)
        case.pop("expected_error", None)
        try:
            template = environment.from_string(case["template"])
            case["expected"] = template.render(context_of(case["data"]))
        # A template error, or Python's own (`'%d' % 'a'` is a TypeError, a missing
        # `%(key)s` a KeyError), which Jinja2 lets through.
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, OverflowError) as error:
            case["expected_error"] = f"{type(error).__name__}: {error}"
    document["jinja2_version"] = jinja2.__version__
    CASES.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
