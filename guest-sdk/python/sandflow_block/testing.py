"""Run a block in plain Python, without building a component: for unit tests
in your editor or with pytest. Capabilities are fakes you pass in.

```python
from sandflow_block.testing import run_block
import block

result = run_block(block.run, {"name": "Ada"})
assert result.output == {"text": "Hello, Ada!"}
```

This checks your logic, not the sandbox: the real run (``sandflow blocks
test``) is CPython 3.14 inside WebAssembly, with no filesystem, no sockets,
and every import done at build time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ._block import BlockDefinition, RunFailure, execute
from ._context import FetchError, Info, Response, VariableError

__all__ = ["run_block", "RunResult"]


@dataclass
class RunResult:
    """What one local run gave back."""

    #: "done", "route", "pause" or "error".
    outcome: str
    output: Any = None
    route: Optional[str] = None
    #: For a pause: {"response", "resume_after_ms", "input_schema"}.
    pause: Optional[dict] = None
    #: For an error: "invalid-input" or "failed", and the message.
    error_kind: Optional[str] = None
    error: Optional[str] = None
    #: (level, message) per log entry, printed lines included.
    logs: list = field(default_factory=list)
    #: The workflow variables after the run (the initial ones plus its writes).
    variables: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome != "error"


class _FakeHost:
    def __init__(self, env: dict, variables: dict, fetch: Optional[Callable], sleep: Optional[Callable],
                 max_variable_bytes: int):
        self.env = dict(env)
        self.variables = {k: json.dumps(v) for k, v in variables.items()}
        self.logs: list = []
        self._fetch = fetch
        self._sleep = sleep
        self._max_variable_bytes = max_variable_bytes

    def env_get(self, name: str) -> Optional[str]:
        return self.env.get(name)

    def var_get(self, name: str) -> Optional[str]:
        return self.variables.get(name)

    def var_set(self, name: str, value: str) -> None:
        if len(value.encode()) > self._max_variable_bytes:
            raise VariableError(f"{name}: value is larger than {self._max_variable_bytes} bytes")
        self.variables[name] = value

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))

    def fetch(self, method: str, url: str, headers: list, body: Optional[bytes], timeout_ms: Optional[int]) -> tuple:
        if self._fetch is None:
            raise FetchError("refused", f"{url}: no fetch in this local run (pass fetch=... to run_block)")
        answer = self._fetch(method, url, headers, body, timeout_ms)
        if isinstance(answer, Response):
            return answer.status, answer.header_list, answer.content
        status, response_headers, content = answer
        if isinstance(response_headers, dict):
            response_headers = list(response_headers.items())
        if isinstance(content, str):
            content = content.encode()
        return status, response_headers, content

    def sleep(self, ms: int) -> bool:
        return True if self._sleep is None else bool(self._sleep(ms))


def run_block(
    fn: Any,
    params: Any,
    *,
    env: Optional[dict] = None,
    variables: Optional[dict] = None,
    resume_input: Any = None,
    fetch: Optional[Callable] = None,
    sleep: Optional[Callable[[int], bool]] = None,
    info: Optional[Info] = None,
    max_variable_bytes: int = 256 << 10,
) -> RunResult:
    """Runs the ``@block`` function ``fn`` once with ``params`` (a JSON-able
    value), the way the component would: params converted and checked, output
    serialized, exceptions mapped to errors.

    ``fetch(method, url, headers, body, timeout_ms)`` answers ``ctx.fetch``
    with a ``Response`` or ``(status, headers, body)``, or raises
    ``FetchError``; without it every fetch is refused. ``sleep(ms)`` answers
    ``ctx.sleep`` (default: True at once).
    """
    definition = getattr(fn, "__sandflow_block__", fn)
    if not isinstance(definition, BlockDefinition):
        raise TypeError(f"{fn!r} is not decorated with @block")
    host = _FakeHost(env or {}, variables or {}, fetch, sleep, max_variable_bytes)
    info = info or Info(execution_id="local", workflow_id="local", block_id=definition.name,
                        block_name=definition.name, attempt=1)
    resume_text = None if resume_input is None else json.dumps(resume_input)
    try:
        outcome = execute(definition, host, info, resume_text, json.dumps(params))
    except RunFailure as e:
        return RunResult("error", error_kind=e.kind, error=e.message, logs=host.logs,
                         variables=_decoded(host.variables))
    base = dict(logs=host.logs, variables=_decoded(host.variables))
    if outcome[0] == "done":
        return RunResult("done", output=json.loads(outcome[1]), **base)
    if outcome[0] == "route":
        return RunResult("route", route=outcome[1], output=json.loads(outcome[2]), **base)
    return RunResult("pause", pause={
        "response": json.loads(outcome[1]),
        "resume_after_ms": outcome[2],
        "input_schema": None if outcome[3] is None else json.loads(outcome[3]),
    }, **base)


def _decoded(variables: dict) -> dict:
    return {k: json.loads(v) for k, v in variables.items()}
