"""Write a Sandflow workflow block in plain Python.

```python
from dataclasses import dataclass
from sandflow_block import block, Context, InvalidInput

@dataclass
class Params:
    name: str

@dataclass
class Greeting:
    text: str

@block(name="greet", version="0.1.0", description="Says hello")
def run(params: Params, ctx: Context) -> Greeting:
    if not params.name:
        raise InvalidInput("name: must not be empty")
    ctx.log.info(f"greeting {params.name}")
    return Greeting(text=f"Hello, {params.name}!")
```

``python3 build.py PROJECT OUT.wasm`` (or ``sandflow blocks build``) turns the
module into a ``sandflow:block`` WebAssembly component with componentize-py.
See README.md beside this package.
"""

from ._block import (
    BlockDefinition,
    BlockError,
    Failed,
    InvalidInput,
    Pause,
    Route,
    block,
    pause,
    registered_blocks,
    route,
)
from ._context import Context, Env, FetchError, Info, Log, Response, VariableError, Variables
from ._types import from_json, schema_for, to_json

__version__ = "0.1.0"

__all__ = [
    "block",
    "Context",
    "Info",
    "Env",
    "Variables",
    "Log",
    "Response",
    "InvalidInput",
    "Failed",
    "BlockError",
    "FetchError",
    "VariableError",
    "route",
    "pause",
    "Route",
    "Pause",
    "schema_for",
    "from_json",
    "to_json",
    "BlockDefinition",
    "registered_blocks",
]
