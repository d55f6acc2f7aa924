from typing import Any

from sandflow_block import block


@block(name="echo", version="0.1.0", description="Returns its params")
def run(params: Any) -> Any:
    return params
