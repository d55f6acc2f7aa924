"""JSON Schemas from type hints, and JSON values into typed objects.

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``None``,
``Any``/``object``/``dict``/``list`` (free-form), ``list[T]``,
``tuple[T, ...]``, ``tuple[A, B]``, ``dict[str, T]``, ``Optional[T]`` and
``T | None``, ``Union[...]``, ``Literal[...]``, ``enum.Enum`` subclasses,
dataclasses, ``TypedDict`` classes and ``Annotated[T, "description"]``.

Hand-written on purpose: pydantic's core is a native extension, which cannot
be loaded into a WebAssembly component.
"""

from __future__ import annotations

import collections.abc as _abc
import dataclasses
import enum
import inspect
import json
import math
import sys
import types
import typing
from typing import Any

__all__ = ["schema_for", "from_json", "to_json", "TypeSupportError"]

_NONE_TYPE = type(None)
_UNION_TYPES: tuple = (typing.Union,)
if hasattr(types, "UnionType"):
    _UNION_TYPES = (typing.Union, types.UnionType)

_MISSING = dataclasses.MISSING


class TypeSupportError(TypeError):
    """An annotation the SDK cannot turn into a JSON Schema."""


class ConversionError(ValueError):
    """A JSON value that does not fit its annotation; ``path`` names the field."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


# ---------------------------------------------------------------------------
# Introspection helpers


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__") and hasattr(tp, "__annotations__")


def _json_name(f: dataclasses.Field) -> str:
    """The key of a dataclass field in JSON: ``field(metadata={"alias": "camelCase"})``
    renames it, else the field's own name."""
    alias = f.metadata.get("alias") if f.metadata else None
    return alias if isinstance(alias, str) and alias else f.name


def _hints(tp: Any) -> dict:
    try:
        return typing.get_type_hints(tp, include_extras=True)
    except NameError as e:
        raise TypeSupportError(f"{_name(tp)}: cannot resolve a type hint ({e})") from None


def _name(tp: Any) -> str:
    return getattr(tp, "__qualname__", None) or getattr(tp, "__name__", None) or repr(tp)


def _user_doc(cls: type) -> str | None:
    doc = cls.__doc__
    if not doc:
        return None
    if dataclasses.is_dataclass(cls) and doc.startswith(cls.__name__ + "("):
        return None  # the signature dataclasses writes when there is no docstring
    if _is_typeddict(cls) and doc.strip() == "":
        return None
    return " ".join(doc.split())


def _strip_annotated(tp: Any) -> tuple[Any, str | None]:
    description = None
    while typing.get_origin(tp) is typing.Annotated:
        for meta in tp.__metadata__:
            if isinstance(meta, str):
                description = meta
        tp = tp.__origin__
    return tp, description


def _json_default(value: Any) -> tuple[bool, Any]:
    try:
        return True, to_json(value)
    except (TypeError, ValueError):
        return False, None


# ---------------------------------------------------------------------------
# Schemas


def schema_for(tp: Any) -> dict:
    """The JSON Schema (draft 2020-12) of values of type ``tp``.

    Named types (dataclasses, TypedDicts, enums) other than the root go to
    ``$defs`` and are referenced, so recursive types work.
    """
    builder = _SchemaBuilder()
    tp, description = _strip_annotated(tp)
    root = builder.schema(tp, root=True)
    if description:
        root = {**root, "description": description}
    if builder.defs:
        root = {**root, "$defs": builder.defs}
    return root


class _SchemaBuilder:
    def __init__(self) -> None:
        self.defs: dict[str, dict] = {}
        self.names: dict[Any, str] = {}
        self.root_type: Any = None

    def _ref(self, tp: Any) -> dict:
        if tp is self.root_type:
            return {"$ref": "#"}
        name = self.names.get(tp)
        if name is None:
            base = tp.__name__
            name, n = base, 2
            while name in self.defs:
                name, n = f"{base}{n}", n + 1
            self.names[tp] = name
            self.defs[name] = {}  # placeholder: recursion finds the name
            self.defs[name] = self._named(tp)
        return {"$ref": f"#/$defs/{name}"}

    def schema(self, tp: Any, root: bool = False) -> dict:
        tp, description = _strip_annotated(tp)
        out = self._schema(tp, root)
        if description:
            out = {**out, "description": description}
        return out

    def _schema(self, tp: Any, root: bool) -> dict:
        if tp is Any or tp is object or tp is inspect_empty:
            return {}
        if tp is None or tp is _NONE_TYPE:
            return {"type": "null"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        if tp in (list, typing.List, tuple, typing.Tuple):
            return {"type": "array"}
        if tp in (dict, typing.Dict):
            return {"type": "object"}
        if isinstance(tp, typing.TypeVar) or isinstance(tp, str) or isinstance(tp, typing.ForwardRef):
            raise TypeSupportError(f"unresolved type hint {tp!r}")

        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in _UNION_TYPES:
            non_null = [a for a in args if a is not _NONE_TYPE]
            alternatives = [self.schema(a) for a in non_null]
            if len(non_null) < len(args):
                alternatives.append({"type": "null"})
            if len(alternatives) == 1:
                return alternatives[0]
            return {"anyOf": alternatives}
        if origin is typing.Literal:
            for a in args:
                if not (a is None or isinstance(a, (str, int, float, bool, enum.Enum))):
                    raise TypeSupportError(f"Literal value {a!r} is not JSON")
            values = [a.value if isinstance(a, enum.Enum) else a for a in args]
            return {"const": values[0]} if len(values) == 1 else {"enum": values}
        if origin in (list, typing.List) or _is_abc(origin, "Sequence", "MutableSequence", "Iterable", "Collection",
                                                   "Set", "MutableSet") or origin in (set, frozenset):
            out: dict = {"type": "array"}
            if args:
                out["items"] = self.schema(args[0])
            if origin in (set, frozenset) or _is_abc(origin, "Set", "MutableSet"):
                out["uniqueItems"] = True
            return out
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.schema(args[0])}
            if args == ((),):
                return {"type": "array", "maxItems": 0}
            return {"type": "array", "prefixItems": [self.schema(a) for a in args], "items": False,
                    "minItems": len(args), "maxItems": len(args)}
        if origin in (dict, typing.Dict) or _is_abc(origin, "Mapping", "MutableMapping"):
            if args and args[0] is not str and args[0] is not Any:
                raise TypeSupportError(f"{_name(tp)}: JSON object keys are strings; use dict[str, ...]")
            out = {"type": "object"}
            if len(args) == 2 and args[1] is not Any:
                out["additionalProperties"] = self.schema(args[1])
            return out

        if isinstance(tp, type):
            if issubclass(tp, enum.Enum) or dataclasses.is_dataclass(tp) or _is_typeddict(tp):
                if root:
                    self.root_type = tp
                    return self._named(tp)
                return self._ref(tp)
            if issubclass(tp, bool):
                return {"type": "boolean"}
            if issubclass(tp, int):
                return {"type": "integer"}
            if issubclass(tp, float):
                return {"type": "number"}
            if issubclass(tp, str):
                return {"type": "string"}
        raise TypeSupportError(f"unsupported type hint {tp!r}: use str, int, float, bool, None, list[T], "
                               f"dict[str, T], Optional, Literal, an Enum, a dataclass, a TypedDict or Any")

    def _named(self, tp: type) -> dict:
        doc = _user_doc(tp)
        if issubclass(tp, enum.Enum):
            values = [m.value for m in tp]
            for v in values:
                if not (v is None or isinstance(v, (str, int, float, bool))):
                    raise TypeSupportError(f"{_name(tp)}: enum value {v!r} is not JSON")
            out: dict = {"title": tp.__name__, "enum": values}
        elif dataclasses.is_dataclass(tp):
            hints = _hints(tp)
            props: dict = {}
            required: list = []
            for f in dataclasses.fields(tp):
                if not f.init:
                    continue
                prop = self.schema(hints.get(f.name, Any))
                desc = f.metadata.get("description") if f.metadata else None
                if desc:
                    prop = {**prop, "description": desc}
                if f.default is not _MISSING:
                    ok, value = _json_default(f.default)
                    if ok:
                        prop = {**prop, "default": value}
                elif f.default_factory is not _MISSING:  # type: ignore[misc]
                    pass
                else:
                    required.append(_json_name(f))
                props[_json_name(f)] = prop
            out = {"title": tp.__name__, "type": "object", "properties": props}
            if required:
                out["required"] = required
        else:  # TypedDict
            hints = _hints(tp)
            required_keys = getattr(tp, "__required_keys__", frozenset(hints) if tp.__total__ else frozenset())
            props = {}
            for key, hint in hints.items():
                hint, _ = _strip_required(hint)
                props[key] = self.schema(hint)
            out = {"title": tp.__name__, "type": "object", "properties": props}
            req = [k for k in hints if k in required_keys]
            if req:
                out["required"] = req
        if doc:
            out["description"] = doc
        return out


def _strip_required(hint: Any) -> tuple[Any, bool | None]:
    origin = typing.get_origin(hint)
    names = {getattr(typing, n, None) for n in ("Required", "NotRequired", "ReadOnly")} - {None}
    if origin in names:
        return typing.get_args(hint)[0], origin is getattr(typing, "Required", None)
    return hint, None


def _is_abc(origin: Any, *names: str) -> bool:
    return any(origin is getattr(_abc, n, None) for n in names)


inspect_empty = inspect.Parameter.empty  # an unannotated parameter: free-form


# ---------------------------------------------------------------------------
# JSON -> typed values


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = repr(value)
    else:
        text = _describe(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return text


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path or 'params'}[{key}]"
    return key if path == "" else f"{path}.{key}"


def from_json(value: Any, tp: Any, path: str = "") -> Any:
    """Converts a parsed JSON value into ``tp``; raises ``ConversionError``
    naming the field (``items[2].qty``) when it does not fit."""
    tp, _ = _strip_annotated(tp)
    where = path or "params"

    if tp is Any or tp is object or tp is inspect_empty:
        return value
    if tp is None or tp is _NONE_TYPE:
        if value is not None:
            raise ConversionError(where, f"expected null, got {_show(value)}")
        return None
    if tp is bool:
        if not isinstance(value, bool):
            raise ConversionError(where, f"expected a boolean, got {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        raise ConversionError(where, f"expected an integer, got {_show(value)}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConversionError(where, f"expected a number, got {_show(value)}")
    if tp is str:
        if not isinstance(value, str):
            raise ConversionError(where, f"expected a string, got {_show(value)}")
        return value
    if tp in (list, typing.List):
        if not isinstance(value, list):
            raise ConversionError(where, f"expected an array, got {_show(value)}")
        return value
    if tp in (tuple, typing.Tuple):
        if not isinstance(value, list):
            raise ConversionError(where, f"expected an array, got {_show(value)}")
        return tuple(value)
    if tp in (dict, typing.Dict):
        if not isinstance(value, dict):
            raise ConversionError(where, f"expected an object, got {_show(value)}")
        return value

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in _UNION_TYPES:
        if value is None and _NONE_TYPE in args:
            return None
        errors = []
        for alt in args:
            if alt is _NONE_TYPE:
                continue
            try:
                return from_json(value, alt, path)
            except ConversionError as e:
                errors.append(e)
        if len(errors) == 1:
            raise errors[0]
        # The error of the alternative that got furthest (the longest path) says the most.
        best = max(errors, key=lambda e: len(e.path))
        if best.path != where:
            raise best
        raise ConversionError(where, f"{_show(value)} matches none of {_type_list(args)}")
    if origin is typing.Literal:
        for a in args:
            plain = a.value if isinstance(a, enum.Enum) else a
            if type(plain) is type(value) and plain == value:
                return a
        raise ConversionError(where, f"expected one of {', '.join(_lit(a) for a in args)}, got {_show(value)}")
    if origin in (list, typing.List, set, frozenset) or _is_abc(origin, "Sequence", "MutableSequence", "Iterable",
                                                                 "Collection", "Set", "MutableSet"):
        if not isinstance(value, list):
            raise ConversionError(where, f"expected an array, got {_show(value)}")
        item = args[0] if args else Any
        items = [from_json(v, item, _join(path, i)) for i, v in enumerate(value)]
        if origin in (set, frozenset) or _is_abc(origin, "Set", "MutableSet"):
            return frozenset(items) if origin is frozenset else set(items)
        return items
    if origin is tuple:
        if not isinstance(value, list):
            raise ConversionError(where, f"expected an array, got {_show(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(v, args[0], _join(path, i)) for i, v in enumerate(value))
        if args == ((),):
            args = ()
        if len(value) != len(args):
            raise ConversionError(where, f"expected an array of {len(args)} items, got {len(value)}")
        return tuple(from_json(v, a, _join(path, i)) for i, (v, a) in enumerate(zip(value, args)))
    if origin in (dict, typing.Dict) or _is_abc(origin, "Mapping", "MutableMapping"):
        if not isinstance(value, dict):
            raise ConversionError(where, f"expected an object, got {_show(value)}")
        item = args[1] if len(args) == 2 else Any
        return {k: from_json(v, item, _join(path, k)) for k, v in value.items()}

    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            for member in tp:
                if type(member.value) is type(value) and member.value == value:
                    return member
            raise ConversionError(where, f"expected one of {', '.join(_lit(m.value) for m in tp)}, got {_show(value)}")
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, dict):
                raise ConversionError(where, f"expected an object, got {_show(value)}")
            hints = _hints(tp)
            kwargs = {}
            for f in dataclasses.fields(tp):
                if not f.init:
                    continue
                key = _json_name(f)
                if key in value:
                    kwargs[f.name] = from_json(value[key], hints.get(f.name, Any), _join(path, key))
                elif f.default is _MISSING and f.default_factory is _MISSING:  # type: ignore[misc]
                    raise ConversionError(_join(path, key), "missing (a required field)")
            try:
                return tp(**kwargs)
            except (ValueError, TypeError) as e:
                # __post_init__ validation: the user's own message.
                raise ConversionError(where, str(e)) from None
        if _is_typeddict(tp):
            if not isinstance(value, dict):
                raise ConversionError(where, f"expected an object, got {_show(value)}")
            hints = _hints(tp)
            required_keys = getattr(tp, "__required_keys__", frozenset(hints) if tp.__total__ else frozenset())
            out = dict(value)
            for key, hint in hints.items():
                hint, _ = _strip_required(hint)
                if key in value:
                    out[key] = from_json(value[key], hint, _join(path, key))
                elif key in required_keys:
                    raise ConversionError(_join(path, key), "missing (a required field)")
            return out
        if issubclass(tp, bool):
            return from_json(value, bool, path)
        if issubclass(tp, int):
            return tp(from_json(value, int, path))
        if issubclass(tp, float):
            return tp(from_json(value, float, path))
        if issubclass(tp, str):
            return tp(from_json(value, str, path))
    raise TypeSupportError(f"unsupported type hint {tp!r}")


def _lit(v: Any) -> str:
    if isinstance(v, enum.Enum):
        v = v.value
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if not isinstance(v, str) else '"' + v + '"'


def _type_list(args: tuple) -> str:
    names = []
    for a in args:
        a, _ = _strip_annotated(a)
        names.append("null" if a is _NONE_TYPE else getattr(a, "__name__", None) or repr(a))
    return ", ".join(names)


# ---------------------------------------------------------------------------
# Python values -> JSON


def to_json(value: Any, path: str = "output") -> Any:
    """A JSON-able copy of ``value``: dataclasses become objects, enums their
    values, tuples and sets arrays. Raises ``TypeError``/``ValueError`` naming
    where a value cannot be JSON."""
    if isinstance(value, enum.Enum):
        return to_json(value.value, path)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: {value} is not a JSON number")
        return float(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_json_name(f): to_json(getattr(value, f.name), f"{path}.{_json_name(f)}")
                for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, enum.Enum):
                k = k.value
            if not isinstance(k, str):
                raise TypeError(f"{path}: object keys must be strings, got {type(k).__name__} {k!r}")
            out[k] = to_json(v, f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return [to_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "_asdict"):  # NamedTuple
        return to_json(value._asdict(), path)
    raise TypeError(f"{path}: a {type(value).__name__} is not JSON (return dicts, lists, str, int, float, bool, "
                    f"None or dataclasses)")


if sys.version_info < (3, 10):  # pragma: no cover
    raise ImportError("sandflow_block needs Python 3.10 or later")
