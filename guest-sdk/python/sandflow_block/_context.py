"""What a block run gets: ``Context`` and the pieces it hands out."""

from __future__ import annotations

import json as _json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, Union

from ._types import from_json, to_json

__all__ = [
    "Context",
    "Info",
    "Env",
    "Variables",
    "Log",
    "Response",
    "FetchError",
    "VariableError",
]

LEVELS = ("trace", "debug", "info", "warn", "error")


class FetchError(Exception):
    """``ctx.fetch`` did not get a response.

    ``kind`` is one of ``"refused"`` (the server's policy does not allow the
    destination), ``"invalid-request"``, ``"timeout"``, ``"too-large"`` or
    ``"failed"`` (connection, TLS or protocol failure); ``message`` says why.
    An HTTP error status is not a ``FetchError``: check ``Response.ok``.
    """

    KINDS = ("refused", "invalid-request", "timeout", "too-large", "failed")

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class VariableError(Exception):
    """The host refused a workflow-variable write (not JSON, or a size limit)."""


@dataclass(frozen=True)
class Info:
    """Where and why this run happens."""

    execution_id: str
    workflow_id: str
    block_id: str
    block_name: str
    #: 1 for the first run of this block in this execution; higher on a retry.
    attempt: int


class Env:
    """Environment variables the workflow granted this block (``"env": [...]``).
    Any other name reads as absent. The process environment (``os.environ``)
    is always empty."""

    def __init__(self, get: Callable[[str], Optional[str]]):
        self._get = get

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self._get(name)
        return default if value is None else value

    def __getitem__(self, name: str) -> str:
        value = self._get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._get(name) is not None


class Variables:
    """Workflow variables: reads see the execution's variables plus this run's
    writes; writes go back to the engine when the run ends."""

    def __init__(self, get: Callable[[str], Optional[str]], set: Callable[[str, str], None]):
        self._get = get
        self._set = set

    def get(self, name: str, default: Any = None) -> Any:
        """The variable's value (parsed JSON), or ``default`` when it is not set."""
        text = self._get(name)
        if text is None:
            return default
        return _json.loads(text)

    def set(self, name: str, value: Any) -> None:
        """Sets a variable to a JSON-able value. Raises ``VariableError`` when the
        host refuses it (for example a value over the size limit)."""
        self._set(name, _json.dumps(to_json(value, name), ensure_ascii=False, allow_nan=False))

    def __getitem__(self, name: str) -> Any:
        text = self._get(name)
        if text is None:
            raise KeyError(name)
        return _json.loads(text)

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)


class Log:
    """The run's log. Each call is one entry; a run has at most 1,000 entries
    and 64 KiB of messages, and a flood past that stops the block."""

    def __init__(self, write: Callable[[str, str], None]):
        self._write = write

    def trace(self, message: object) -> None:
        self._write("trace", str(message))

    def debug(self, message: object) -> None:
        self._write("debug", str(message))

    def info(self, message: object) -> None:
        self._write("info", str(message))

    def warn(self, message: object) -> None:
        self._write("warn", str(message))

    warning = warn

    def error(self, message: object) -> None:
        self._write("error", str(message))


class Response:
    """An HTTP response (any status: check ``ok`` or ``status``)."""

    def __init__(self, status: int, headers: Sequence[Tuple[str, str]], content: bytes):
        self.status = status
        #: Every header as received, in order (names in lower case).
        self.header_list = list(headers)
        #: Headers by lower-case name; repeated headers are joined with ", ".
        self.headers: dict[str, str] = {}
        for name, value in self.header_list:
            name = name.lower()
            self.headers[name] = f"{self.headers[name]}, {value}" if name in self.headers else value
        self.content = bytes(content)

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def encoding(self) -> str:
        content_type = self.headers.get("content-type", "")
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip('"').lower()
        return "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with the response's charset (UTF-8 by default)."""
        try:
            return self.content.decode(self.encoding, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` when it is not)."""
        return _json.loads(self.content)

    def __repr__(self) -> str:
        return f"<Response {self.status}, {len(self.content)} bytes>"


HeadersArg = Union[Mapping[str, str], Sequence[Tuple[str, str]], None]


class Context:
    """Everything a run may use besides its params.

    - ``ctx.info``: execution, workflow and block IDs, block name, attempt
    - ``ctx.env``: granted environment variables (``ctx.env.get("NAME")``)
    - ``ctx.variables``: workflow variables (``get``/``set``, JSON values)
    - ``ctx.log``: ``trace/debug/info/warn/error(message)``
    - ``ctx.fetch(...)``: outbound HTTP under the server's policy
    - ``ctx.sleep(ms)``: wait in the host without burning fuel
    - ``ctx.resume_input``: the input sent with a resume (parsed JSON), or None
    """

    def __init__(self, host: Any, info: Info, resume_input: Optional[str]):
        self._host = host
        self.info = info
        self.env = Env(host.env_get)
        self.variables = Variables(host.var_get, host.var_set)
        self.log = Log(host.log)
        self._resume_text = resume_input
        self.resume_input: Any = None if resume_input is None else _json.loads(resume_input)

    @property
    def resuming(self) -> bool:
        """True when this run resumes a pause point."""
        return self._resume_text is not None

    def resume_input_as(self, tp: Any) -> Any:
        """The resume input converted to ``tp`` (a dataclass, ``dict[str, int]``...),
        or None when this run is not a resume."""
        if self._resume_text is None:
            return None
        return from_json(self.resume_input, tp, "resume_input")

    def fetch(
        self,
        url: str,
        method: str = "GET",
        headers: HeadersArg = None,
        body: Union[bytes, str, None] = None,
        timeout_ms: Optional[int] = None,
        *,
        json: Any = None,
    ) -> Response:
        """Sends one HTTP request through the host (redirects are followed, each
        hop checked against the server's policy).

        ``body`` may be bytes or str (sent as UTF-8); ``json=`` serializes a
        value and sets ``content-type: application/json``. Returns a
        ``Response`` for any status; raises ``FetchError`` when no response
        came back (refused destination, timeout, too large, failure).
        """
        pairs: list[tuple[str, str]] = []
        if headers is not None:
            items = headers.items() if isinstance(headers, Mapping) else headers
            pairs = [(str(k), str(v)) for k, v in items]
        if json is not None:
            if body is not None:
                raise ValueError("fetch: give body or json, not both")
            body = _json.dumps(to_json(json, "json"), ensure_ascii=False, allow_nan=False)
            if not any(k.lower() == "content-type" for k, _ in pairs):
                pairs.append(("content-type", "application/json"))
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None:
            body = bytes(body)
        if timeout_ms is not None:
            timeout_ms = max(0, min(int(timeout_ms), 0xFFFFFFFF))
        status, response_headers, content = self._host.fetch(method.upper(), url, pairs, body, timeout_ms)
        return Response(status, response_headers, content)

    def sleep(self, ms: int) -> bool:
        """Sleeps ``ms`` milliseconds in the host. Returns False at once, without
        sleeping, when the wait is longer than a run may block; pause with
        ``resume_after_ms`` instead (see ``pause``)."""
        return bool(self._host.sleep(max(0, int(ms))))
