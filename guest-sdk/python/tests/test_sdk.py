"""Unit tests of the SDK in plain Python (no component):
``python3 -m unittest discover -s guest-sdk/python/tests``."""

import enum
import json
import sys
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandflow_block import (  # noqa: E402
    Context,
    Failed,
    FetchError,
    InvalidInput,
    Response,
    block,
    pause,
    route,
    schema_for,
)
from sandflow_block._types import ConversionError, from_json, to_json  # noqa: E402
from sandflow_block.testing import run_block  # noqa: E402


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Options(TypedDict, total=False):
    verbose: bool


@dataclass
class Line:
    """An order line."""

    sku: str
    qty: int = 1
    parts: "list[Line]" = field(default_factory=list)


@dataclass
class Order:
    lines: list[Line]
    color: Color
    mode: Literal["fast", "slow"] = "fast"
    note: Optional[str] = None
    tags: dict[str, int] = field(default_factory=dict)
    options: Optional[Options] = None
    extra: dict = field(default_factory=dict)
    anything: Any = None
    pair: Optional[tuple[int, str]] = None


@dataclass
class Params:
    name: str


@dataclass
class Greeting:
    text: str


@block(name="greet", version="0.1.0", description="Says hello")
def greet(params: Params, ctx: Context) -> Greeting:
    if not params.name:
        raise InvalidInput("name: must not be empty")
    ctx.log.info(f"greeting {params.name}")
    return Greeting(text=f"Hello, {params.name}!")


class Schemas(unittest.TestCase):
    def test_primitives(self):
        self.assertEqual(schema_for(str), {"type": "string"})
        self.assertEqual(schema_for(int), {"type": "integer"})
        self.assertEqual(schema_for(float), {"type": "number"})
        self.assertEqual(schema_for(bool), {"type": "boolean"})
        self.assertEqual(schema_for(None), {"type": "null"})
        self.assertEqual(schema_for(Any), {})
        self.assertEqual(schema_for(dict), {"type": "object"})
        self.assertEqual(schema_for(list[int]), {"type": "array", "items": {"type": "integer"}})
        self.assertEqual(schema_for(dict[str, float]), {"type": "object", "additionalProperties": {"type": "number"}})
        self.assertEqual(schema_for(Optional[str]), {"anyOf": [{"type": "string"}, {"type": "null"}]})
        self.assertEqual(schema_for(str | None), {"anyOf": [{"type": "string"}, {"type": "null"}]})
        self.assertEqual(schema_for(Literal["a", "b"]), {"enum": ["a", "b"]})

    def test_dataclass_with_nested_types(self):
        schema = schema_for(Order)
        self.assertEqual(schema["type"], "object")
        self.assertEqual(schema["required"], ["lines", "color"])
        self.assertEqual(schema["properties"]["lines"], {"type": "array", "items": {"$ref": "#/$defs/Line"}})
        self.assertEqual(schema["properties"]["mode"], {"enum": ["fast", "slow"], "default": "fast"})
        self.assertEqual(schema["$defs"]["Color"], {"title": "Color", "enum": ["red", "blue"]})
        line = schema["$defs"]["Line"]
        self.assertEqual(line["description"], "An order line.")
        self.assertEqual(line["properties"]["parts"], {"type": "array", "items": {"$ref": "#/$defs/Line"}})
        self.assertEqual(schema["$defs"]["Options"]["properties"], {"verbose": {"type": "boolean"}})
        self.assertNotIn("required", schema["$defs"]["Options"])

    def test_unsupported(self):
        with self.assertRaises(TypeError):
            schema_for(bytes)
        with self.assertRaises(TypeError):
            schema_for(dict[int, str])

    def test_async_functions_are_refused(self):
        @block(name="async")
        async def run(params: dict) -> dict:
            return params

        with self.assertRaises(TypeError) as caught:
            run.__sandflow_block__.prepare()
        self.assertIn("not `async def`", str(caught.exception))

    def test_manifest(self):
        manifest = greet.__sandflow_block__.manifest()
        self.assertEqual(manifest["name"], "greet")
        self.assertEqual(json.loads(manifest["input_schema"])["required"], ["name"])
        self.assertEqual(json.loads(manifest["output_schema"])["properties"], {"text": {"type": "string"}})


class Conversion(unittest.TestCase):
    def test_nested(self):
        order = from_json({"lines": [{"sku": "a", "parts": [{"sku": "b", "qty": 2.0}]}], "color": "red",
                           "pair": [1, "x"], "options": {"verbose": True}, "unknown": 1}, Order)
        self.assertIsInstance(order.lines[0].parts[0], Line)
        self.assertEqual(order.lines[0].parts[0].qty, 2)
        self.assertIs(order.color, Color.RED)
        self.assertEqual(order.pair, (1, "x"))
        self.assertEqual(order.mode, "fast")

    def test_errors_name_the_field(self):
        cases = [
            ({"lines": [{"sku": "a", "parts": [{"sku": "b", "qty": "x"}]}], "color": "red"},
             "lines[0].parts[0].qty: expected an integer"),
            ({"lines": [], "color": "green"}, 'color: expected one of "red", "blue"'),
            ({"lines": [], "color": "red", "mode": "other"}, "mode: expected one of"),
            ({"lines": [], "color": "red", "options": {"verbose": 1}}, "options.verbose: expected a boolean"),
            ({"lines": [{}], "color": "red"}, "lines[0].sku: missing"),
            ({"lines": [], "color": "red", "qty": 1, "pair": [1]}, "pair: expected an array of 2 items"),
            ([], "params: expected an object"),
        ]
        for value, message in cases:
            with self.assertRaises(ConversionError) as caught:
                from_json(value, Order)
            self.assertIn(message, str(caught.exception))

    def test_alias(self):
        @dataclass
        class Wait:
            duration_ms: int = field(metadata={"alias": "durationMs", "description": "How long"})
            label: str = ""

        schema = schema_for(Wait)
        self.assertEqual(schema["properties"]["durationMs"], {"type": "integer", "description": "How long"})
        self.assertEqual(schema["required"], ["durationMs"])
        self.assertEqual(from_json({"durationMs": 5}, Wait).duration_ms, 5)
        with self.assertRaises(ConversionError) as caught:
            from_json({"duration_ms": 5}, Wait)
        self.assertIn("durationMs: missing", str(caught.exception))
        self.assertEqual(to_json(Wait(7)), {"durationMs": 7, "label": ""})

    def test_to_json(self):
        self.assertEqual(to_json(Line("a")), {"sku": "a", "qty": 1, "parts": []})
        self.assertEqual(to_json({"c": Color.BLUE, "t": (1, 2)}), {"c": "blue", "t": [1, 2]})
        with self.assertRaises(ValueError):
            to_json(float("nan"))
        with self.assertRaises(TypeError):
            to_json(object())


class Runs(unittest.TestCase):
    def test_greet(self):
        result = run_block(greet, {"name": "Ada"})
        self.assertEqual(result.output, {"text": "Hello, Ada!"})
        self.assertEqual(result.logs, [("info", "greeting Ada")])

    def test_invalid_input(self):
        self.assertEqual(run_block(greet, {"name": ""}).error, "name: must not be empty")
        result = run_block(greet, {"nom": "x"})
        self.assertEqual((result.error_kind, result.error), ("invalid-input", "name: missing (a required field)"))

    def test_exceptions_fail_with_their_type(self):
        @block(name="boom")
        def boom(params: dict) -> dict:
            return {"x": params["missing"]}

        result = run_block(boom, {})
        self.assertEqual((result.error_kind, result.error), ("failed", "KeyError: 'missing'"))
        self.assertEqual(result.logs[0][0], "error")
        self.assertIn("Traceback", result.logs[0][1])

        @block(name="failed")
        def failed(params: dict) -> dict:
            raise Failed("exactly this")

        self.assertEqual(run_block(failed, {}).error, "exactly this")

    def test_print_goes_to_the_log(self):
        @block(name="printer")
        def printer(params: Any) -> None:
            print("one")
            print("two", "three")
            print("no newline", end="")
            print("warned", file=sys.stderr)

        result = run_block(printer, None)
        self.assertEqual(result.logs, [("info", "one"), ("info", "two three"), ("warn", "warned"),
                                       ("info", "no newline")])
        self.assertIsNot(sys.stdout, None)

    def test_route_and_pause(self):
        @dataclass
        class Approval:
            approved: bool

        @block(name="flow")
        def flow(params: dict, ctx: Context) -> Any:
            if ctx.resuming:
                return ctx.resume_input_as(Approval)
            if params.get("route"):
                return route(params["route"], {"r": 1})
            return pause({"ask": "ok?"}, resume_after_ms=5, input_schema=Approval)

        self.assertEqual((run_block(flow, {"route": "a"}).route, run_block(flow, {"route": "a"}).output),
                         ("a", {"r": 1}))
        paused = run_block(flow, {})
        self.assertEqual(paused.pause["response"], {"ask": "ok?"})
        self.assertEqual(paused.pause["resume_after_ms"], 5)
        self.assertEqual(paused.pause["input_schema"]["required"], ["approved"])
        self.assertEqual(run_block(flow, {}, resume_input={"approved": True}).output, {"approved": True})

    def test_capabilities(self):
        @block(name="caps")
        def caps(params: dict, ctx: Context) -> dict:
            ctx.variables.set("count", ctx.variables.get("count", 0) + 1)
            try:
                ctx.fetch("http://169.254.169.254/")
            except FetchError as e:
                refused = e.kind
            response = ctx.fetch("https://example.com/x", method="post", json={"a": 1})
            return {"env": ctx.env.get("TOKEN"), "missing": ctx.env.get("NOPE"), "refused": refused,
                    "status": response.status, "body": response.json(), "type": response.headers["content-type"],
                    "slept": ctx.sleep(10), "block": ctx.info.block_name}

        def fetch(method, url, headers, body, timeout_ms):
            if "169.254" in url:
                raise FetchError("refused", "metadata address")
            return Response(201, [("Content-Type", "application/json")], json.dumps(
                {"method": method, "headers": headers, "body": json.loads(body)}).encode())

        result = run_block(caps, {}, env={"TOKEN": "t"}, variables={"count": 1}, fetch=fetch)
        self.assertEqual(result.output, {
            "env": "t", "missing": None, "refused": "refused", "status": 201,
            "body": {"method": "POST", "headers": [["content-type", "application/json"]], "body": {"a": 1}},
            "type": "application/json", "slept": True, "block": "caps"})
        self.assertEqual(result.variables, {"count": 2})

    def test_output_that_is_not_json_fails(self):
        @block(name="bad-output")
        def bad(params: Any) -> Any:
            return {"s": {1, 2}, "f": float("inf")}

        result = run_block(bad, None)
        self.assertEqual(result.error_kind, "failed")
        self.assertIn("output.f", result.error)


if __name__ == "__main__":
    unittest.main()
