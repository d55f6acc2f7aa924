"""The ``@block`` decorator, outcomes and errors, and one run from params to outcome."""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import sys
import types
import typing
from typing import Any, Callable, Optional

from ._context import LEVELS, Context, Info
from ._types import ConversionError, TypeSupportError, from_json, schema_for, to_json

__all__ = [
    "block",
    "BlockError",
    "InvalidInput",
    "Failed",
    "Route",
    "Pause",
    "route",
    "pause",
    "BlockDefinition",
    "registered_blocks",
]


# ---------------------------------------------------------------------------
# Errors


class BlockError(Exception):
    """A failure the block reports itself. Use a subclass."""

    kind = "failed"


class InvalidInput(BlockError):
    """The params do not fit: the run ends with ``invalid-input`` and this message."""

    kind = "invalid-input"


class Failed(BlockError):
    """The block ran and failed: the run ends with ``failed`` and exactly this
    message (any other exception fails it as ``"{ExceptionType}: {message}"``)."""

    kind = "failed"


# ---------------------------------------------------------------------------
# Outcomes


@dataclasses.dataclass(frozen=True)
class Route:
    """Finish and choose a route: only edges of ``route`` fire."""

    route: str
    output: Any = None


@dataclasses.dataclass(frozen=True)
class Pause:
    """Ask the engine to pause this branch until it is resumed."""

    response: Any
    resume_after_ms: Optional[int] = None
    input_schema: Any = None


def route(name: str, output: Any = None) -> Route:
    """Return ``route("approved", output)`` to finish on route ``name``."""
    if not isinstance(name, str) or not name:
        raise TypeError("route: the name must be a non-empty string")
    return Route(name, output)


def pause(response: Any, resume_after_ms: Optional[int] = None, input_schema: Any = None) -> Pause:
    """Return ``pause(response, ...)`` to pause this branch.

    ``response`` is shown to whoever resumes it; with ``resume_after_ms`` the
    host resumes it by itself after that many milliseconds; ``input_schema``
    (a JSON Schema dict, or a type such as a dataclass) is what the resume
    input must match. The resumed run sees the input as ``ctx.resume_input``.
    """
    if resume_after_ms is not None and (isinstance(resume_after_ms, bool) or int(resume_after_ms) < 0):
        raise ValueError("pause: resume_after_ms must be a non-negative number of milliseconds")
    return Pause(response, None if resume_after_ms is None else int(resume_after_ms), input_schema)


# ---------------------------------------------------------------------------
# Definitions


_REGISTRY: list["BlockDefinition"] = []


def registered_blocks() -> list["BlockDefinition"]:
    """Every block defined with ``@block`` so far, in order."""
    return list(_REGISTRY)


class BlockDefinition:
    """A function decorated with ``@block``, with its manifest."""

    def __init__(self, fn: Callable, name: str, version: str, description: str):
        if not isinstance(name, str) or not name.strip():
            raise ValueError("@block: name must be a non-empty string")
        self.fn = fn
        self.name = name
        self.version = version
        self.description = description if description is not None else (inspect.getdoc(fn) or "")
        self._prepared = False
        self.params_type: Any = Any
        self.wants_context = False
        self.input_schema: dict = {}
        self.output_schema: dict = {}

    def prepare(self) -> "BlockDefinition":
        """Resolves the type hints and derives the schemas (once; the SDK does it
        at build time, so no run pays for it)."""
        if self._prepared:
            return self
        fn = self.fn
        where = f"@block {self.name!r} ({getattr(fn, '__qualname__', fn)})"
        if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError(f"{where}: the function must be a plain `def`, not `async def`")
        signature = inspect.signature(fn)
        positional = [p for p in signature.parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if not 1 <= len(positional) <= 2:
            raise TypeError(f"{where}: the function takes (params) or (params, ctx)")
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except NameError as e:
            raise TypeError(f"{where}: cannot resolve a type hint ({e})") from None
        self.params_type = hints.get(positional[0].name, Any)
        self.wants_context = len(positional) == 2
        returns = _strip_outcomes(hints.get("return", Any))
        try:
            self.input_schema = schema_for(self.params_type)
        except TypeSupportError as e:
            raise TypeError(f"{where}: params: {e}") from None
        try:
            self.output_schema = schema_for(returns)
        except TypeSupportError as e:
            raise TypeError(f"{where}: return type: {e}") from None
        self._prepared = True
        return self

    def manifest(self) -> dict:
        self.prepare()
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "input_schema": json.dumps(self.input_schema, ensure_ascii=False),
            "output_schema": json.dumps(self.output_schema, ensure_ascii=False),
        }

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<block {self.name} {self.version}>"


def _strip_outcomes(tp: Any) -> Any:
    """``Greeting | Route | Pause`` declares ``Greeting`` as the output."""
    if tp in (Route, Pause):
        return Any
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is getattr(types, "UnionType", typing.Union):
        rest = [a for a in typing.get_args(tp) if a not in (Route, Pause)]
        if not rest:
            return Any
        if len(rest) == 1:
            return rest[0]
        return typing.Union[tuple(rest)]
    return tp


def block(fn: Optional[Callable] = None, *, name: str, version: str = "0.1.0",
          description: Optional[str] = None) -> Any:
    """Declares the function as the component's block.

    ``@block(name="greet", version="0.1.0", description="Says hello")`` on
    ``def run(params: Params, ctx: Context) -> Output``. The input and output
    JSON Schemas come from the type hints; the description defaults to the
    function's docstring. A module (with what it imports) defines one block.
    The decorated function stays callable as before.
    """

    def wrap(f: Callable) -> Callable:
        definition = BlockDefinition(f, name, version, description)
        _REGISTRY.append(definition)
        try:
            f.__sandflow_block__ = definition  # type: ignore[attr-defined]
        except AttributeError:
            pass
        return f

    if fn is not None:
        return wrap(fn)
    return wrap


# ---------------------------------------------------------------------------
# One run


class RunFailure(Exception):
    """How a run ends when it does not produce an outcome: ``kind`` is
    ``invalid-input`` or ``failed``."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class _LogStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` during a run: each line is a log entry."""

    MAX_LINE = 8192

    def __init__(self, write: Callable[[str, str], None], level: str):
        self._write = write
        self._level = level
        self._buffer = ""

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._buffer += text
        while True:
            newline = self._buffer.find("\n")
            if newline < 0:
                break
            line, self._buffer = self._buffer[:newline], self._buffer[newline + 1:]
            self._write(self._level, line)
        while len(self._buffer) >= self.MAX_LINE:
            line, self._buffer = self._buffer[:self.MAX_LINE], self._buffer[self.MAX_LINE:]
            self._write(self._level, line)
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            line, self._buffer = self._buffer, ""
            self._write(self._level, line)

    def isatty(self) -> bool:
        return False


def execute(definition: BlockDefinition, host: Any, info: Info, resume_input: Optional[str],
            params_json: str) -> tuple:
    """Runs ``definition`` once. Returns ``("done", output_json)``,
    ``("route", name, output_json)`` or ``("pause", response_json,
    resume_after_ms, input_schema_json)``; raises ``RunFailure``."""
    definition.prepare()
    stdout, stderr = sys.stdout, sys.stderr
    out, err = _LogStream(host.log, "info"), _LogStream(host.log, "warn")
    sys.stdout, sys.stderr = out, err
    try:
        try:
            raw = json.loads(params_json)
        except ValueError as e:
            raise RunFailure("invalid-input", f"params: not JSON ({e})") from None
        try:
            params = from_json(raw, definition.params_type)
        except ConversionError as e:
            raise RunFailure("invalid-input", str(e)) from None
        ctx = Context(host, info, resume_input)
        try:
            result = definition.fn(params, ctx) if definition.wants_context else definition.fn(params)
            return _outcome(result)
        except BlockError as e:
            raise RunFailure(e.kind, str(e)) from None
        except RunFailure:
            raise
        except Exception as e:
            _log_traceback(host, e)
            raise RunFailure("failed", _describe_exception(e)) from None
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        out.flush()
        err.flush()


def _describe_exception(e: BaseException) -> str:
    message = str(e)
    return f"{type(e).__name__}: {message}" if message else type(e).__name__


#: Prefixes of source paths inside the component and what to show instead
#: (the build maps its ``-p`` directories, mounted as ``/0/``, ``/1/``...).
PATH_LABELS: dict = {}


def _show_path(path: str) -> str:
    for prefix, label in PATH_LABELS.items():
        if path.startswith(prefix):
            return label + path[len(prefix):]
    return path


def _log_traceback(host: Any, e: BaseException) -> None:
    """One error entry with the traceback (file:line of each frame), for the author.
    Reads no source file: there is no filesystem at run time."""
    try:
        frames = [(f.f_code.co_filename, line, f.f_code.co_name) for f, line in _walk(e.__traceback__)][1:]
        lines = [f"  {_show_path(path)}:{line} in {name}" for path, line, name in frames]
        if len(lines) > 20:
            lines = lines[:5] + [f"  ... {len(lines) - 15} more frames"] + lines[-10:]
        text = "Traceback (most recent call last):\n" + "\n".join(lines) + "\n" + _describe_exception(e)
        host.log("error", text[:4096])
    except Exception:
        pass


def _walk(tb: Any):
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def _dumps(value: Any, where: str) -> str:
    try:
        return json.dumps(to_json(value, where), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise RunFailure("failed", f"{type(e).__name__}: {e}") from None


def _outcome(result: Any) -> tuple:
    if isinstance(result, Route):
        return ("route", result.route, _dumps(result.output, "output"))
    if isinstance(result, Pause):
        schema = result.input_schema
        if schema is not None and not isinstance(schema, dict):
            try:
                schema = schema_for(schema)
            except TypeSupportError as e:
                raise RunFailure("failed", f"pause: input_schema: {e}") from None
        return ("pause", _dumps(result.response, "response"), result.resume_after_ms,
                None if schema is None else _dumps(schema, "input_schema"))
    return ("done", _dumps(result, "output"))


LEVEL_NAMES = LEVELS
