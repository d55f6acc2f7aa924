"""The component side: implements the ``block`` world's exports over the
bindings componentize-py generates (``wit_world``). Imported only by the app
module ``build.py`` generates, inside the component."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Optional

import wit_world
from componentize_py_types import Err
from wit_world.imports import capabilities as _caps
from wit_world.imports import http as _http
from wit_world.imports import timer as _timer
from wit_world.imports import types as _wt

from . import _block
from ._block import BlockDefinition, RunFailure, execute, registered_blocks
from ._context import FetchError, Info, VariableError

_LEVELS = {
    "trace": _wt.LogLevel.TRACE,
    "debug": _wt.LogLevel.DEBUG,
    "info": _wt.LogLevel.INFO,
    "warn": _wt.LogLevel.WARN,
    "error": _wt.LogLevel.ERROR,
}

_FETCH_ERRORS = {
    _http.HttpError_Refused: "refused",
    _http.HttpError_InvalidRequest: "invalid-request",
    _http.HttpError_Timeout: "timeout",
    _http.HttpError_TooLarge: "too-large",
    _http.HttpError_Failed: "failed",
}


class _WitHost:
    """The capabilities of one run, as ``Context`` wants them."""

    __slots__ = ("_env", "_vars")

    def __init__(self, env: Any, variables: Any):
        self._env = env
        self._vars = variables

    def env_get(self, name: str) -> Optional[str]:
        return self._env.get(name)

    def var_get(self, name: str) -> Optional[str]:
        return self._vars.get(name)

    def var_set(self, name: str, value: str) -> None:
        try:
            self._vars.set(name, value)
        except Err as e:
            raise VariableError(f"{name}: {e.value}") from None

    def log(self, level: str, message: str) -> None:
        _caps.log(_LEVELS[level], message)

    def fetch(self, method: str, url: str, headers: list, body: Optional[bytes], timeout_ms: Optional[int]) -> tuple:
        try:
            response = _http.fetch(_http.Request(method, url, headers, body, timeout_ms))
        except Err as e:
            error = e.value
            raise FetchError(_FETCH_ERRORS.get(type(error), "failed"), str(getattr(error, "value", error))) from None
        return response.status, response.headers, response.body

    def sleep(self, ms: int) -> bool:
        return _timer.sleep(ms)


def _pick(module: ModuleType) -> BlockDefinition:
    blocks = registered_blocks()
    if not blocks:
        raise RuntimeError(f"module {module.__name__!r} defines no block: decorate its run function with "
                           f"@block(name=..., version=..., description=...)")
    if len(blocks) > 1:
        names = ", ".join(repr(b.name) for b in blocks)
        raise RuntimeError(f"module {module.__name__!r} defines {len(blocks)} blocks ({names}); "
                           f"a component holds exactly one")
    return blocks[0].prepare()


def world_for(module: ModuleType, path_labels: Optional[dict] = None) -> type:
    """The ``WitWorld`` class for the one block ``module`` defined. Runs at
    build time: the schemas and the manifest are part of the snapshot."""
    definition = _pick(module)
    if path_labels:
        _block.PATH_LABELS.update(path_labels)
    m = definition.manifest()
    manifest = _wt.Manifest(
        name=m["name"],
        version=m["version"],
        description=m["description"],
        input_schema=m["input_schema"],
        output_schema=m["output_schema"],
    )

    class WitWorld(wit_world.WitWorld):
        def describe(self) -> Any:
            return manifest

        def run(self, info: Any, params: str, env: Any, vars: Any) -> Any:
            run_info = Info(
                execution_id=info.execution_id,
                workflow_id=info.workflow_id,
                block_id=info.block_id,
                block_name=info.block_name,
                attempt=info.attempt,
            )
            try:
                outcome = execute(definition, _WitHost(env, vars), run_info, info.resume_input, params)
            except RunFailure as e:
                if e.kind == "invalid-input":
                    raise Err(_wt.BlockError_InvalidInput(e.message)) from None
                raise Err(_wt.BlockError_Failed(e.message)) from None
            except BaseException as e:  # SystemExit and the like: still the block's failure
                message = str(e)
                raise Err(_wt.BlockError_Failed(f"{type(e).__name__}: {message}" if message
                                                else type(e).__name__)) from None
            kind = outcome[0]
            if kind == "done":
                return _wt.Outcome_Done(outcome[1])
            if kind == "route":
                return _wt.Outcome_Route(_wt.Routed(route=outcome[1], output=outcome[2]))
            return _wt.Outcome_Pause(_wt.PauseRequest(response=outcome[1], resume_after_ms=outcome[2],
                                                      input_schema=outcome[3]))

    return WitWorld
