"""A block that misbehaves on request: each `attack` is one thing an untrusted
Python block might try. The hostile-guest suites run the attacks and check
that the host contains each with the right typed error."""

import os
from dataclasses import dataclass
from typing import Any, Literal, Optional

from sandflow_block import Context, InvalidInput, block

Attack = Literal["spin", "memory_bomb", "read_env", "fetch", "log_flood", "print_flood", "open_file", "echo"]


@dataclass
class Params:
    attack: Attack
    #: read_env: the variable to read.
    name: Optional[str] = None
    #: fetch: where to.
    url: Optional[str] = None
    #: open_file: which file.
    path: Optional[str] = None
    #: echo: what to return.
    value: Any = None


def need(value: Optional[str], field: str, attack: str) -> str:
    if value is None:
        raise InvalidInput(f"{field}: required by the {attack} attack")
    return value


@block(name="hostile", version="0.1.0", description="Misbehaves on request, for the hostile-guest suite")
def run(params: Params, ctx: Context) -> Any:
    attack = params.attack
    if attack == "echo":
        return params.value
    if attack == "spin":
        n = 0
        while True:
            n = (n + 1) & 0xFFFF
    if attack == "memory_bomb":
        hoard = []
        while True:
            chunk = bytearray(1 << 20)
            chunk[::4096] = b"\xab" * len(chunk[::4096])  # touch every page
            hoard.append(chunk)
    if attack == "read_env":
        name = need(params.name, "name", attack)
        return {"granted": ctx.env.get(name), "wasi": os.environ.get(name), "wasiCount": len(os.environ)}
    if attack == "fetch":
        # A refused fetch raises FetchError, which fails the run as
        # "FetchError: refused: ...".
        response = ctx.fetch(need(params.url, "url", attack))
        return {"status": response.status, "bytes": len(response.content)}
    if attack == "log_flood":
        while True:
            ctx.log.info("flood " * 100)
    if attack == "print_flood":
        while True:
            print("flood " * 100)
    if attack == "open_file":
        path = need(params.path, "path", attack)
        with open(path) as f:
            return {"read": len(f.read())}
    raise InvalidInput(f"attack: unknown {attack!r}")
