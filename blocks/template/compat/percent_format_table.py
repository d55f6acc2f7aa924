"""Writes percent_format.json: what Jinja2 renders for `{{ '<format>' % v }}` over a grid of
conversions, flags, widths, precisions and values (Python's `str % value`).

Run with Jinja2 installed (see render_expected.py):
    /tmp/jvenv/bin/python blocks/template/compat/percent_format_table.py
The test `percent_format_matches_python` renders every cell with the block and compares.
"""

import json
import pathlib
import platform

import jinja2

TABLE = pathlib.Path(__file__).with_name("percent_format.json")

# A value of None in `values` is JSON null; MISSING leaves `v` undefined.
MISSING = {"missing": True}

GROUPS = [
    {
        "conversions": "sra",
        "specs": ["", "10", "-10|", ".2", "10.2", "-10.2|", "010", "+", "#"],
        "values": ["abc", "é", "it's", "", 42, 1.5, 1e16, True, None, [1, "a"], {"a": 1}, MISSING],
    },
    {
        "conversions": "diuoxX",
        "specs": ["", "5", "-5|", "05", "+", " ", "#", ".3", "8.3", "-8.3|", "08.3", "+08.3", "#08.3", "#-8|", "#08", "+ 05", "0-5|"],
        "values": [0, 5, -5, 255, -255, 123456789012345678, 3.7, -3.7, True, "3", None, 1e20, MISSING],
    },
    {
        "conversions": "eEfFgG",
        "specs": ["", ".0", ".2", ".10", "10.3", "-10.3|", "010.3", "+.2", " .2", "#.0", "#", "#.3", "+010.2", ".1", ".17"],
        "values": [0, 0.0, -0.0, 3.14159, -2.5, 2.5, 0.5, 1e-05, 1.5e-05, 123456.789, 1e20, 12345678901234567890, 0.0001234, 9.9999, True, "x", None, MISSING],
    },
    {
        "conversions": "c",
        "specs": ["", "3", "-3|", "05"],
        "values": [65, 128512, "x", "xy", 1114112, -1, 3.0, True, MISSING],
    },
]


def render(environment, template, value):
    context = {} if value == MISSING else {"v": value}
    try:
        return environment.from_string(template).render(context)
    except Exception as error:  # Python's own TypeError/ValueError/... as well as Jinja2's
        return {"error": f"{type(error).__name__}: {error}"}


def main():
    environment = jinja2.Environment()
    groups = []
    for group in GROUPS:
        formats = [f"%{spec.rstrip('|')}{c}{'|' if spec.endswith('|') else ''}" for c in group["conversions"] for spec in group["specs"]]
        expected = [[render(environment, "{{ '" + f + "' % v }}", value) for value in group["values"]] for f in formats]
        groups.append({"formats": formats, "values": group["values"], "expected": expected})
    TABLE.write_text(table_json(groups), encoding="utf-8")


def table_json(groups):
    """One line per format (its row of results), so a change shows as a readable diff."""

    def dump(value):
        return json.dumps(value, ensure_ascii=False)

    lines = [
        "{",
        f' "about": {dump("Jinja2 renders {{ FORMAT % v }}; " + dump(MISSING) + " leaves v undefined. Written by percent_format_table.py.")},',
        f' "jinja2_version": {dump(jinja2.__version__)},',
        f' "python_version": {dump(platform.python_version())},',
        ' "groups": [',
    ]
    for index, group in enumerate(groups):
        lines.append(f'  {{"values": {dump(group["values"])}, "rows": [')
        rows = [f'   [{dump(f)}, {dump(row)}]' for f, row in zip(group["formats"], group["expected"])]
        lines.append(",\n".join(rows))
        lines.append("  ]}" + ("," if index + 1 < len(groups) else ""))
    lines += [" ]", "}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
